"""Telegram through python-telegram-bot (22): webhook inside the app, or polling for local development.

Incoming: ``POST /webhooks/telegram``, carrying the ``X-Telegram-Bot-Api-Secret-Token`` we gave
Telegram when registering the webhook (``aduan telegram set-webhook``). Without a public URL the
app polls ``getUpdates`` instead. Updates are de-duplicated by ``update_id``; a citizen who blocks
the bot is marked unreachable. Replies offer reply keyboards for yes/no and numbered options.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from telegram import Bot, KeyboardButton, ReplyKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from channels.base import (
    MAX_MEDIA_BYTES,
    IncomingMessage,
    MediaItem,
    MediaUnavailable,
    OutgoingMessage,
    SendOutcome,
    SendResult,
)
from channels.urns import PROVIDER_OF_SCHEME, make_urn, split_urn
from channels.webhooks import read_body

logger = logging.getLogger(__name__)

PROVIDER = "telegram"
ALLOWED_UPDATES = ["message", "my_chat_member"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POLL_RETRY_SECONDS = 5.0  # after a failed getUpdates, or an update that could not be handled


class Blocked:
    """The update says the citizen blocked the bot (or left the chat)."""

    def __init__(self, urn: str) -> None:
        self.urn = urn


class Unblocked:
    """The update says the bot is a member of the chat again (the citizen unblocked it, a group added it back)."""

    def __init__(self, urn: str) -> None:
        self.urn = urn


# my_chat_member statuses: the bot can be written to again / can no longer be
_MEMBER_AGAIN = (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.OWNER)
_GONE = (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)  # "kicked", "left"


def parse_update(data: dict[str, Any], bot: Bot) -> IncomingMessage | Blocked | Unblocked | None:
    """The channel-neutral message of an update; None for updates we do not act on (edits, polls...)."""
    update = Update.de_json(data, bot)
    if update is None:
        return None
    if update.my_chat_member is not None:
        member = update.my_chat_member
        status = member.new_chat_member.status
        if status in _GONE:
            return Blocked(make_urn("telegram", str(member.chat.id)))
        if status in _MEMBER_AGAIN or (status == ChatMemberStatus.RESTRICTED and member.new_chat_member.is_member):
            return Unblocked(make_urn("telegram", str(member.chat.id)))
        return None
    message = update.message
    if message is None:
        # edited messages, channel posts, callback queries: a citizen's edit does not re-run a turn
        return None
    attachments: list[MediaItem] = []
    if message.photo:
        largest = max(message.photo, key=lambda size: size.width * size.height)
        attachments.append(MediaItem(kind="image", url=largest.file_id, content_type="image/jpeg"))
    if message.document:
        attachments.append(
            MediaItem(kind="document", url=message.document.file_id, content_type=message.document.mime_type)
        )
    if message.video:
        attachments.append(MediaItem(kind="video", url=message.video.file_id, content_type=message.video.mime_type))
    if message.voice:
        attachments.append(MediaItem(kind="audio", url=message.voice.file_id, content_type=message.voice.mime_type))
    if message.location:
        attachments.append(
            MediaItem(kind="location", latitude=message.location.latitude, longitude=message.location.longitude)
        )
    return IncomingMessage(
        urn=make_urn("telegram", str(message.chat.id)),
        channel="telegram",
        provider=PROVIDER,
        text=(message.text or message.caption or "").strip(),
        external_id=str(update.update_id),
        attachments=tuple(attachments),
        # our sent messages are stored as "<chat>:<message id>" (TelegramAdapter.send)
        quoted_external_id=(
            f"{message.chat.id}:{message.reply_to_message.message_id}" if message.reply_to_message else None
        ),
    )


_NUMBERED = re.compile(r"^\s*(\d{1,2})[.)]\s+\S", re.MULTILINE)


def keyboard_for(text: str) -> ReplyKeyboardMarkup | None:
    """Reply buttons for the answers a question expects: numbered options, yes/no, the summary's choices."""
    numbers = _NUMBERED.findall(text)
    rows: list[list[str]] = []
    if len(numbers) >= 2:
        rows = [numbers[i : i + 4] for i in range(0, len(numbers), 4)]
    elif re.search(r"\bYA\b", text) and re.search(r"\bBATAL\b", text):
        rows = [["YA", "BATAL"], ["1", "2", "3", "4"]]
    elif re.search(r"\bYA\b", text) and re.search(r"\bTIDAK\b", text):
        rows = [["YA", "TIDAK"]]
    elif re.search(r"\bYES\b", text) and re.search(r"\bCANCEL\b", text):
        rows = [["YES", "CANCEL"], ["1", "2", "3", "4"]]
    elif re.search(r"\bYES\b", text) and re.search(r"\bNO\b", text):
        rows = [["YES", "NO"]]
    if not rows:
        return None
    return ReplyKeyboardMarkup(
        [[KeyboardButton(label) for label in row] for row in rows], one_time_keyboard=True, resize_keyboard=True
    )


