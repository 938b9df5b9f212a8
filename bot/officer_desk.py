"""The officer's side of the bot: commands in Indonesian, never sent to the citizens' dialogue.

    /daftar                              the agency's open complaints, nearest deadline first
    /tiket <tiket>                       one complaint with its history and deadlines
    /balas <tiket> <pesan>               a message to the reporter (or reply to a notification)
    /status <tiket> <status> [catatan]   diteruskan | diproses | selesai | ditolak (with a reason)
    /alihkan <tiket> <instansi> [catatan]  not our authority: route to another agency

Forgiving of case, spacing, a missing slash, a bot suffix (``/balas@aduan_bot``) and of how a
ticket is written (``1234-5678``, ``1234 5678``, ``#12345678``). Replying to a bot message about a
complaint (Telegram reply, WhatsApp reply) names its ticket, so ``/status diproses`` is enough
there; a plain text in reply goes to the reporter only when the message replied to is a new
complaint or a relayed answer of the reporter (``RELAYED_KINDS``): a reply to a reminder, a breach
alert or a command's answer is told to use /balas. Everything an officer does goes through
bot/casework.py, in the transaction that also queues the answer to the officer.

Second factor. An SMS sender id can be spoofed, so over SMS every write (/balas, /status,
/alihkan, a plain reply relayed to the reporter: anything but ``READ_COMMANDS``) needs the
officer's PIN in the same SMS, whatever the role: ``/alihkan 1234-5678 DLH-3404 PIN 482913``.
Supervisors and admins confirm their reads too (all but /bantuan: an admin's /tiket shows any
agency's reporters); an officer's /daftar and /tiket need none. The gateway checks the PIN when it
stores the message and keeps only the result (``message.pin_check``; bot/pins.py); this module
applies the rules: 5 wrong PINs in a row lock PIN commands for 30 minutes, the officer is told,
and the agency's supervisors and the national admins are alerted. A PIN typed by any officer, on
any channel, is checked the same way. See docs/operations.md.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import casework, deadlines, desk_texts, pins, services
from bot.casework import Actor, CaseworkError
from channels.urns import redact_urn
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import deadlines as deadline_store
from storage import messages as message_store
from storage import officers as officer_store
from storage.models import (
    RELAYED_KINDS,
    Agency,
    Complaint,
    ContactUrn,
    Message,
    MessageKind,
    Officer,
    OfficerRole,
    PinCheck,
)
from storage.tickets import InvalidTicket, parse_ticket

logger = logging.getLogger(__name__)

COMMANDS = ("balas", "status", "tiket", "daftar", "alihkan", "bantuan", "help", "start")
HELP_COMMANDS = ("bantuan", "help", "start")
# what changes nothing; every other command (and a relayed plain reply) is a write, so a new
# command needs the PIN over SMS unless it is added here
READ_COMMANDS = frozenset({"daftar", "tiket", *HELP_COMMANDS})
# where a sender id proves nothing (an SMS "from" can be forged; Telegram and WhatsApp authenticate
# theirs; the simulator's SMS counts as SMS), and who must confirm their reads there with a PIN too
SPOOFABLE_CHANNELS = frozenset({"sms"})
PIN_ROLES = frozenset({OfficerRole.supervisor.value, OfficerRole.admin.value})
PIN_FAILURE_LIMIT = 5
PIN_LOCK = timedelta(minutes=30)
_COMMAND = re.compile(r"^/?(?P<name>[a-z]+)(?:@\w+)?(?:\s+(?P<rest>.*))?$", re.IGNORECASE | re.DOTALL)
# 8 digits, with the separators people type between them, then a space or the end ("/balas 1234 5678
# 2 petugas ..." is ticket 12345678 and a message starting with 2); any other digit run is a typo
_TICKET = re.compile(r"^#?\s*(?P<ticket>\d(?:[\s.\-]?\d){7})(?=\s|$)\s*(?P<rest>.*)$", re.DOTALL)
_TICKET_TYPO = re.compile(r"^#?\s*(?P<ticket>\d(?:[\s.\-]?\d){5,9})(?![\d])")
STATUS_ALIASES = {
    "diteruskan": "diteruskan", "teruskan": "diteruskan", "verifikasi": "diteruskan",
    "diproses": "diproses", "proses": "diproses",
    "selesai": "selesai", "beres": "selesai",
    "ditolak": "ditolak", "tolak": "ditolak",
}


@dataclass(frozen=True)
class Request:
    officer: Officer
    text: str
    replied: Message | None  # the bot message (to this address) the officer replied to
    quoted: Complaint | None  # the complaint that message was about
    now: datetime

    @property
    def relays(self) -> bool:
        """Whether a plain text in reply goes to the reporter: only for a new complaint or a relayed answer."""
        return self.quoted is not None and self.replied is not None and self.replied.kind in RELAYED_KINDS


def replied_message(session: Session, message: Message) -> Message | None:
    """The bot message to this same address that the officer replied to, if any."""
    if message.reply_to_id is None:
        return None
    replied = session.get(Message, message.reply_to_id)
    if replied is None or replied.urn_id != message.urn_id:
        return None
    return replied


def handle(session: Session, officer: Officer, message: Message, now: datetime) -> str:
    """Carry out one officer message; returns the answer to the officer. Changes nothing on an error."""
    text = pins.without_mark(message.text)
    replied = replied_message(session, message)
    quoted = session.get(Complaint, replied.complaint_id) if replied and replied.complaint_id else None
    request = Request(officer, text, replied, quoted, now)
    if message.pin_check is not None or _needs_pin(request, message.channel):
        refusal = _second_factor(session, officer, message, now)
        if refusal is not None:
            return refusal
    try:
        with session.begin_nested():  # an error undoes whatever the command had begun
            return _dispatch(session, request)
    except CaseworkError as error:
        return error.message


# ---------------------------------------------------------------- the second factor


def _needs_pin(request: Request, channel: str) -> bool:
    if channel not in SPOOFABLE_CHANNELS:
        return False
    if _writes(request):
        return True
    return request.officer.role in PIN_ROLES and not _is_help(request.text)


def _is_help(text: str) -> bool:
    match = _COMMAND.match(text)
    return match is not None and match.group("name").lower() in HELP_COMMANDS


def _writes(request: Request) -> bool:
    """Whether the message would write: to the reporter, a status, a re-route. An unknown word writes nothing."""
    if _is_plain_reply(request):
        return request.relays
    match = _COMMAND.match(request.text)
    name = match.group("name").lower() if match else ""
    return name in COMMANDS and name not in READ_COMMANDS


def _is_plain_reply(request: Request) -> bool:
    """A text in reply to a bot message that is not a command: no slash, and no ticket after its first word.

    It goes to the reporter, even when it starts with a command word ("Status jalan sudah
    diperbaiki"), when it answers a new complaint or the reporter's own words (``relays``).
    """
    if request.replied is None or request.text.startswith("/"):
        return False
    match = _COMMAND.match(request.text)
    rest = (match.group("rest") or "").strip() if match else ""
    return not _TICKET.match(rest)


def _second_factor(session: Session, officer: Officer, message: Message, now: datetime) -> str | None:
    """None when the message may go on; otherwise the answer that refuses it. Wrong PINs are counted here."""
    check = message.pin_check
    if check == PinCheck.locked.value or officer_store.pin_locked(officer, now):
        return desk_texts.pin_locked(PIN_LOCK)
    if check == PinCheck.ok.value:
        officer_store.clear_pin_failures(session, officer.id)
        return None
    if check == PinCheck.unset.value or officer.pin_hash is None:
        return desk_texts.pin_not_set(officer)
    if check is None:
        return desk_texts.pin_required(every_command=officer.role in PIN_ROLES)
    left = officer_store.record_pin_failure(session, officer.id, now, limit=PIN_FAILURE_LIMIT, lock=PIN_LOCK)
    if left > 0:
        return desk_texts.pin_wrong(left)
    logger.warning("officer %s: %d wrong PINs in a row, PIN commands locked", officer.id, PIN_FAILURE_LIMIT)
    _alert_lockout(session, officer, message)
    return desk_texts.pin_locked_now(PIN_FAILURE_LIMIT, PIN_LOCK)


def _alert_lockout(session: Session, officer: Officer, message: Message) -> None:
    """The agency's supervisors and the national admins learn that someone tried PINs on this address."""
    national = agency_store.national_queue(session)
    contacts = {
        c.id: c
        for c in officer_store.officer_contacts(session, officer.agency_id, (OfficerRole.supervisor,))
        + officer_store.officer_contacts(session, national.id, (OfficerRole.admin,))
        if c.id != message.urn_id  # that address has the answer already
    }
    if not contacts:
        return
    address = redact_urn(session.get(ContactUrn, message.urn_id).urn)
    agency = session.get(Agency, officer.agency_id)
    text = desk_texts.pin_lockout_alert(officer, agency, address, PIN_FAILURE_LIMIT, PIN_LOCK)
    casework.send_to_contacts(session, list(contacts.values()), text, None, MessageKind.security)


# ---------------------------------------------------------------- commands


def _dispatch(session: Session, request: Request) -> str:
    match = _COMMAND.match(request.text)
    name = match.group("name").lower() if match else ""
    rest = (match.group("rest") or "").strip() if match else ""
    if _is_plain_reply(request):  # a command in reply needs its slash or a ticket
        if request.relays:  # a reply to anything else is not relayed
            return _reply(session, request, request.quoted, request.text)
        return desk_texts.not_relayed(request.quoted)
    if name not in COMMANDS:
        return desk_texts.unknown_command()
    if name in HELP_COMMANDS:
        return desk_texts.HELP
    if name == "daftar":
        return _open_list(session, request.officer)
    complaint, rest = _ticket_and_rest(session, request, rest, name)
    if name == "tiket":
        return _detail(session, complaint)
    if name == "balas":
        return _reply(session, request, complaint, rest)
    if name == "status":
        return _status(session, request, complaint, rest)
    return _reroute(session, request, complaint, rest)


def _ticket_and_rest(session: Session, request: Request, rest: str, command: str) -> tuple[Complaint, str]:
    found = _TICKET.match(rest)
    if found:
        try:
            ticket = parse_ticket(found.group("ticket"))
        except InvalidTicket:
            raise CaseworkError("invalid_ticket", desk_texts.invalid_ticket(found.group("ticket"))) from None
        return casework.complaint_for_officer(session, request.officer, ticket), found.group("rest").strip()
    if (typo := _TICKET_TYPO.match(rest)) is not None:
        raise CaseworkError("invalid_ticket", desk_texts.invalid_ticket(typo.group("ticket")))
    if request.quoted is not None:
        return casework.complaint_for_officer(session, request.officer, request.quoted.ticket), rest
    raise CaseworkError("usage", desk_texts.usage(command))


def _today(complaint: Complaint, now: datetime):
    return casework.local_today(complaint, now)


def _reply(session: Session, request: Request, complaint: Complaint, text: str) -> str:
    complaint = casework.complaint_for_officer(session, request.officer, complaint.ticket)
    casework.reply_to_citizen(session, complaint, actor=Actor.of(request.officer), text=text)
    return desk_texts.reply_sent(complaint, casework.reporter_reachable(session, complaint))


def _status(session: Session, request: Request, complaint: Complaint, rest: str) -> str:
    word, note = (rest.split(None, 1) + [""])[:2] if rest else ("", "")
    status = STATUS_ALIASES.get(word.lower())
    if status is None:
        raise CaseworkError("unknown_status", desk_texts.unknown_status(word) if word else desk_texts.usage("status"))
    event = casework.change_status(
        session, complaint, status, actor=Actor.of(request.officer), note=note, today=_today(complaint, request.now)
    )
    return desk_texts.status_changed(complaint, casework.reporter_reachable(session, complaint), event.public_note)


def _reroute(session: Session, request: Request, complaint: Complaint, rest: str) -> str:
    code, note = (rest.split(None, 1) + [""])[:2] if rest else ("", "")
    if not code:
        raise CaseworkError("usage", desk_texts.usage("alihkan"))
    target = casework.reroute(
        session, complaint, code, actor=Actor.of(request.officer), note=note, today=_today(complaint, request.now)
    )
    return desk_texts.rerouted(complaint, target, casework.reporter_reachable(session, complaint))


def _detail(session: Session, complaint: Complaint) -> str:
    reporter = casework.reporter_label(session, complaint, session.get(ContactUrn, complaint.urn_id))
    history = complaint_store.complaint_history(session, complaint.id)
    attachments = message_store.attachments_of_complaint(session, complaint.id)
    names = {
        e.actor_officer_id: session.get(Officer, e.actor_officer_id).name for e in history if e.actor_officer_id
    }
    return desk_texts.ticket_detail(
        complaint,
        session.get(Agency, complaint.agency_id),
        history,
        deadlines.running_deadlines(complaint),
        [alert.deadline for alert in deadline_store.breaches_of(session, complaint.id)],
        reporter,
        names,
        attachments,
        {a.id: link for a in attachments if (link := services.media_link(a))},
    )


def _open_list(session: Session, officer: Officer) -> str:
    complaints = deadlines.agency_queue(session, officer.agency_id)
    rows = [
        (c, deadlines.next_deadline(c), bool(deadline_store.breaches_of(session, c.id))) for c in complaints
    ]
    return desk_texts.open_list(rows)
