"""Alibaba Cloud SMS (阿里云短信服务, dysmsapi ``SendSms``, API version 2017-05-25).

An RPC-style call: every parameter (``AccessKeyId``, ``Action=SendSms``, ``Format=JSON``,
``PhoneNumbers``, ``SignName``, ``TemplateCode``, ``TemplateParam`` as a JSON object,
``SignatureMethod=HMAC-SHA1``, ``SignatureVersion=1.0``, a fresh ``SignatureNonce``,
``Timestamp`` in UTC ISO 8601, ``Version``, ``RegionId``) is sorted by name, each name and
value percent-encoded per RFC 3986 (space as %20, ``*`` as %2A, ``~`` kept), joined with
``&``; the string to sign is ``POST&%2F&`` + that query percent-encoded once more, and
``Signature`` is base64 HMAC-SHA1 keyed with the access key secret followed by ``&``.

The answer is HTTP 200 with ``Code`` ``OK`` when accepted; ``isv.BUSINESS_LIMIT_CONTROL``
and ``Throttling.User`` mean too fast (retry later), ``ServiceUnavailable`` busy; every
other code (a bad key, a signature mismatch, a template or number refused) is final.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
import uuid
from collections.abc import Mapping
from typing import Any, cast

from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels import sms, transport
from salesradar.notify.channels.base import Message, SendResult, register

ENDPOINT = "https://dysmsapi.aliyuncs.com/"
VERSION = "2017-05-25"
RATE_LIMITED = frozenset({"isv.BUSINESS_LIMIT_CONTROL", "Throttling.User", "Throttling"})
BUSY = frozenset({"ServiceUnavailable", "InternalError", "isp.SYSTEM_ERROR"})


def percent_encode(text: str) -> str:
    return urllib.parse.quote(text, safe="~")


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(
        f"{percent_encode(name)}={percent_encode(params[name])}" for name in sorted(params)
    )


def signature(params: Mapping[str, str], secret: str, method: str = "POST") -> str:
    string_to_sign = f"{method}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"
    digest = hmac.new(f"{secret}&".encode(), string_to_sign.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


@register
class AliyunSmsChannel(sms.SmsChannel):
    """Send an alert or a nurture touch as a template SMS through Alibaba Cloud."""

    kind = "aliyun_sms"
    label = cast(str, _("Alibaba Cloud SMS"))

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        sms.validate_common(config, secret, key_field="access_key_id")

    def post_template(
        self,
        message: Message,
        config: Mapping[str, Any],
        secret: str,
        values: dict[str, str],
        timeout: float,
    ) -> SendResult:
        params = {
            "AccessKeyId": str(config["access_key_id"]),
            "Action": "SendSms",
            "Format": "JSON",
            "OutId": message.idempotency_id,
            "PhoneNumbers": sms.normalise(sms.recipient_number(message)).removeprefix("+86"),
            "RegionId": str(config.get("region", "cn-hangzhou")),
            "SignName": str(config["sign_name"]),
            "SignatureMethod": "HMAC-SHA1",
            "SignatureNonce": uuid.uuid4().hex,
            "SignatureVersion": "1.0",
            "TemplateCode": str(config["template"]),
            "TemplateParam": json.dumps(values, ensure_ascii=False),
            "Timestamp": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "Version": VERSION,
        }
        params["Signature"] = signature(params, secret.strip())
        body = canonical_query(params).encode()
        answer = transport.post(
            str(config.get("endpoint") or ENDPOINT),
            body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=timeout,
        )
        if isinstance(answer, SendResult):
            return answer
        return judge(answer)


def judge(answer: transport.HttpAnswer) -> SendResult:
    if answer.status in (408, 410, 429) or answer.status >= 500:
        return transport.judge_status(answer)
    code = (answer.json_object() or {}).get("Code")
    if code == "OK":
        return SendResult(ok=True, status=answer.status, response=answer.excerpt)
    if code in RATE_LIMITED:
        return transport.rate_limited(answer, default_wait=60.0)
    if code in BUSY:
        return SendResult(ok=False, retry=True, status=answer.status, response=answer.excerpt)
    return SendResult(ok=False, status=answer.status, response=answer.excerpt)
