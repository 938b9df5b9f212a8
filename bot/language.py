"""Which language a citizen writes in, and the words that switch it.

A citizen who writes in English gets English replies; "bahasa" switches to Indonesian and
"language" (or "english") to English. Detection is deliberately cautious: short or mixed
messages ("ok", "1", "ya") keep the current language, so a citizen is never flipped by a digit.
"""

from __future__ import annotations

import re

from bot.texting import normalize

_ENGLISH = {
    "the", "is", "are", "was", "were", "be", "been", "my", "i", "i'm", "me", "we", "our", "you", "your", "it",
    "this", "that", "there", "of", "to", "in", "on", "for", "with", "and", "not", "no", "have", "has", "had",
    "please", "report", "complaint", "want", "would", "like", "hello", "thanks", "thank", "what", "how", "when",
    "where", "why", "street", "road", "water", "broken", "since", "weeks", "days", "months", "help", "status",
    "check", "cancel", "yes", "can", "could", "does", "do", "did", "still", "again", "about", "from", "near",
    "at", "by", "an", "a", "bye", "good", "morning", "afternoon", "evening", "light", "lights", "garbage",
}
_INDONESIAN = {
    "saya", "aku", "kami", "yang", "di", "ke", "dari", "dan", "tidak", "ini", "itu", "ada", "untuk", "dengan",
    "sudah", "belum", "jalan", "mau", "ingin", "lapor", "laporan", "tolong", "ya", "iya", "halo", "terima",
    "kasih", "apa", "bagaimana", "kenapa", "rusak", "sejak", "bulan", "minggu", "hari", "depan", "rumah",
    "banget", "mohon", "pak", "bu", "min", "kok", "dong", "sih", "juga", "sama", "lagi", "masih", "kapan",
    "mana", "siapa", "bisa", "tapi", "karena", "kalau", "atau", "cek", "batal", "bantuan", "selamat", "pagi",
    "siang", "sore", "malam", "nggih", "mboten", "sampun", "tiang", "niki", "punika", "wis", "durung",
}

SWITCH_TO = {
    "bahasa": "id", "bahasa indonesia": "id", "indonesia": "id", "indonesian": "id",
    "language": "en", "english": "en", "bahasa inggris": "en", "inggris": "en",
}


def switch_request(text: str) -> str | None:
    """The language asked for when the whole message is a switch word ("BAHASA", "language")."""
    return SWITCH_TO.get(re.sub(r"[^a-z ]", "", (text or "").lower()).strip())


def detect(text: str) -> str | None:
    """'en' or 'id' when the message clearly is one of them; None when it could be either."""
    words = re.findall(r"[a-z']+", normalize(text))
    english = sum(word in _ENGLISH for word in words)
    indonesian = sum(word in _INDONESIAN for word in words)
    if english >= 2 and indonesian == 0 or english >= 3 and english > 2 * indonesian:
        return "en"
    if indonesian >= 2 and indonesian > english or indonesian >= 1 and english == 0 and len(words) >= 2:
        return "id"
    return None
