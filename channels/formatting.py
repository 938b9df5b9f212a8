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


def fit(channel: str, text: str, parts: int, tail: str) -> str:
    """The text, cut between words so that it renders in at most ``parts`` messages, ending in ``tail``.

    A text that fits is returned as it is. ``tail`` (what says it was cut) must fit on its own.
    """
    if len(render(channel, text)) <= parts:
        return text
    # the longest cut that fits, by bisection; only cuts that were seen to fit are kept
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if len(render(channel, _cut(text, middle) + tail)) <= parts:
            low = middle
        else:
            high = middle - 1
    return _cut(text, low) + tail


def _cut(text: str, length: int) -> str:
    """The first ``length`` characters, back to the last whole word when that cuts one."""
    head = text[:length]
    if length < len(text) and not text[length].isspace():
        space = max(head.rfind(" "), head.rfind("\n"))
        head = head[:space] if space > 0 else head
    return head.rstrip()
