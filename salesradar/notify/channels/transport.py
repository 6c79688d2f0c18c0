"""One HTTP POST and the judgements every HTTP channel shares.

Only the standard library: ``urllib.request`` without redirects (a webhook that answers with
a redirect is misconfigured, and following it could hand the payload to another host), a
bounded read of the answer, and the mapping of statuses and ``Retry-After`` onto
``SendResult``. Network faults never raise; they come back as a retryable ``SendResult``.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from django.utils.translation import gettext as _

from salesradar.notify.channels.base import ChannelConfigError, ChannelKind, SendResult

USER_AGENT = "SalesRadar-Notify/1"
MAX_ANSWER_BYTES = 64 * 1024
EXCERPT_CHARS = 500


@dataclass(frozen=True)
class HttpAnswer:
    """What a provider answered: status, headers (lower-cased names) and the raw body."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    @property
    def excerpt(self) -> str:
        return self.text.strip()[:EXCERPT_CHARS]

    def json_object(self) -> dict[str, Any] | None:
        """Return the body as a JSON object, or None when it is not one."""
        try:
            decoded = json.loads(self.body)
        except ValueError:
            return None
        return decoded if isinstance(decoded, dict) else None

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def encode_json(payload: Mapping[str, Any]) -> bytes:
    """Encode a payload compactly as UTF-8 JSON, keeping Chinese text readable."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def post(
    url: str, body: bytes, *, headers: Mapping[str, str] | None = None, timeout: float = 10
) -> HttpAnswer | SendResult:
    """POST ``body`` as JSON; return the answer, or a ``SendResult`` when none came back."""
    request_headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    request_headers.update(headers or {})
    try:
        request = urllib.request.Request(url, data=body, headers=request_headers, method="POST")
    except ValueError as error:
        return SendResult(ok=False, response=str(error)[:EXCERPT_CHARS])
    # Built per call so proxy settings from the environment are read when sending.
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as response:
            return HttpAnswer(
                status=response.status,
                body=response.read(MAX_ANSWER_BYTES),
                headers=_lower_headers(response.headers),
            )
    except urllib.error.HTTPError as error:
        with error:
            return HttpAnswer(
                status=error.code,
                body=error.read(MAX_ANSWER_BYTES),
                headers=_lower_headers(error.headers),
            )
    except urllib.error.URLError as error:
        if isinstance(error.reason, ssl.SSLCertVerificationError):
            # The certificate will not fix itself between attempts: an operator must act.
            return SendResult(ok=False, response=str(error.reason)[:EXCERPT_CHARS])
        return SendResult(ok=False, retry=True, response=str(error.reason)[:EXCERPT_CHARS])
    except (OSError, http.client.HTTPException) as error:
        return SendResult(ok=False, retry=True, response=repr(error)[:EXCERPT_CHARS])


def _lower_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    return {name.lower(): value for name, value in headers.items()}


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def judge_status(answer: HttpAnswer) -> SendResult:
    """Judge an answer by its HTTP status alone: 2xx sent, 410 gone, 408/429/5xx retry."""
    status = answer.status
    if 200 <= status < 300:
        return SendResult(ok=True, status=status, response=answer.excerpt)
    if status == 410:
        return SendResult(ok=False, disable=True, status=status, response=answer.excerpt)
    if status in (408, 429) or status >= 500:
        return SendResult(
            ok=False,
            retry=True,
            retry_after=answer.retry_after,
            status=status,
            response=answer.excerpt,
        )
    return SendResult(ok=False, status=status, response=answer.excerpt)


def rate_limited(answer: HttpAnswer, *, default_wait: float) -> SendResult:
    """A provider said "too fast" in its body: retry after its header, or ``default_wait``."""
    retry_after = answer.retry_after
    return SendResult(
        ok=False,
        retry=True,
        retry_after=default_wait if retry_after is None else retry_after,
        status=answer.status,
        response=answer.excerpt,
    )


def unusable_config(
    kind: type[ChannelKind], config: Mapping[str, Any], secret: str
) -> SendResult | None:
    """Return a failed result when the config does not validate, so ``send`` never raises."""
    try:
        kind.validate(config, secret)
    except ChannelConfigError as error:
        return SendResult(ok=False, response=str(error)[:EXCERPT_CHARS])
    return None


def validate_http_url(config: Mapping[str, Any], *, required_query: str = "") -> str:
    """Return ``config["url"]`` when it is an http(s) URL (with ``required_query`` set)."""
    url = config.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ChannelConfigError("url", _("Enter the URL the channel sends to."))
    parts = urllib.parse.urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelConfigError("url", _("Enter an http:// or https:// URL."))
    if required_query:
        values = urllib.parse.parse_qs(parts.query).get(required_query, [])
        if not any(value.strip() for value in values):
            raise ChannelConfigError(
                "url",
                _("The URL must carry the {parameter} parameter the provider gave you.").format(
                    parameter=required_query
                ),
            )
    return url.strip()


def with_query(url: str, **params: str) -> str:
    """Return ``url`` with ``params`` appended to its query string, percent-encoded."""
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + separator + urllib.parse.urlencode(params)


def truncate_utf8(text: str, max_bytes: int, *, ellipsis: str = "…") -> str:
    """Cut ``text`` so its UTF-8 encoding fits ``max_bytes``, never splitting a character."""
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    room = max_bytes - len(ellipsis.encode("utf-8"))
    return encoded[:room].decode("utf-8", errors="ignore") + ellipsis


def judge_coded(
    answer: HttpAnswer,
    *,
    code_keys: tuple[str, ...],
    rate_limit_codes: frozenset[int],
    busy_codes: frozenset[int] = frozenset(),
    rate_limit_wait: float,
) -> SendResult:
    """Judge a provider that reports success or failure in a body code, 0 meaning sent.

    Statuses that speak for themselves (408, 410, 429, 5xx) win; otherwise the first of
    ``code_keys`` found in the JSON body decides, even under a 4xx. Rate-limit codes retry
    after ``rate_limit_wait`` unless a ``Retry-After`` says otherwise, busy codes retry, and
    every other code is a refusal that sending again will not fix (bad key, bad signature,
    missing keyword, refused payload). A 2xx without a code is not trusted as sent.
    """
    if answer.status in (408, 410, 429) or answer.status >= 500:
        return judge_status(answer)
    body = answer.json_object() or {}
    code = next((body[key] for key in code_keys if key in body), None)
    if code is None:
        if 200 <= answer.status < 300:
            return SendResult(ok=False, status=answer.status, response=answer.excerpt)
        return judge_status(answer)
    if code == 0:
        return SendResult(ok=True, status=answer.status, response=answer.excerpt)
    if code in rate_limit_codes:
        return rate_limited(answer, default_wait=rate_limit_wait)
    if code in busy_codes:
        return SendResult(
            ok=False,
            retry=True,
            retry_after=answer.retry_after,
            status=answer.status,
            response=answer.excerpt,
        )
    return SendResult(ok=False, status=answer.status, response=answer.excerpt)
