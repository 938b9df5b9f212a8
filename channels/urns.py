"""URNs: every citizen address as ``scheme:path`` (DESIGN.md section 2).

``sms:+6281234567890``, ``whatsapp:+6281234567890``, ``telegram:123456789``, and the
simulator's ``sim-sms:``, ``sim-whatsapp:``, ``sim-telegram:``. Phone numbers are E.164.
"""

from __future__ import annotations

import re

import phonenumbers

PHONE_SCHEMES = {"sms", "whatsapp", "sim-sms", "sim-whatsapp"}
NUMERIC_ID_SCHEMES = {"telegram", "sim-telegram"}
SCHEMES = PHONE_SCHEMES | NUMERIC_ID_SCHEMES
# Reporters no channel reaches (filed through Open311 without a phone number): ``mailto:`` keeps
# an e-mail address given (not published, no push sent), ``open311:key-<id>`` stands for the
# integration itself. Their complaints live as any other; pushes to them are skipped.
RECORD_ONLY_SCHEMES = {"mailto", "open311"}
_EMAIL = re.compile(r"[^@\s:]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")
# What an address column of the store holds (contact_urn.urn): a longer URN is no address of ours.
MAX_URN_CHARS = 255
# RFC 5321 allows 254 characters; with "mailto:" in front an address must also fit MAX_URN_CHARS.
MAX_EMAIL_CHARS = min(254, MAX_URN_CHARS - len("mailto:"))

# Simulated channels run the real pipeline; their URN scheme says "simulated" so that a
# simulated conversation can never be mistaken for (or delivered to) a real number.
SIMULATOR_SCHEMES = {"sms": "sim-sms", "whatsapp": "sim-whatsapp", "telegram": "sim-telegram"}


class InvalidAddress(ValueError):
    """The address cannot be a valid URN path for its scheme."""


def normalize_phone(raw: str, default_region: str = "ID") -> str:
    """Any way an Indonesian writes a phone number, as E.164: ``0812-3456-7890`` -> ``+6281234567890``."""
    text = (raw or "").strip()
    if text.lower().startswith("whatsapp:"):
        text = text.split(":", 1)[1]
    digits = re.sub(r"[^\d+]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("62") and not digits.startswith("+"):
        digits = "+" + digits  # 62812... written without the plus
    try:
        number = phonenumbers.parse(digits, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidAddress("not a phone number") from exc
    if not phonenumbers.is_possible_number(number):
        raise InvalidAddress("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def make_urn(scheme: str, address: str) -> str:
    scheme = scheme.strip().lower()
    if scheme not in SCHEMES:
        raise InvalidAddress(f"unknown URN scheme {scheme!r}")
    if scheme in PHONE_SCHEMES:
        return f"{scheme}:{normalize_phone(address)}"
    path = (address or "").strip()
    if not re.fullmatch(r"-?\d{1,20}", path):
        raise InvalidAddress("a Telegram id is a number")
    return f"{scheme}:{path}"


def record_only_urn(scheme: str, path: str) -> str:
    """``mailto:someone@example.org`` or ``open311:key-7``: an address kept, never sent to."""
    path = (path or "").strip()
    if scheme == "mailto" and len(path) <= MAX_EMAIL_CHARS and _EMAIL.fullmatch(path):
        return f"mailto:{path.lower()}"
    if scheme == "open311" and re.fullmatch(r"key-\d{1,12}", path):
        return f"open311:{path}"
    raise InvalidAddress(f"not a {scheme} address")


def split_urn(urn: str) -> tuple[str, str]:
    scheme, sep, path = urn.partition(":")
    if not sep or scheme not in SCHEMES | RECORD_ONLY_SCHEMES or not path:
        raise InvalidAddress("not a URN")
    return scheme, path


def channel_of(urn: str) -> str:
    """The citizen-facing channel of a URN: ``sim-sms:+62..`` and ``sms:+62..`` are both ``sms``."""
    scheme, _ = split_urn(urn)
    return scheme.removeprefix("sim-")


# The provider that carries each scheme: the one table. Outgoing messages store it (so delivery
# callbacks find them), the registry picks the adapter by it, and an adapter's handles() says only
# whether it is set up for that scheme.
PROVIDER_OF_SCHEME = {
    "sms": "twilio",
    "whatsapp": "twilio",
    "telegram": "telegram",
    **{simulated: "simulator" for simulated in SIMULATOR_SCHEMES.values()},
}


def is_reachable(urn: str) -> bool:
    """Whether some channel can carry a message to this address (not a record-only reporter)."""
    return urn.partition(":")[0] in PROVIDER_OF_SCHEME


def provider_of(urn: str) -> str:
    """The provider that sends to this address: stored on outgoing messages, so delivery callbacks find them."""
    scheme, _ = split_urn(urn)
    return PROVIDER_OF_SCHEME[scheme]


def redact_urn(urn: str) -> str:
    """A URN safe for logs: the scheme and the last 3 characters only."""
    scheme, _, path = urn.partition(":")
    return f"{scheme}:…{path[-3:]}" if path else scheme
