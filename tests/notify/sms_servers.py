"""Loopback stand-ins for Alibaba Cloud and Tencent Cloud SMS that check what they document.

The Aliyun server takes the form-encoded RPC call, recomputes the HMAC-SHA1 signature from
its own reading of the parameters (RFC 3986 encoding, ``POST&%2F&``, key = secret + "&"),
and checks the required parameters and a fresh timestamp. The Tencent server recomputes the
TC3-HMAC-SHA256 signature with the RFC 2104 HMAC written out in ``servers.py``, checks the
headers and the JSON body, and answers per number in ``SendStatusSet``.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.notify.servers import ProviderServer, Recorded, Reply, reference_hmac_sha256, serving

ALIYUN_KEY_ID = "LTAI5tTestKeyId0001"
ALIYUN_SECRET = "aliyun-test-secret-0001"
TENCENT_SECRET_ID = "AKIDtestsecretid0001"
TENCENT_SECRET_KEY = "tencent-test-secret-key-0001"
TENCENT_APP_ID = "1400000001"
REQUIRED_ALIYUN = (
    "AccessKeyId", "Action", "Format", "PhoneNumbers", "RegionId", "SignName",
    "SignatureMethod", "SignatureNonce", "SignatureVersion", "TemplateCode", "Timestamp",
    "Version",
)  # fmt: skip


def _rfc3986(text: str) -> str:
    return "".join(
        char if char.isascii() and (char.isalnum() or char in "-_.~") else
        "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))
        for char in text
    )  # fmt: skip


class AliyunSmsServer(ProviderServer):
    def check(self, request: Recorded) -> Reply:
        # the RPC API takes a form, not JSON: the base handler's JSON check does not apply
        request.problems[:] = [p for p in request.problems if "application/json" not in p]
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            request.problems.append("not form-encoded")
        params = dict(urllib.parse.parse_qsl(request.body.decode(), keep_blank_values=True))
        for name in REQUIRED_ALIYUN:
            if not params.get(name):
                request.problems.append(f"missing {name}")
        if params.get("AccessKeyId") != ALIYUN_KEY_ID:
            return self._error(request, "InvalidAccessKeyId.NotFound")
        try:
            sent = dt.datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ")
            if abs(time.time() - sent.replace(tzinfo=dt.UTC).timestamp()) > 900:
                request.problems.append("timestamp is stale")
        except ValueError:
            request.problems.append("timestamp is not ISO 8601 UTC")
        given = params.pop("Signature", "")
        query = "&".join(f"{_rfc3986(k)}={_rfc3986(params[k])}" for k in sorted(params))
        to_sign = "POST&%2F&" + _rfc3986(query)
        expected = base64.b64encode(
            hmac.new(f"{ALIYUN_SECRET}&".encode(), to_sign.encode(), hashlib.sha1).digest()
        ).decode()
        if given != expected:
            return self._error(request, "SignatureDoesNotMatch")
        try:
            template = json.loads(params.get("TemplateParam", "{}"))
        except ValueError:
            return self._error(request, "isv.INVALID_JSON_PARAM")
        if not isinstance(template, dict) or any(
            len(str(v)) > 35 and not str(v).startswith("http") for v in template.values()
        ):  # a link variable has its own, longer limit
            return self._error(request, "isv.PARAM_LENGTH_LIMIT")
        if request.problems:
            return self._error(request, "MissingParameter")
        return Reply.json({"Code": "OK", "Message": "OK", "BizId": "900001", "RequestId": "r1"})

    def _error(self, request: Recorded, code: str) -> Reply:
        request.problems.append(code)
        return Reply.json({"Code": code, "Message": code, "RequestId": "r1"})

    def rate_limit_reply(self) -> Reply:
        return Reply.json({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发分钟级流控"})


class TencentSmsServer(ProviderServer):
    number_code = "Ok"

    def check(self, request: Recorded) -> Reply:
        headers = request.headers
        for name, value in (("x-tc-action", "SendSms"), ("x-tc-version", "2021-01-11")):
            if headers.get(name) != value:
                request.problems.append(f"{name} is not {value}")
        timestamp = headers.get("x-tc-timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
            return self._error(request, "AuthFailure.SignatureExpire")
        date = time.strftime("%Y-%m-%d", time.gmtime(int(timestamp)))
        host = headers.get("host", "")
        canonical = (
            f"POST\n/\n\ncontent-type:{headers.get('content-type', '')}\nhost:{host}\n\n"
            f"content-type;host\n{hashlib.sha256(request.body).hexdigest()}"
        )
        scope = f"{date}/sms/tc3_request"
        to_sign = (
            f"TC3-HMAC-SHA256\n{timestamp}\n{scope}\n"
            f"{hashlib.sha256(canonical.encode()).hexdigest()}"
        )
        key = reference_hmac_sha256(f"TC3{TENCENT_SECRET_KEY}".encode(), date.encode())
        key = reference_hmac_sha256(key, b"sms")
        key = reference_hmac_sha256(key, b"tc3_request")
        signature = reference_hmac_sha256(key, to_sign.encode()).hex()
        expected = (
            f"TC3-HMAC-SHA256 Credential={TENCENT_SECRET_ID}/{scope}, "
            f"SignedHeaders=content-type;host, Signature={signature}"
        )
        if headers.get("authorization") != expected:
            return self._error(request, "AuthFailure.SignatureFailure")
        document: dict[str, Any] = json.loads(request.body)
        if document.get("SmsSdkAppId") != TENCENT_APP_ID:
            return self._error(request, "FailedOperation.SmsSdkAppIdVerifyFail")
        numbers = document.get("PhoneNumberSet")
        if not isinstance(numbers, list) or not all(str(n).startswith("+") for n in numbers):
            return self._error(request, "InvalidParameterValue.IncorrectPhoneNumber")
        if not isinstance(document.get("TemplateParamSet"), list):
            return self._error(request, "InvalidParameterValue.TemplateParameterFormatError")
        return Reply.json(
            {
                "Response": {
                    "SendStatusSet": [
                        {"SerialNo": "s1", "PhoneNumber": n, "Fee": 1, "Code": self.number_code,
                         "Message": "send success", "IsoCode": "CN"}
                        for n in numbers
                    ],
                    "RequestId": "r1",
                }
            }
        )  # fmt: skip

    def _error(self, request: Recorded, code: str) -> Reply:
        request.problems.append(code)
        return Reply.json(
            {"Response": {"Error": {"Code": code, "Message": code}, "RequestId": "r"}}
        )

    def rate_limit_reply(self) -> Reply:
        self.number_code = "LimitExceeded.PhoneNumberOneHourLimit"
        return Reply.json(
            {"Response": {"SendStatusSet": [{"Code": self.number_code}], "RequestId": "r1"}}
        )


@pytest.fixture
def aliyun_sms_server() -> Iterator[AliyunSmsServer]:
    with serving(AliyunSmsServer()) as server:
        yield server


@pytest.fixture
def tencent_sms_server() -> Iterator[TencentSmsServer]:
    with serving(TencentSmsServer()) as server:
        yield server