def _seconds(value: Any) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=float(value))


class TelegramAdapter:
    provider = PROVIDER

    def __init__(self, *, token: str, webhook_secret: str = "", api_url: str = "") -> None:
        base = api_url.rstrip("/") if api_url else "https://api.telegram.org"
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot")
        self.webhook_secret = webhook_secret
        self._initialized = False
        self._init_lock = asyncio.Lock()

    def handles(self, urn_scheme: str) -> bool:
        return PROVIDER_OF_SCHEME.get(urn_scheme) == PROVIDER

    async def ensure_initialized(self) -> None:
        """PTB needs ``getMe`` once before the first call; done lazily so a Telegram outage never blocks start-up."""
        async with self._init_lock:
            if not self._initialized:
                await self.bot.initialize()
                self._initialized = True

    def secret_valid(self, header: str | None) -> bool:
        # bytes: compare_digest raises TypeError on a str with non-ASCII characters
        return bool(self.webhook_secret) and hmac.compare_digest(
            (header or "").encode("utf-8"), self.webhook_secret.encode("utf-8")
        )

    async def send(self, message: OutgoingMessage) -> SendResult:
        _, chat_id = split_urn(message.urn)
        try:
            await self.ensure_initialized()
            sent = await self.bot.send_message(
                chat_id=int(chat_id), text=message.text, reply_markup=keyboard_for(message.text)
            )
        except Forbidden as exc:  # blocked by the user, or kicked from the group
            return SendResult(SendOutcome.recipient_gone, error=f"Forbidden: {exc.message}")
        except RetryAfter as exc:
            return SendResult(SendOutcome.retry_later, error=str(exc), retry_after=_seconds(exc.retry_after))
        except (TimedOut, NetworkError) as exc:
            if isinstance(exc, BadRequest):
                return SendResult(SendOutcome.permanent, error=f"BadRequest: {exc.message}")
            return SendResult(SendOutcome.retry, error=f"{type(exc).__name__}: {exc.message}")
        except TelegramError as exc:
            return SendResult(SendOutcome.permanent, error=f"{type(exc).__name__}: {exc.message}")
        # message ids count per chat; the chat makes them unique
        return SendResult(SendOutcome.sent, external_id=f"{chat_id}:{sent.message_id}", status="delivered")

    async def fetch_media(self, file_id: str) -> bytes:
        """A file a citizen sent, by its ``file_id`` (only our bot can fetch it)."""
        try:
            await self.ensure_initialized()
            file = await self.bot.get_file(file_id)
            if file.file_size and file.file_size > MAX_MEDIA_BYTES:
                raise MediaUnavailable("too large")
            return bytes(await file.download_as_bytearray())
        except TelegramError as exc:
            raise MediaUnavailable(f"{type(exc).__name__}: {exc.message}") from exc

    async def set_webhook(self, public_base_url: str) -> bool:
        await self.ensure_initialized()
        return await self.bot.set_webhook(
            url=f"{public_base_url.rstrip('/')}/webhooks/telegram",
            secret_token=self.webhook_secret or None,
            allowed_updates=ALLOWED_UPDATES,
        )

    async def poll_forever(self, handle) -> None:
        """Local development without a public URL: long-poll getUpdates and handle each update."""
        offset = None
        await self.bot.delete_webhook()
        while True:
            try:
                await self.ensure_initialized()
                updates = await self.bot.get_updates(offset=offset, timeout=25, allowed_updates=ALLOWED_UPDATES)
            except asyncio.CancelledError:
                raise
            except TelegramError as exc:
                logger.warning("Telegram polling failed (%s); retrying in %s s", exc, POLL_RETRY_SECONDS)
                await asyncio.sleep(POLL_RETRY_SECONDS)
                continue
            except Exception:  # an answer PTB cannot read: the loop must not die of it
                logger.exception("Telegram polling got an unreadable answer; retrying in %s s", POLL_RETRY_SECONDS)
                await asyncio.sleep(POLL_RETRY_SECONDS)
                continue
            for update in updates:
                try:
                    await handle(update.to_dict())
                except Exception:  # the store is down, say: not acknowledged, so getUpdates returns it again
                    logger.exception("Telegram update %s not handled; retrying in %s s", update.update_id, POLL_RETRY_SECONDS)
                    await asyncio.sleep(POLL_RETRY_SECONDS)
                    break
                offset = update.update_id + 1

    async def aclose(self) -> None:
        if self._initialized:
            await self.bot.shutdown()


