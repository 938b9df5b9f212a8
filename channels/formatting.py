"""How a bot message becomes what a channel can carry."""

from __future__ import annotations

from channels import gsm7

TELEGRAM_LIMIT = 4096
WHATSAPP_LIMIT = 1600


def _split(text: str, limit: int) -> list[str]:
    return [text[i : i + limit] for i in range(0, len(text), limit)] or [text]


def render(channel: str, text: str) -> list[str]:
    """The messages to send for one bot reply on a channel (SMS: GSM-7, 160 characters each)."""
    if channel == "sms":
        return gsm7.split_for_sms(gsm7.to_gsm7(text))
    if channel == "whatsapp":
        return _split(text.strip(), WHATSAPP_LIMIT)
    return _split(text.strip(), TELEGRAM_LIMIT)
