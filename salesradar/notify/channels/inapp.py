"""The in-app inbox: the dispatcher stores the message itself, so sending is a formality."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.utils.translation import gettext_lazy as _

from salesradar.notify.channels.base import ChannelKind, Message, SendResult, register


@register
class InAppChannel(ChannelKind):
    """Deliver to the recipient's inbox in SalesRadar; nothing leaves the server."""

    kind = "inapp"
    label = cast(str, _("In-app inbox"))

    @classmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        """Accept any config: the inbox needs no settings."""

    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        return SendResult(ok=True)
