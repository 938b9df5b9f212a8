"""Personal data out of what operators read: log lines, and the error texts kept and shown for deliveries.

One masking for both: lokal-id's Samaran with placeholders (phone numbers in any writing,
``+62...``, ``08...``, ``62...``, ``whatsapp:+62...``, become ``[PHONE_1]``; NIK ``[NIK_1]`` and the
like). Its ``partial`` form (``0812****7890``) leaves 8 of 12 digits readable, about ten thousand
candidates: too few for an anonymous reporter. Where operators need to tell addresses apart, the
code says ``channels.urns.redact_urn`` (scheme and last three digits) explicitly. Providers put the recipient's number in their error texts (Twilio 21211 and 21408 name
the "To" number), and an anonymous reporter's number must not reach an admin screen that way.
"""

from __future__ import annotations

import re

from lokal.samaran import Samaran
from lokal.samaran.logging import SamaranFilter

MODE = "placeholder"  # "[PHONE_1]": nothing of the number is left
ERROR_LIMIT = 500  # the error columns (message.error, outbox.last_error, dialogue_push.last_error)


def redact(text: str) -> str:
    """``text`` with every phone number (and other personal data) masked."""
    # an instance keeps a vault and is not thread-safe: one per call (store work runs on worker threads)
    return Samaran(mode=MODE).mask(text).text


# Samaran masks a name after a cue ("Bu Sri", "Pak Budi") but leaves an initial ("Bu S.", "Pak B"),
# which in a published note next to a place names a neighbour well enough
_INITIAL_AFTER_CUE = re.compile(
    r"\b(?P<cue>(?:Bapak|Pak|Ibu|Bu|Sdr|Sdri|Saudara|Saudari|Mas|Mbak|Bang|Kak|Dik|Mr|Mrs|Ms)\.?)\s+[A-Z]\b\.?",
    re.IGNORECASE,
)


def public_text(text: str) -> str:
    """``text`` as a public read may show it (a status change's note): personal data masked, initials too."""
    masked = redact(text)
    return _INITIAL_AFTER_CUE.sub(lambda m: f"{m.group('cue')} [NAME]", masked)


def error_text(error: str | None, limit: int = ERROR_LIMIT) -> str | None:
    """An error as it may be stored or shown: masked first, then cut to the column's length."""
    if error is None:
        return None
    # masking a long text costs; what lies past the limit is dropped anyway (a mask never lengthens much)
    return redact(error[: limit * 4])[:limit]


def log_filter() -> SamaranFilter:
    """The filter on the log handler: the same masking as stored errors."""
    return SamaranFilter(mode=MODE)
