"""Links that let an officer open a citizen's photo, video, voice note or document.

Media stay with the provider (a Twilio media URL needs the account's credentials; a Telegram
``file_id`` is only meaningful to our bot). An officer's notification carries a link to
``GET /media/{attachment_id}``, signed with ``MEDIA_LINK_SECRET`` and valid for ``LINK_DAYS``; the
app fetches the file from the provider with its own credentials and hands it over. The link names
no address, so it does not reveal an anonymous reporter.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from fastapi import APIRouter, HTTPException, Request, Response
from sqlmodel import Session

from storage.db import in_transaction
from storage.models import Attachment, Message

logger = logging.getLogger(__name__)

LINK_DAYS = 30
MAX_BYTES = 20 * 1024 * 1024  # WhatsApp allows 16 MB; a Telegram bot may fetch up to 20 MB


class MediaUnavailable(Exception):
    """The provider cannot give the file (gone, too large, not ours to fetch)."""


class MediaLinks:
    """Signed, expiring links to ``/media/{attachment_id}``."""

    def __init__(self, base_url: str, secret: str, days: int = LINK_DAYS) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret.encode()
        self._seconds = days * 24 * 3600

    def _signature(self, attachment_id: int, expires: int) -> str:
        return hmac.new(self._secret, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def link(self, attachment_id: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self._seconds)
        return f"{self.base_url}/media/{attachment_id}?exp={expires}&sig={self._signature(attachment_id, expires)}"

    def valid(self, attachment_id: int, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        return hmac.compare_digest(signature, self._signature(attachment_id, expires))


_links: MediaLinks | None = None


def configure(base_url: str, secret: str) -> None:
    """Set up the links (by the app at start); without a public URL and a secret there are none."""
    global _links
    _links = MediaLinks(base_url, secret) if base_url and secret else None


def link_for(attachment: Attachment) -> str | None:
    """The officer's link to a file, or None (a location pin, or links not configured)."""
    if _links is None or attachment.kind == "location" or not attachment.url:
        return None
    return _links.link(attachment.id)


# ---------------------------------------------------------------- GET /media/{attachment_id}

router = APIRouter(tags=["officers"])


@router.get("/media/{attachment_id}", include_in_schema=False)
async def media(attachment_id: int, exp: int, sig: str, request: Request) -> Response:
    if _links is None or not _links.valid(attachment_id, exp, sig):
        raise HTTPException(403, "invalid or expired link")

    def load(session: Session) -> tuple[Attachment, str] | None:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or not attachment.url:
            return None
        return attachment, session.get(Message, attachment.message_id).provider

    found = await in_transaction(request.app.state.engine, load)
    if found is None:
        raise HTTPException(404, "no such file")
    attachment, provider = found
    adapter = request.app.state.gateway.provider(provider)
    if adapter is None or not hasattr(adapter, "fetch_media"):
        raise HTTPException(503, f"the {provider} channel is not configured")
    try:
        content = await adapter.fetch_media(attachment.url)
    except MediaUnavailable as exc:
        logger.warning("attachment %s could not be fetched: %s", attachment_id, exc)
        raise HTTPException(502, "the provider did not give the file") from None
    return Response(
        content,
        media_type=attachment.content_type or "application/octet-stream",
        headers={"Cache-Control": "private, max-age=3600"},
    )
