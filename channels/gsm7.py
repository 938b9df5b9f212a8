"""SMS text rules: GSM-7 characters only, counted in 160-character segments.

Feature-phone users pay per segment, and a single character outside GSM-7 (an emoji, a curly
quote) would switch the whole SMS to UCS-2 and cut a segment to 70 characters.
"""

from __future__ import annotations

import re
import unicodedata

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "^{}\\[~]|€\f"  # each costs two septets
_BASIC = set(GSM7_BASIC) - {"\x1b"}
_EXTENSION = set(GSM7_EXTENSION)

SINGLE_SEGMENT = 160
MULTIPART_SEGMENT = 153  # concatenated SMS lose 7 septets to the header

_REPLACEMENTS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2212": "-", "\u2026": "...",
    "\u00a0": " ", "\u2022": "-", "\u00b7": "-", "\t": " ",
}


def to_gsm7(text: str) -> str:
    """Transliterate to GSM-7: accents dropped, quotes straightened, emoji and the rest removed."""
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        if len(char) > 1 or char in _BASIC or char in _EXTENSION:
            out.append(char)
            continue
        decomposed = unicodedata.normalize("NFKD", char)
        ascii_part = "".join(c for c in decomposed if c in _BASIC or c in _EXTENSION)
        out.append(ascii_part)
    return re.sub(r"[ ]{2,}", " ", "".join(out)).strip()


def septets(text: str) -> int:
    return sum(2 if char in _EXTENSION else 1 for char in text)


def segments(text: str) -> int:
    """How many SMS segments a GSM-7 text costs."""
    length = septets(text)
    if length <= SINGLE_SEGMENT:
        return 1
    return -(-length // MULTIPART_SEGMENT)


def split_for_sms(text: str, limit: int = SINGLE_SEGMENT) -> list[str]:
    """Split into separate SMS of at most ``limit`` septets, at line breaks first, then between words."""
    text = text.strip()
    if not text:
        return []
    if septets(text) <= limit:
        return [text]
    pieces: list[tuple[str, str]] = []  # (separator before the piece, piece)
    for number, line in enumerate(text.split("\n")):
        for index, word in enumerate(line.split()):
            pieces.append(("\n" if index == 0 and number else " ", word))
    parts: list[str] = []
    current = ""
    for separator, word in pieces:
        candidate = current + separator + word if current else word
        if septets(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        while septets(word) > limit:  # a single word longer than an SMS
            parts.append(word[:limit])
            word = word[limit:]
        current = word
    if current:
        parts.append(current)
    return parts
