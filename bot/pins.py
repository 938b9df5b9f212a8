"""Officers' PINs: the second factor of commands over SMS, where a sender id can be spoofed.

A PIN is 6 to 12 digits (feature phones have keypads), typed at the end or the start of the
command: ``/alihkan 1234-5678 DLH-3404 PIN 482913``. Only a salted scrypt hash is kept
(``hashlib.scrypt``: memory-hard, so a stolen table cannot be run through every 6-digit PIN in
seconds the way a plain hash can). A message that carried a PIN is stored with the PIN replaced
by ``PIN ••••`` (``MARK``), so it is never kept in the message table nor relayed to anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timezone

from sqlmodel import Session

from storage import messages as message_store
from storage import officers as officer_store
from storage.models import PinCheck

MIN_DIGITS, MAX_DIGITS = 6, 12
MARK = "PIN ••••"
# scrypt's cost: 16 MiB and about 50 ms per check on this machine's cores
_N, _R, _P, _DKLEN = 2**14, 8, 1, 32

# "... PIN 482913", "pin:482913", "PIN482913" at the end; "PIN 482913 /daftar" at the start.
# Shorter digit runs count as an attempt too (a mistyped PIN is redacted and counted, not relayed).
_AT_END = re.compile(r"(?:^|\s)pin\s*[:=#]?\s*(?P<pin>\d{4,16})\s*$", re.IGNORECASE)
_AT_START = re.compile(r"^\s*pin\s*[:=#]?\s*(?P<pin>\d{4,16})(?:\s+|$)", re.IGNORECASE)
_MARKED = re.compile(r"(?:^\s*" + re.escape(MARK) + r"(?:\s+|$))|(?:\s*" + re.escape(MARK) + r"\s*$)")


class WeakPin(ValueError):
    pass


def check_strength(pin: str) -> str:
    """The PIN if it can be used; raises WeakPin with the reason otherwise."""
    if not pin.isascii() or not pin.isdigit() or not MIN_DIGITS <= len(pin) <= MAX_DIGITS:
        raise WeakPin(f"a PIN is {MIN_DIGITS} to {MAX_DIGITS} digits")
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    if len(set(pin)) == 1 or steps in ({1}, {-1}):
        raise WeakPin("a PIN of one repeated digit or a run (123456) is guessed first")
    return pin


def hash_pin(pin: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=_DKLEN)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_pin(pin: str, stored: str) -> bool:
    try:
        name, n, r, p, salt, digest = stored.split("$")
        if name != "scrypt":
            return False
        expected = bytes.fromhex(digest)
        got = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def extract(text: str) -> tuple[str, str | None]:
    """(the text with its PIN replaced by MARK, the PIN) when it carries one; (text, None) otherwise.

    A PIN at both ends is redacted at both; the one at the end counts.
    """
    pin = None
    if (found := _AT_END.search(text)) is not None:
        head = text[: found.start()].rstrip()
        text, pin = (f"{head} {MARK}" if head else MARK), found.group("pin")
    if (found := _AT_START.match(text)) is not None:
        tail = text[found.end():].strip()
        text, pin = (f"{MARK} {tail}" if tail else MARK), pin or found.group("pin")
    return text, pin


def without_mark(text: str) -> str:
    """The command of a stored message, without the mark where its PIN was."""
    return _MARKED.sub("", text).strip()


def screen(session: Session, urn: str, text: str, now: datetime | None = None) -> tuple[str, str | None]:
    """An inbound message as it may be stored: an officer's PIN replaced by ``MARK`` and checked here.

    Returns (text to store, PinCheck value, or None when no PIN was typed). Other senders' texts are
    kept as they are. While the officer is locked out the PIN is not checked (no KDF work for
    someone trying PINs).
    """
    redacted, pin = extract(text)
    if pin is None:
        return text, None
    officer = officer_store.officer_of_address(session, urn)
    if officer is None:
        return text, None
    if not officer.active:  # a deactivated officer is a citizen now; their PIN is still nobody's business
        return redacted, None
    if officer_store.pin_locked(officer, now or datetime.now(timezone.utc)):
        return redacted, PinCheck.locked.value
    if officer.pin_hash is None:
        return redacted, PinCheck.unset.value
    return redacted, (PinCheck.ok if verify_pin(pin, officer.pin_hash) else PinCheck.wrong).value


def record_inbound(session: Session, *, urn: str, text: str, **message) -> tuple:
    """``message_store.record_inbound`` after the PIN screen: what every front door stores a message with."""
    stored, check = screen(session, urn, text)
    return message_store.record_inbound(session, urn=urn, text=stored, pin_check=check, **message)
