"""Provider stand-ins on loopback, and no proxy between the channels and them."""

from __future__ import annotations

import pytest

from tests.notify.factories import org  # noqa: F401  (fixture)
from tests.notify.servers import (  # noqa: F401  (fixtures)
    dingtalk_server,
    feishu_server,
    refused_port,
    slack_server,
    webhook_receiver,
    wecom_server,
)
from tests.notify.sms_servers import (  # noqa: F401  (fixtures)
    aliyun_sms_server,
    tencent_sms_server,
)
from tests.notify.smtp_server import smtp_server  # noqa: F401  (fixture)

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Talk to the loopback servers directly even where the environment sets a proxy."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
