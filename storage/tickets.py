"""Ticket numbers: 8 digits, the last a Damm check digit, random, shown as ``1234-5678``.

Numeric because feature phones have keypads; the Damm check digit catches every single
wrong digit and every swap of neighbouring digits, so a mistyped ticket is told apart
from a ticket that does not exist.
"""

from __future__ import annotations

import re
import secrets

from stdnum import damm

TICKET_LENGTH = 8

# 7 to 9 digits, optionally '#'-prefixed, with spaces, dashes or dots between them.
# Not glued to further digits on either side, so a phone number "0812-3456-7890" is not a ticket.
_CANDIDATE = re.compile(r"(?<!\d)(?<!\d[\s.\-])#?\s*(\d(?:[\s.\-]?\d){6,8})(?![\s.\-]?\d)")


class InvalidTicket(ValueError):
    """The text looks like a ticket number but is not a valid one (typo)."""


def new_ticket() -> str:
    """A random valid ticket; the first digit is never 0 so it reads as a number."""
    body = str(secrets.randbelow(9 * 10**6) + 10**6)
    return body + damm.calc_check_digit(body)


def is_valid_ticket(digits: str) -> bool:
    return len(digits) == TICKET_LENGTH and digits.isdigit() and damm.is_valid(digits)


def parse_ticket(text: str) -> str:
    """Turn what a citizen typed (``#1234-5678``, ``1234 5678``) into the 8 digits.

    Raises InvalidTicket when it has the wrong number of digits or a wrong check digit.
    """
    digits = re.sub(r"[\s#.\-]", "", text or "")
    if not is_valid_ticket(digits):
        raise InvalidTicket(text)
    return digits


def find_ticket(text: str) -> str | None:
    """The ticket-like number in a free-text message, as digits (not yet validated).

    Returns None when the message holds no run of 7 to 9 digits; a run of the wrong
    length is returned too, so that the caller can say "that number is not valid".
    """
    match = _CANDIDATE.search(text or "")
    if not match:
        return None
    return re.sub(r"\D", "", match.group(1))


def format_ticket(digits: str) -> str:
    return f"{digits[:4]}-{digits[4:]}"
