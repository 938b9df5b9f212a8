"""Links that let an officer open a citizen's photo, video, voice note or document.

Media stay with the provider (a Twilio media URL needs the account's credentials; a Telegram
``file_id`` is only meaningful to our bot). An officer's notification carries a link to
``GET /media/{attachment_id}``, signed with ``MEDIA_LINK_SECRET`` and valid for ``LINK_DAYS``; the
app fetches the file from the provider with its own credentials (the adapter's ``fetch_media``)
and hands it over. The link names no address, so it does not reveal an anonymous reporter.

This lives in bot/, not channels/: the route reads the attachment from the store, and channels/
holds provider adapters only. The app builds one ``MediaLinks`` in its lifespan
(``app.state.media_links``, and ``bot.services`` for casework's notifications).

The content type is what the sender's phone claimed, so it is not trusted: only the types in
``INLINE_TYPES`` (pictures, sound, video, PDF) open in the officer's browser; anything else (an
HTML "document" would run its script on the agency's domain) is handed over as a download of
``application/octet-stream``. Every answer carries ``nosniff`` and a sandboxing
``Content-Security-Policy``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time

from fastapi import APIRouter, HTTPException, Request, Response
from sqlmodel import Session

from channels.base import MediaFetcher, MediaUnavailable
from storage.db import in_transaction
from storage.models import Attachment, Message

logger = logging.getLogger(__name__)

LINK_DAYS = 30


# What a browser may show inline (pictures, sound and video players, its PDF viewer), with the
# extension of the file name it is served under.
INLINE_TYPES = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "audio/ogg": "ogg", "audio/mpeg": "mp3", "audio/mp4": "m4a", "audio/amr": "amr", "audio/aac": "aac",
    "video/mp4": "mp4", "video/3gpp": "3gp",
    "application/pdf": "pdf",
}
# No script, no plugin, no request anywhere; inline styles only so that a browser's own image and
# media viewers look right. ``sandbox`` also gives the document an opaque origin.
CONTENT_SECURITY_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'"
# Downloads only: documents an officer opens with an office program, not in the browser.
_DOWNLOAD_EXTENSIONS = {
    "text/plain": "txt",
    "application/msword": "doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.ms-excel": "xls",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/zip": "zip",
}


def media_headers(attachment_id: int, claimed_type: str | None) -> tuple[str, dict[str, str]]:
    """The media type and headers to serve a file with, whatever type its sender claimed."""
    essence = (claimed_type or "").split(";", 1)[0].strip().lower()
    headers = {
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    }
    if essence in INLINE_TYPES:
        headers["Content-Disposition"] = f'inline; filename="lampiran-{attachment_id}.{INLINE_TYPES[essence]}"'
        return essence, headers
    # the file name is ours, never the sender's; a known office format keeps its extension
    extension = _DOWNLOAD_EXTENSIONS.get(essence, "bin")
    headers["Content-Disposition"] = f'attachment; filename="lampiran-{attachment_id}.{extension}"'
    return "application/octet-stream", headers


class MediaLinks:
    """Signed, expiring links to ``/media/{attachment_id}``."""

    def __init__(self, base_url: str, secret: str, days: int = LINK_DAYS) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret.encode()
        self._seconds = days * 24 * 3600

    @classmethod
    def configured(cls, base_url: str, secret: str) -> MediaLinks | None:
        """The app's links; without a public URL and a secret there are none."""
        return cls(base_url, secret) if base_url and secret else None

    def _signature(self, attachment_id: int, expires: int) -> str:
        return hmac.new(self._secret, f"{attachment_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def link(self, attachment_id: int, now: float | None = None) -> str:
        expires = int((now if now is not None else time.time()) + self._seconds)
        return f"{self.base_url}/media/{attachment_id}?exp={expires}&sig={self._signature(attachment_id, expires)}"

    def link_for(self, attachment: Attachment) -> str | None:
        """The officer's link to a file, or None for a location pin (or a file without a provider URL)."""
        if attachment.kind in ("location", "link") or not attachment.url:
            return None  # a link (an Open311 media_url) is not ours to sign: bot.services shows it as given
        return self.link(attachment.id)

    def valid(self, attachment_id: int, expires: int, signature: str, now: float | None = None) -> bool:
        if expires < (now if now is not None else time.time()):
            return False
        # bytes: compare_digest raises TypeError on a str with non-ASCII characters
        return hmac.compare_digest(signature.encode("utf-8"), self._signature(attachment_id, expires).encode())


# ---------------------------------------------------------------- GET /media/{attachment_id}

router = APIRouter(tags=["officers"])


@router.get("/media/{attachment_id}", include_in_schema=False)
async def media(attachment_id: int, exp: int, sig: str, request: Request) -> Response:
    links: MediaLinks | None = getattr(request.app.state, "media_links", None)
    if links is None or not links.valid(attachment_id, exp, sig):
        raise HTTPException(403, "invalid or expired link")

    def load(session: Session) -> tuple[Attachment, str] | None:
        attachment = session.get(Attachment, attachment_id)
        if attachment is None or not attachment.url or attachment.kind == "link":
            return None  # a link is an integration's own URL: never fetched by us
        return attachment, session.get(Message, attachment.message_id).provider

    found = await in_transaction(request.app.state.engine, load)
    if found is None:
        raise HTTPException(404, "no such file")
    attachment, provider = found
    adapter = request.app.state.gateway.provider(provider)
    if not isinstance(adapter, MediaFetcher):
        raise HTTPException(503, f"the {provider} channel is not configured")
    try:
        content = await adapter.fetch_media(attachment.url)
    except MediaUnavailable as exc:
        logger.warning("attachment %s could not be fetched: %s", attachment_id, exc)
        raise HTTPException(502, "the provider did not give the file") from None
    media_type, headers = media_headers(attachment_id, attachment.content_type)
    return Response(content, media_type=media_type, headers=headers)
