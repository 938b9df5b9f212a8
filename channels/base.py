"""The channel-neutral message model and the one interface every provider adapter has.

Every adapter receives provider traffic as ``IncomingMessage`` and sends ``OutgoingMessage``;
a failed send is classified so that the dispatcher knows whether to retry (RapidPro's courier
does the same).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True)
class MediaItem:
    """A photo, video, voice note, document or shared location that came with a message."""

    kind: str  # image | video | audio | document | location
    url: str | None = None  # provider URL (Twilio) or file_id (Telegram)
    content_type: str | None = None
    latitude: float | None = None
    longitude: float | None = None


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
    provider: str  # name stored on messages

    def handles(self, urn_scheme: str) -> bool: ...

    async def send(self, message: OutgoingMessage) -> SendResult: ...
