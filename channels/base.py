"""The channel-neutral message model and the one interface every provider adapter has.

Every adapter receives provider traffic as ``IncomingMessage`` and sends ``OutgoingMessage``;
a failed send is classified so that the dispatcher knows whether to retry (RapidPro's courier
does the same). An adapter whose provider keeps the files citizens send is also a
``MediaFetcher``: the app's media route (bot/media_links.py) asks it for them.

What a provider hands us is cleaned once, here, as the neutral message is built (``clean_text``):
broken clients and fuzzers send lone UTF-16 surrogates (``"\ud83d"`` in JSON), which no UTF-8
store or response can encode, and control characters such as NUL, which a PostgreSQL text
column refuses.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable


# The largest file fetched from a provider for an officer: WhatsApp allows 16 MB, a Telegram bot
# may fetch up to 20 MB.
MAX_MEDIA_BYTES = 20 * 1024 * 1024

# C0 controls and DEL, except tab and newline (carriage returns become newlines first)
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def clean_text(value: str) -> str:
    """Text any store and any JSON or form encoder takes: a lone surrogate becomes U+FFFD (a proper
    pair becomes its character), NUL and other control characters are dropped, line breaks kept."""
    if value.isascii() and value.isprintable():
        return value
    value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _CONTROLS.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))


def _clean_optional(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


@dataclass(frozen=True)
class MediaItem:
    """A photo, video, voice note, document or shared location that came with a message."""

    kind: str  # image | video | audio | document | location
    url: str | None = None  # provider URL (Twilio) or file_id (Telegram)
    content_type: str | None = None
    latitude: float | None = None
    longitude: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", _clean_optional(self.url))
        content_type = _clean_optional(self.content_type)
        # a claimed type longer than any real one is not one (and the column holds 100)
        object.__setattr__(self, "content_type", content_type if content_type is None or len(content_type) <= 100 else None)


@dataclass(frozen=True)
class IncomingMessage:
    urn: str  # "sim-sms:+62812...", "telegram:1234"
    channel: str  # sms | whatsapp | telegram
    provider: str  # simulator | twilio | telegram
    text: str  # may be empty: a photo without caption, a location pin, a sticker
    external_id: str | None = None  # the provider's id, for de-duplication of retries
    attachments: tuple[MediaItem, ...] = field(default_factory=tuple)
    # the provider's id of the message this one replies to (Telegram reply, WhatsApp reply)
    quoted_external_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", clean_text(self.text).strip())
        object.__setattr__(self, "external_id", _clean_optional(self.external_id))
        object.__setattr__(self, "quoted_external_id", _clean_optional(self.quoted_external_id))
        object.__setattr__(self, "attachments", tuple(self.attachments))


@dataclass(frozen=True)
class OutgoingMessage:
    message_id: int
    urn: str
    channel: str
    text: str
    # when the citizen last wrote to us on this URN (WhatsApp's 24-hour free-form window)
    last_inbound_at: datetime | None = None


class SendOutcome(enum.Enum):
    sent = "sent"  # accepted by the provider
    retry = "retry"  # connection failed or server error: try again soon
    retry_later = "retry_later"  # throttled: try again after the provider's delay
    recipient_gone = "recipient_gone"  # blocked the bot or unreachable: stop sending
    permanent = "permanent"  # rejected for good (bad number, bad content)


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    external_id: str | None = None
    status: str = "sent"  # the message status to record when sent (sent | delivered)
    error: str | None = None
    retry_after: timedelta | None = None


class ChannelAdapter(Protocol):
    provider: str  # name stored on messages; the schemes it carries are in urns.PROVIDER_OF_SCHEME

    def handles(self, urn_scheme: str) -> bool:
        """Whether it is set up to send on this scheme (Twilio may have an SMS number and no WhatsApp sender)."""
        ...

    async def send(self, message: OutgoingMessage) -> SendResult: ...


class MediaUnavailable(Exception):
    """The provider cannot give the file (gone, too large, not ours to fetch)."""


@runtime_checkable
class MediaFetcher(Protocol):
    """An adapter that can fetch a file a citizen sent (the ``url`` of its ``MediaItem``) with its own
    credentials; raises ``MediaUnavailable`` when the provider does not give it."""

    async def fetch_media(self, url: str) -> bytes: ...
