"""Tencent Cloud SMS (腾讯云短信, API 3.0 ``SendSms``, version 2021-01-11).

A JSON ``POST /`` to ``sms.tencentcloudapi.com`` signed with TC3-HMAC-SHA256: the canonical
request is ``POST\\n/\\n\\n`` + the canonical headers (``content-type`` and ``host``, lower
case, one per line) + ``\\ncontent-type;host\\n`` + the hex SHA-256 of the body; the string
to sign is ``TC3-HMAC-SHA256\\n{timestamp}\\n{date}/sms/tc3_request\\n`` + the hex SHA-256
of the canonical request; the key is derived by HMAC-SHA256 over the UTC date, ``sms`` and
``tc3_request`` starting from ``"TC3" + SecretKey``. The ``Authorization`` header carries
the SecretId, scope, signed headers and signature; ``X-TC-Action``, ``X-TC-Timestamp``,
``X-TC-Version`` and ``X-TC-Region`` go beside it.

The body holds ``PhoneNumberSet`` (E.164), ``SmsSdkAppId``, ``SignName``, ``TemplateId``
and ``TemplateParamSet`` (the variables in the template's order). An HTTP 200 may still
carry ``Response.Error`` (a bad key or signature) or a per-number ``Code`` other than
``Ok`` in ``SendStatusSet``: ``LimitExceeded.*`` is retried later, the rest is final.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, cast

from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import sms, transport
from salesradar.notify.channels.base import Message, SendResult, register

ENDPOINT = "https://sms.tencentcloudapi.com/"
VERSION = "2021-01-11"
SERVICE = "sms"
ALGORITHM = "TC3-HMAC-SHA256"
CONTENT_TYPE = "application/json; charset=utf-8"
BUSY = frozenset({"InternalError", "InternalError.Timeout", "RequestLimitExceeded"})


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def authorization(
    *, secret_id: str, secret_key: str, host: str, body: bytes, timestamp: int
) -> str:
    date = time.strftime("%Y-%m-%d", time.gmtime(timestamp))
    canonical_request = "\n".join(
        [
            "POST",
            "/",
            "",
            f"content-type:{CONTENT_TYPE}\nhost:{host}\n",
            "content-type;host",
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{SERVICE}/tc3_request"
    string_to_sign = "\n".join(
        [ALGORITHM, str(timestamp), scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(_hmac(_hmac(f"TC3{secret_key}".encode(), date), SERVICE), "tc3_request")
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return (
        f"{ALGORITHM} Credential={secret_id}/{scope}, "
        f"SignedHeaders=content-type;host, Signature={signature}"
    )


@register
class TencentSmsChannel(sms.SmsChannel):
    """Send an alert or a nurture touch as a template SMS through Tencent Cloud."""

    kind = "tencent_sms"
    label = cast(str, _("Tencent Cloud SMS"))

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        sms.validate_common(config, secret, key_field="secret_id")
        from salesradar.notify.channels.base import ChannelConfigError

        app_id = config.get("sdk_app_id")
        if not isinstance(app_id, str) or not app_id.isdigit():
            raise ChannelConfigError(
                "sdk_app_id", str(_("Enter the SmsSdkAppId, the digits the console shows."))
            )

    def post_template(
        self,
        message: Message,
        config: Mapping[str, Any],
        secret: str,
        values: dict[str, str],
        timeout: float,
    ) -> SendResult:
        body = json.dumps(
            {
                "PhoneNumberSet": [sms.normalise(sms.recipient_number(message))],
                "SmsSdkAppId": str(config["sdk_app_id"]),
                "SignName": str(config["sign_name"]),
                "TemplateId": str(config["template"]),
                "TemplateParamSet": list(values.values()),
                "SessionContext": message.idempotency_id,
            },
            ensure_ascii=False,
        ).encode()
        url = str(config.get("endpoint") or ENDPOINT)
        host = urllib.parse.urlsplit(url).netloc
        timestamp = int(time.time())
        headers = {
            "Content-Type": CONTENT_TYPE,
            "Host": host,
            "Authorization": authorization(
                secret_id=str(config["secret_id"]),
                secret_key=secret.strip(),
                host=host,
                body=body,
                timestamp=timestamp,
            ),
            "X-TC-Action": "SendSms",
            "X-TC-Timestamp": str(timestamp),
            "X-TC-Version": VERSION,
            "X-TC-Region": str(config.get("region", "ap-guangzhou")),
        }
        answer = transport.post(url, body, headers=headers, timeout=timeout)
        if isinstance(answer, SendResult):
            return answer
        return judge(answer)


def judge(answer: transport.HttpAnswer) -> SendResult:
    if answer.status in (408, 410, 429) or answer.status >= 500:
        return transport.judge_status(answer)
    response = (answer.json_object() or {}).get("Response") or {}
    error = response.get("Error")
    if error:
        if error.get("Code") in BUSY:
            return SendResult(ok=False, retry=True, status=answer.status, response=answer.excerpt)
        return SendResult(ok=False, status=answer.status, response=answer.excerpt)
    statuses = response.get("SendStatusSet") or []
    codes = [str(status.get("Code", "")) for status in statuses]
    if codes and all(code == "Ok" for code in codes):
        return SendResult(ok=True, status=answer.status, response=answer.excerpt)
    if any(code.startswith("LimitExceeded") for code in codes):
        return transport.rate_limited(answer, default_wait=60.0)
    return SendResult(ok=False, status=answer.status, response=answer.excerpt)
