"""Channel kinds; each module registers itself when imported."""

from __future__ import annotations

import importlib

MODULES = ("inapp", "email", "webhook", "wecom", "dingtalk", "feishu", "slack")


def load_all() -> None:
    for name in MODULES:
        try:
            importlib.import_module(f"salesradar.notify.channels.{name}")
        except ModuleNotFoundError as error:
            if error.name != f"salesradar.notify.channels.{name}":
                raise
