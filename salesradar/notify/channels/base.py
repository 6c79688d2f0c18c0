"""What every notification channel implements, and the registry they join.

A channel turns one rendered ``Message`` into one request to one destination and judges the
answer: sent, retry later (rate limit, 429, 5xx, network, with ``retry_after`` when the
provider says), failed for good (bad key or signature, refused payload), or gone (410: the
endpoint is to be disabled). Providers that report errors inside an HTTP 200 (DingTalk
``errcode``, Feishu ``code``, WeCom ``errcode``) are judged by their body.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar


class ChannelConfigError(ValueError):
    """A channel's config or secret is unusable; ``field`` names the culprit."""

    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


@dataclass(frozen=True)
class DigestItem:
    """One alert in a digest, already rendered in the recipient's language."""

    severity: str  # "danger" | "warning" | "" (resolved notices)
    severity_label: str  # translated word, so colour is never the only signal
    title: str  # rule name in the recipient's language
    entity: str  # e.g. "商机 O0001234 上海某某科技 ERP"
    detail: str  # the verdict's human line ("3.2 days without reply, threshold 2")
    link: str  # absolute URL of the entity's page
    transition: str  # "firing" | "severity_changed" | "escalated" | "reminded" | "resolved"


@dataclass(frozen=True)
class Message:
    idempotency_id: str  # stable per delivery; providers and receivers deduplicate on it
    language: str  # "zh-hans" | "en"
    subject: str
    text: str  # plain text
    markdown: str  # markdown for IM robots
    html: str  # for email
    items: tuple[DigestItem, ...] = ()
    mention_mobiles: tuple[str, ...] = ()  # DingTalk/WeCom @ by phone number
    mention_user_ids: tuple[str, ...] = ()  # WeCom userid / Feishu open_id / Slack id
    recipient_email: str = ""
    recipient_name: str = ""
    recipient_mobile: str = ""  # SMS: the person's own number


@dataclass(frozen=True)
class SendResult:
    ok: bool
    retry: bool = False  # transient: try again later
    retry_after: float | None = None  # seconds the provider asked us to wait
    disable: bool = False  # the endpoint is gone (HTTP 410): stop using it
    status: int | None = None  # HTTP status or SMTP code
    response: str = ""  # short excerpt of what the provider answered


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` sends per ``seconds`` to one destination."""

    count: int
    seconds: float


class ChannelKind(ABC):
    kind: ClassVar[str]
    label: ClassVar[str]
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()

    @classmethod
    @abstractmethod
    def validate(cls, config: Mapping[str, Any], secret: str) -> None:
        """Raise ChannelConfigError naming the field when the config or secret is unusable."""

    @classmethod
    def destination(cls, config: Mapping[str, Any]) -> str:
        """The key rate limits are counted against (one robot, one webhook URL, one server)."""
        return str(config.get("url") or config.get("host") or cls.kind)

    @classmethod
    def destination_for(cls, config: Mapping[str, Any], message: Message) -> str:
        """The rate-limit key for one message: the destination, or the person for SMS."""
        return cls.destination(config)

    @abstractmethod
    def send(
        self, message: Message, config: Mapping[str, Any], secret: str, *, timeout: float = 10
    ) -> SendResult:
        """Send one message; never raise for a provider or network fault, report it."""


CHANNELS: dict[str, type[ChannelKind]] = {}


def register(cls: type[ChannelKind]) -> type[ChannelKind]:
    if not isinstance(cls, type) or not issubclass(cls, ChannelKind):
        raise TypeError(f"{cls!r} is not a ChannelKind")
    if cls.kind in CHANNELS:
        raise TypeError(f"channel kind {cls.kind!r} is registered twice")
    CHANNELS[cls.kind] = cls
    return cls
