"""Channel kinds; each module registers itself when imported."""

from __future__ import annotations

import importlib

MODULES = (
    "inapp",
    "email",
    "webhook",
    "wecom",
    "dingtalk",
    "feishu",
    "slack",
    "aliyun_sms",
    "tencent_sms",
)


def load_all() -> None:
    for name in MODULES:
        importlib.import_module(f"salesradar.notify.channels.{name}")