# ---------------------------------------------------------------- webhook

router = APIRouter(prefix="/webhooks", tags=["providers"])


async def handle_update(gateway, adapter: TelegramAdapter, data: dict[str, Any]) -> None:
    """One update, from the webhook or from polling: store it, then run its turn in the background."""
    parsed = parse_update(data, adapter.bot)
    if isinstance(parsed, Blocked):
        await gateway.mark_unreachable(parsed.urn)
        return
    if isinstance(parsed, Unblocked):
        await gateway.mark_reachable(parsed.urn)
        return
    if parsed is None:
        return
    await gateway.take_in(parsed)


def _is_update_id(value: Any) -> bool:
    """Telegram's update ids are positive and fit a 64-bit integer (``True`` is an int to Python, not an id)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


@router.post("/telegram", response_class=Response)
async def webhook(request: Request) -> Response:
    gateway = request.app.state.gateway
    adapter: TelegramAdapter | None = gateway.provider(PROVIDER)
    if adapter is None:
        raise HTTPException(404, "the Telegram channel is not configured")
    if not adapter.secret_valid(request.headers.get(SECRET_HEADER)):
        logger.warning("rejected a Telegram webhook without the secret token")
        raise HTTPException(403, "invalid secret token")
    body = await read_body(request)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise HTTPException(400, "body is not JSON") from None
    if not isinstance(data, dict) or not _is_update_id(data.get("update_id")):
        raise HTTPException(400, "not a Telegram update")
    try:
        # PTB raises whatever a malformed field makes it raise (AttributeError, OverflowError, ...):
        # an update it cannot read is refused here, before anything is stored; handle_update reads it again
        parse_update(data, adapter.bot)
    except Exception as exc:  # noqa: BLE001 - any failure to read the update means "malformed"
        logger.warning("malformed Telegram update %s refused: %s", data["update_id"], type(exc).__name__)
        raise HTTPException(400, "malformed update") from None
    try:
        await handle_update(gateway, adapter, data)
    except (KeyError, TypeError, ValueError) as exc:  # a malformed update: do not make Telegram retry it forever
        logger.warning("malformed Telegram update %s ignored: %s", data.get("update_id"), type(exc).__name__)
        raise HTTPException(400, "malformed update") from None
    return Response(status_code=200)
