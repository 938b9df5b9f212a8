"""Reading short answers the way citizens type them: YA, y, iya, ok / TIDAK, gak, n, 2."""

from __future__ import annotations

import re

YES = {
    "ya", "y", "iya", "iyo", "iye", "yes", "yup", "ok", "oke", "okey", "okay", "betul", "benar", "bener",
    "setuju", "boleh", "kirim", "lanjut", "sip", "siap", "nggih", "inggih", "yoi", "sure",
}
NO = {
    "tidak", "tdk", "gak", "ga", "gk", "nggak", "ngga", "enggak", "engga", "no", "n", "nope", "bukan", "jangan",
    "ndak", "nda", "mboten", "tak",
}


def yes_no(text: str) -> bool | None:
    """True for yes, False for no, None when the answer is neither (or both)."""
    words = set(re.findall(r"[a-z]+", (text or "").lower()))
    yes, no = bool(words & YES), bool(words & NO)
    if yes == no:
        return None
    return yes


def number_choice(text: str, count: int) -> int | None:
    """A 1-based choice from a numbered list ("2", "no 2", "2."), or None."""
    match = re.fullmatch(r"\s*(?:no\.?|nomor|pilih)?\s*(\d{1,2})\s*[.)]?\s*", (text or "").lower())
    if not match:
        return None
    choice = int(match.group(1))
    return choice if 1 <= choice <= count else None
