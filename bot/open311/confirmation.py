"""An Open311 request's ``phone``, record-only until its owner says YA (issue #26).

Any key holder can type any number into a request. So the number is not made the reporter: the
complaint is filed with a record-only reporter (as a request without a phone), and the number gets
one SMS asking whether it wants the ticket's news. Only when it answers "YA <ticket>" (or a plain
"YA" to that SMS, the last thing we sent it) does it become the complaint's reporter: from then on
it gets every push, its STATUS shows the ticket, and its dialogue hears of the complaint. The
answer is taken before the dialogue sees it (bot/conversation.py), used once, and only within
CONFIRMATION_DAYS; any other answer goes to the dialogue as usual. A number that never answers
gets nothing more, and the complaint is worked on all the same.

A number is asked at most once a day (ASK_EVERY), whichever key names it: a key cannot make it a
target of repeated texts. A later request naming it still waits for "YA <ticket>".
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import casework
from bot.i18n import translator
from channels import gsm7
from storage import contacts as contact_store
from storage import open311_confirmations as confirmation_store
from storage.models import Complaint, ContactUrn, Open311Key, utcnow
from storage.tickets import format_ticket, is_valid_ticket

CONFIRMATION_DAYS = 7
ASK_EVERY = timedelta(days=1)
# "YA", "ya 1234-5678", "Iya #1234 5678.", "yes 12345678": the whole message, nothing else
_YES = re.compile(r"\s*(?:ya|iya|yes)\b[\s,.:!]*(?P<ticket>#?\s*\d[\d\s.\-]{5,12}\d)?[\s.!]*", re.IGNORECASE)
_SAMPLE_TICKET = "0000-0000"


def _ask_template(language: str) -> str:
    _ = translator(language)
    return _(
        "Laporan {ticket} dikirim lewat {name} atas nama nomor ini. Balas YA {ticket} untuk menerima kabarnya. "
        "Bukan Anda? Abaikan saja."
    )


def _name_room() -> int:
    """How many GSM-7 septets an integration's name may take so that the ask stays one SMS in every language."""
    longest = max(
        gsm7.septets(_ask_template(language).format(ticket=_SAMPLE_TICKET, name="")) for language in ("id", "en")
    )
    return gsm7.SINGLE_SEGMENT - longest


def short_name(name: str, room: int | None = None) -> str:
    """The integration's name in GSM-7, cut with "..." to ``room`` septets."""
    room = _name_room() if room is None else room
    plain = " ".join(gsm7.to_gsm7(name).split())
    if gsm7.septets(plain) <= room:
        return plain
    while plain and gsm7.septets(plain) > room - 3:
        plain = plain[:-1]
    return plain.rstrip() + "..."


def ask_text(ticket: str, name: str, language: str = "id") -> str:
    return _ask_template(language).format(ticket=format_ticket(ticket), name=short_name(name))


def confirmed_text(ticket: str, language: str = "id") -> str:
    _ = translator(language)
    return _(
        "Terima kasih. Kabar laporan {ticket} akan dikirim ke nomor ini. Cek kapan saja dgn kirim STATUS {ticket}."
    ).format(ticket=format_ticket(ticket))


def ask(
    session: Session, key: Open311Key, complaint: Complaint, phone_urn: str, *, now: datetime | None = None
) -> None:
    """Keep the number the request named as pending, and ask it once (in the filing's transaction)."""
    now = now or utcnow()
    contact = contact_store.get_or_create_urn(session, phone_urn)  # an address of its own; the complaint is not linked
    message_id = None
    if not confirmation_store.asked_since(session, contact.id, now - ASK_EVERY):
        language = contact_store.citizen_language(session, contact.id)
        text = ask_text(complaint.ticket, key.name, language)
        sent = casework.send_to_contacts(session, [contact], text, complaint)  # one segment: one row
        message_id = sent[-1] if sent else None
    confirmation_store.add_confirmation(
        session, complaint_id=complaint.id, urn_id=contact.id, message_id=message_id,
        expires_at=now + timedelta(days=CONFIRMATION_DAYS),
    )


def yes_ticket(text: str) -> str | None:
    """For a message that is only a YA: the ticket's digits it names, or "" for none; None for any other message."""
    match = _YES.fullmatch(text or "")
    if match is None:
        return None
    if match.group("ticket") is None:
        return ""
    digits = re.sub(r"\D", "", match.group("ticket"))
    return digits if is_valid_ticket(digits) else None


def may_answer(contact: ContactUrn, text: str) -> bool:
    """Whether a message could answer an ask, without the store: a YA by SMS, where the asks go.

    Every citizen's YA at a chat summary passes here; only these are looked up."""
    return contact.scheme == "sms" and yes_ticket(text) is not None


def answer(session: Session, contact: ContactUrn, text: str, *, now: datetime | None = None) -> str | None:
    """Apply a YA from this address to its pending ask; returns what to tell it, or None when the
    message is no such answer (it goes to the dialogue)."""
    ticket = yes_ticket(text)
    if ticket is None:
        return None
    now = now or utcnow()
    asks = confirmation_store.pending(session, contact.id, now)
    if ticket:
        chosen = [confirmation for confirmation, of in asks if of == ticket]
    else:  # a plain YA answers the ask only when the ask is the last thing this number was sent
        last = confirmation_store.last_outbound_id(session, contact.id)
        chosen = [confirmation for confirmation, _ in asks if last is not None and confirmation.message_id == last]
    if not chosen or not confirmation_store.confirm(session, chosen[0].id, now):
        return None
    complaint = session.get(Complaint, chosen[0].complaint_id)
    confirmation_store.set_reporter(session, complaint, urn_id=contact.id, citizen_id=contact.citizen_id)
    return confirmed_text(complaint.ticket, contact_store.citizen_language(session, contact.id))
