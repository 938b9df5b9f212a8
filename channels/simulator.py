"""The simulator channel: the real pipeline, with a pretend provider that keeps what it was sent.

Used for demos, officer training and end-to-end tests (contract: DESIGN.md section 4). A
simulated address gets a ``sim-`` URN scheme, so it can never reach a real phone.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, Field, field_validator

from channels.base import (
    IncomingMessage,
    OutgoingMessage,
    SendOutcome,
    SendResult,
    clean_text,
)
from channels.urns import PROVIDER_OF_SCHEME, SIMULATOR_SCHEMES, InvalidAddress, make_urn


class SimulatorAdapter:
    provider = "simulator"

    def handles(self, urn_scheme: str) -> bool:
        return PROVIDER_OF_SCHEME.get(urn_scheme) == self.provider  # every simulated scheme

    async def send(self, message: OutgoingMessage) -> SendResult:
        # "Delivery" is the row in the store that GET /simulator/messages lists.
        return SendResult(SendOutcome.sent, external_id=f"sim-{message.message_id}", status="delivered")


# ---------------------------------------------------------------- HTTP: POST/GET /simulator/messages

router = APIRouter(prefix="/simulator", tags=["simulator"])

MAX_TEXT = 4096


class SimulatedMessage(BaseModel):
    channel: Literal["sms", "whatsapp", "telegram"]
    sender: str = Field(min_length=1, max_length=64, description="phone number (sms, whatsapp) or Telegram chat id")
    text: str = Field(min_length=1, max_length=MAX_TEXT)

    @field_validator("sender", "text", mode="before")
    @classmethod
    def _clean(cls, value):
        # what a real channel's neutral message does, before pydantic refuses a lone surrogate
        return clean_text(value) if isinstance(value, str) else value


class Replies(BaseModel):
    replies: list[str]


class DeliveredMessage(BaseModel):
    id: int
    text: str
    status: str
    created_at: str


class Delivered(BaseModel):
    messages: list[DeliveredMessage]


def _urn(channel: str, sender: str) -> str:
    try:
        return make_urn(SIMULATOR_SCHEMES[channel], sender)
    except InvalidAddress as exc:
        raise HTTPException(status_code=422, detail=f"invalid sender for {channel}: {exc}") from exc


@router.post("/messages", response_model=Replies)
async def send_message(body: SimulatedMessage, request: Request) -> Replies:
    """A simulated citizen sends a message; answers with what the bot sent back during this turn."""
    gateway = request.app.state.gateway
    urn = _urn(body.channel, body.sender)
    message, _ = await gateway.conversations.receive(
        IncomingMessage(urn=urn, channel=body.channel, provider=SimulatorAdapter.provider, text=body.text)
    )
    queued = await gateway.conversations.process(message.urn_id)
    # the background retry loop may have run this very turn while we waited for the conversation
    replies = sorted(set(queued) | set(await gateway.replies_to(message.id)))
    await gateway.dispatcher.dispatch_due(message_ids=replies)
    delivered = await gateway.delivered_texts(replies)
    return Replies(replies=delivered)


@router.get("/messages", response_model=Delivered)
async def list_messages(channel: Literal["sms", "whatsapp", "telegram"], sender: str, request: Request) -> Delivered:
    """Every message delivered to a simulated address, oldest first (pushes and relays included)."""
    gateway = request.app.state.gateway
    messages = await gateway.delivered_to(_urn(channel, sender))
    return Delivered(
        messages=[
            DeliveredMessage(id=m.id, text=m.text, status=m.status, created_at=m.created_at.isoformat()) for m in messages
        ]
    )
