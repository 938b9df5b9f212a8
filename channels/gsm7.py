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
    "\u2044": "/",  # fraction slash, from NFKD of ½ ¼ ¾
}


def to_gsm7(text: str) -> str:
    """Transliterate to GSM-7: accents dropped, quotes straightened, emoji and the rest removed."""
    out = []
    for char in text:
        char = _REPLACEMENTS.get(char, char)
        if len(char) > 1 or char in _BASIC or char in _EXTENSION:
            out.append(char)
            continue
        decomposed = "".join(_REPLACEMENTS.get(c, c) for c in unicodedata.normalize("NFKD", char))
        ascii_part = "".join(c for c in decomposed if c in _BASIC or c in _EXTENSION)
        if "/" in ascii_part and out and out[-1][-1:].isdigit():
            ascii_part = " " + ascii_part  # 1½ -> "1 1/2", not "11/2"
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


def _cut(word: str, limit: int) -> list[str]:
    """Cut a word longer than one SMS into pieces of at most ``limit`` septets."""
    pieces, current = [], ""
    for char in word:
        if septets(current + char) > limit:
            pieces.append(current)
            current = ""
        current += char
    return pieces + [current] if current else pieces


def _split_line(line: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for word in line.split():
        candidate = f"{current} {word}" if current else word
        if septets(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        *whole, current = _cut(word, limit)
        parts.extend(whole)
    return parts + [current] if current else parts


def split_for_sms(text: str, limit: int = SINGLE_SEGMENT) -> list[str]:
    """Split into separate SMS of at most ``limit`` septets.

    Feature-phone users pay per SMS, so the fewest messages win; among splits with as few
    messages, whole lines are kept together (a summary's "Lokasi: ..." stays on one screen).
    """
    text = text.strip()
    if septets(text) <= limit:
        return [text] if text else []
    by_lines = _pack(text, limit, keep_lines=True)
    by_words = _pack(text, limit, keep_lines=False)
    return by_lines if len(by_lines) <= len(by_words) else by_words


def _pack(text: str, limit: int, *, keep_lines: bool) -> list[str]:
    parts: list[str] = []
    current = ""
    for line in (line.strip() for line in text.split("\n")):
        if not line:
            continue
        candidate = f"{current}\n{line}" if current else line
        if septets(candidate) <= limit:
            current = candidate
            continue
        if keep_lines:
            if current:
                parts.append(current)
            *whole, current = _split_line(line, limit)
            parts.extend(whole)
            continue
        # fill the current message word by word, then go on with the rest of the line
        words = line.split()
        while words and septets(f"{current}{chr(10) if current else ''}{words[0]}") <= limit:
            current = f"{current}\n{words.pop(0)}" if current else words.pop(0)
            while words and septets(f"{current} {words[0]}") <= limit:
                current = f"{current} {words.pop(0)}"
        if words:
            if current:
                parts.append(current)
            *whole, current = _split_line(" ".join(words), limit)
            parts.extend(whole)
    if current:
        parts.append(current)
    return parts
