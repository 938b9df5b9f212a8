"""SMS and WhatsApp through Twilio, with the ``twilio`` package.

Incoming: ``POST /webhooks/twilio`` (both channels; WhatsApp senders arrive as
``whatsapp:+62...``), signed by Twilio with the account's auth token over the public URL it
called. The message is stored, then answered with an empty TwiML response; the dialogue turn
runs in the background and its replies go out through the REST API (the outbox).
Delivery callbacks: ``POST /webhooks/twilio/status``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import httpx
from fastapi import APIRouter, HTTPException, Request, Response
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from channels.base import (
    MAX_MEDIA_BYTES,
    IncomingMessage,
    MediaItem,
    MediaUnavailable,
    OutgoingMessage,
    SendOutcome,
    SendResult,
)
from channels.urns import InvalidAddress, make_urn, split_urn
from channels.webhooks import public_url, read_body

logger = logging.getLogger(__name__)

PROVIDER = "twilio"
WHATSAPP_WINDOW = timedelta(hours=24)
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

# Twilio error codes (https://www.twilio.com/docs/api/errors) that decide what to do next.
OUTSIDE_WHATSAPP_WINDOW = 63016
RECIPIENT_GONE = {21610, 63024, 63032}  # replied STOP / blocked; invalid WhatsApp recipient; user opted out
THROTTLED = {20429, 14107, 63018}


class BadPayload(ValueError):
    """A webhook that is signed but lacks what a message needs."""


def _media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0].lower()
    return major if major in ("image", "video", "audio") else "document"


def parse_incoming(form: Mapping[str, str]) -> IncomingMessage:
    """Turn Twilio's webhook parameters into the channel-neutral message."""
    sender, sid = form.get("From", "").strip(), form.get("MessageSid", "").strip()
    if not sender or not sid:
        raise BadPayload("From and MessageSid are required")
    if len(sid) > 64:  # Twilio's ids are 34 characters; the store keeps up to 128
        raise BadPayload("MessageSid is not a Twilio message id")
    channel = "whatsapp" if sender.lower().startswith("whatsapp:") else "sms"
    try:
        urn = make_urn(channel, sender)
    except InvalidAddress as exc:
        raise BadPayload(f"From is not a phone number: {exc}") from exc
    attachments: list[MediaItem] = []
    try:
        media_count = int(form.get("NumMedia") or 0)
    except ValueError as exc:
        raise BadPayload("NumMedia is not a number") from exc
    for index in range(min(media_count, 10)):
        url = form.get(f"MediaUrl{index}")
        if url:
            content_type = form.get(f"MediaContentType{index}", "application/octet-stream")
            attachments.append(MediaItem(kind=_media_kind(content_type), url=url, content_type=content_type))
    if form.get("Latitude") and form.get("Longitude"):
        try:
            latitude, longitude = float(form["Latitude"]), float(form["Longitude"])
        except ValueError as exc:
            raise BadPayload("Latitude/Longitude are not numbers") from exc
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise BadPayload("Latitude/Longitude out of range")
        attachments.append(MediaItem(kind="location", latitude=latitude, longitude=longitude))
    return IncomingMessage(
        urn=urn,
        channel=channel,
        provider=PROVIDER,
        text=(form.get("Body") or "").strip(),
        external_id=sid,
        attachments=tuple(attachments),
        # WhatsApp: the message the user replied to (swipe-to-reply)
        quoted_external_id=form.get("OriginalRepliedMessageSid") or None,
    )


class TwilioAdapter:
    provider = PROVIDER

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sms_from: str = "",
        whatsapp_from: str = "",
        whatsapp_template_sid: str = "",
        public_base_url: str = "",
        api_url: str = "",
    ) -> None:
        self.auth_token = auth_token
        self._account_sid = account_sid
        self.validator = RequestValidator(auth_token)
        self.public_base_url = public_base_url
        self._sms_from = sms_from
        self._whatsapp_from = whatsapp_from.removeprefix("whatsapp:")
        self._template_sid = whatsapp_template_sid
        # Our dispatcher retries with backoff; the client must not retry on its own as well.
        self.client = Client(account_sid, auth_token, http_client=AsyncTwilioHttpClient(timeout=15, max_retries=1))
        if api_url:  # a self-hosted gateway or a fake API in tests
            self.client.api.base_url = api_url.rstrip("/")

    def handles(self, urn_scheme: str) -> bool:
        return (urn_scheme == "sms" and bool(self._sms_from)) or (urn_scheme == "whatsapp" and bool(self._whatsapp_from))

    async def fetch_media(self, url: str) -> bytes:
        """A media file a citizen sent (``MediaUrl``), fetched with the account's credentials.

        Only from Twilio's API host (or the configured one): the URL came in a signed webhook, but
        the credentials must never go anywhere else.
        """
        if urlsplit(url).netloc != urlsplit(self.client.api.base_url).netloc:
            raise MediaUnavailable("not a media URL of this Twilio API")
        try:
            async with httpx.AsyncClient(timeout=20, follow_redirects=True) as http:
                # the API answers with a redirect to the file's storage, which needs no credentials
                response = await http.get(url, auth=(self._account_sid, self.auth_token))
        except httpx.HTTPError as exc:
            raise MediaUnavailable(type(exc).__name__) from exc
        if response.status_code != 200:
            raise MediaUnavailable(f"HTTP {response.status_code}")
        if len(response.content) > MAX_MEDIA_BYTES:
            raise MediaUnavailable("too large")
        return response.content

    def signature_valid(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        return bool(signature) and self.validator.validate(url, dict(params), signature)

    async def send(self, message: OutgoingMessage) -> SendResult:
        scheme, number = split_urn(message.urn)
        kwargs: dict = {"to": number, "from_": self._sms_from, "body": message.text}
        if self.public_base_url:  # on every send, templates too: their failures arrive only there
            # ?m= names our message: a send Twilio accepted from an instance that died before it
            # recorded the send is known by its first callback, and not sent again (bot/gateway.py)
            kwargs["status_callback"] = f"{self.public_base_url.rstrip('/')}/webhooks/twilio/status?m={message.message_id}"
        if scheme == "whatsapp":
            kwargs.update(to=f"whatsapp:{number}", from_=f"whatsapp:{self._whatsapp_from}")
            if not _within_window(message.last_inbound_at):
                return await self._send_template(kwargs, message)
        result = await self._create(kwargs)
        if result.error == str(OUTSIDE_WHATSAPP_WINDOW) and scheme == "whatsapp":
            # Our clock and Twilio's disagree about the 24 hours: fall back to the template.
            return await self._send_template(kwargs, message)
        return result

    async def _send_template(self, kwargs: dict, message: OutgoingMessage) -> SendResult:
        """Outside WhatsApp's 24-hour window only an approved template may be sent."""
        if not self._template_sid:
            return SendResult(
                SendOutcome.permanent,
                error="WhatsApp 24-hour window closed and TWILIO_WHATSAPP_TEMPLATE_SID is not set",
            )
        template = {k: v for k, v in kwargs.items() if k != "body"}
        variable = template_variable(message.text)
        template.update(content_sid=self._template_sid, content_variables=json.dumps({"1": variable}))
        return await self._create(template)

    async def _create(self, kwargs: dict) -> SendResult:
        try:
            created = await self.client.messages.create_async(**kwargs)
        except TwilioRestException as exc:
            return classify_error(exc)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
            return SendResult(SendOutcome.retry, error=f"{type(exc).__name__}: {exc}")
        return SendResult(SendOutcome.sent, external_id=created.sid, status="accepted")

    async def aclose(self) -> None:
        http_client = self.client.http_client
        if getattr(http_client, "session", None) is not None:
            await http_client.session.close()


# WhatsApp refuses a template whose variables hold a new line, a tab or more than four spaces in a
# row (Meta's error 132018, "parameter ... can't have new-line/tab characters or more than 4
# consecutive spaces"), and a body over 1,024 characters (Twilio 63021): the push is flattened to one line.
_LINE_BREAKS = re.compile(r"\s*[\r\n\v\f\u2028\u2029]+\s*")
_WIDE_SPACE = re.compile(r"[\t ]{2,}|\t")
TEMPLATE_VARIABLE_LIMIT = 900  # leaves room for the template's own words within 1,024


def template_variable(text: str) -> str:
    """A push as a WhatsApp template variable: its lines joined by " · ", no tabs or runs of spaces."""
    flat = _LINE_BREAKS.sub(" · ", text.strip())
    flat = _WIDE_SPACE.sub(" ", flat)
    if len(flat) > TEMPLATE_VARIABLE_LIMIT:
        flat = flat[: TEMPLATE_VARIABLE_LIMIT - 1].rstrip() + "…"
    return flat


def _within_window(last_inbound_at: datetime | None) -> bool:
    return last_inbound_at is not None and datetime.now(timezone.utc) - last_inbound_at < WHATSAPP_WINDOW


def classify_error(exc: TwilioRestException) -> SendResult:
    code, status = exc.code, exc.status
    detail = f"{code or status}: {exc.msg}"
    if code == OUTSIDE_WHATSAPP_WINDOW:
        return SendResult(SendOutcome.permanent, error=str(OUTSIDE_WHATSAPP_WINDOW))
    if code in RECIPIENT_GONE:
        return SendResult(SendOutcome.recipient_gone, error=detail)
    if status == 429 or code in THROTTLED:
        return SendResult(SendOutcome.retry_later, error=detail, retry_after=timedelta(seconds=30))
    if status >= 500:
        return SendResult(SendOutcome.retry, error=detail)
    return SendResult(SendOutcome.permanent, error=detail)


# ---------------------------------------------------------------- webhooks

router = APIRouter(prefix="/webhooks/twilio", tags=["providers"])


async def _signed_form(request: Request, adapter: TwilioAdapter) -> dict[str, str]:
    """The webhook's parameters, only if Twilio signed them; otherwise 403 and nothing stored."""
    body = await read_body(request)
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise HTTPException(400, "body is not UTF-8") from None
    form = dict(pairs)
    url = public_url(request, adapter.public_base_url)
    if not adapter.signature_valid(url, form, request.headers.get("X-Twilio-Signature", "")):
        logger.warning("rejected a Twilio webhook with a missing or wrong signature")
        raise HTTPException(403, "invalid Twilio signature")
    return form


def _adapter(request: Request) -> TwilioAdapter:
    adapter = request.app.state.gateway.provider(PROVIDER)
    if adapter is None:
        raise HTTPException(404, "the Twilio channel is not configured")
    return adapter


@router.post("", response_class=Response)
async def incoming(request: Request) -> Response:
    adapter = _adapter(request)
    form = await _signed_form(request, adapter)
    try:
        message = parse_incoming(form)
    except BadPayload as exc:
        raise HTTPException(400, str(exc)) from None
    gateway = request.app.state.gateway
    stored, created = await gateway.take_in(message)
    if not created:
        logger.info("duplicate Twilio webhook for message %s", stored.id)
    return Response(EMPTY_TWIML, media_type="text/xml")


_SID = re.compile(r"[A-Za-z0-9]{2,64}")
_STATUS = re.compile(r"[a-z_]{1,16}")
_ERROR_CODE = re.compile(r"[0-9]{1,10}")


@router.post("/status", response_class=Response)
async def status_callback(request: Request) -> Response:
    adapter = _adapter(request)
    form = await _signed_form(request, adapter)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not status:
        raise HTTPException(400, "MessageSid and MessageStatus are required")
    error = form.get("ErrorCode")
    # Twilio's ids are letters and digits, its statuses lower-case words, its error codes numbers;
    # anything else is not a callback of Twilio's (and a NUL could not even be looked up in PostgreSQL)
    if not _SID.fullmatch(sid) or not _STATUS.fullmatch(status) or (error and not _ERROR_CODE.fullmatch(error)):
        raise HTTPException(400, "MessageSid, MessageStatus or ErrorCode is malformed")
    ours = request.query_params.get("m", "")
    message_id = int(ours) if ours.isascii() and ours.isdigit() and len(ours) < 19 else None
    message = await request.app.state.gateway.record_delivery(
        PROVIDER, sid, status, f"Twilio error {error}" if error else None, message_id=message_id
    )
    if message is None:
        logger.info("status callback for an unknown message ignored")
    elif status in ("failed", "undelivered"):
        logger.warning("outgoing message %s %s (Twilio error %s)", message.id, status, error)
    return Response(status_code=204)
