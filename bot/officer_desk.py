"""The officer's side of the bot: commands in Indonesian, never sent to the citizens' dialogue.

    /daftar                              the agency's open complaints, nearest deadline first
    /tiket <tiket>                       one complaint with its history and deadlines
    /balas <tiket> <pesan>               a message to the reporter (or reply to a notification)
    /status <tiket> <status> [catatan]   diteruskan | diproses | selesai | ditolak (with a reason)
    /alihkan <tiket> <instansi> [catatan]  not our authority: route to another agency

Forgiving of case, spacing, a missing slash, a bot suffix (``/balas@aduan_bot``) and of how a
ticket is written (``1234-5678``, ``1234 5678``, ``#12345678``). Replying to a bot message about a
complaint (Telegram reply, WhatsApp reply) names its ticket, so ``/status diproses`` or a plain text
is enough there. Everything an officer does goes through bot/casework.py, in the transaction that
also queues the answer to the officer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot import casework, desk_texts
from bot.casework import Actor, CaseworkError
from storage import repository
from storage.models import Agency, Complaint, ContactUrn, Message, Officer
from storage.tickets import InvalidTicket, parse_ticket

COMMANDS = ("balas", "status", "tiket", "daftar", "alihkan", "bantuan", "help", "start")
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
    quoted: Complaint | None  # the complaint of the bot message the officer replied to
    now: datetime


def quoted_complaint(session: Session, message: Message) -> Complaint | None:
    """The complaint a replied-to bot message was about, when the officer replied to one."""
    if message.reply_to_id is None:
        return None
    quoted = session.get(Message, message.reply_to_id)
    if quoted is None or quoted.urn_id != message.urn_id or quoted.complaint_id is None:
        return None
    return session.get(Complaint, quoted.complaint_id)


def handle(session: Session, officer: Officer, message: Message, now: datetime) -> str:
    """Carry out one officer message; returns the answer to the officer. Changes nothing on an error."""
    request = Request(officer, message.text.strip(), quoted_complaint(session, message), now)
    try:
        with session.begin_nested():  # an error undoes whatever the command had begun
            return _dispatch(session, request)
    except CaseworkError as error:
        return error.message


def _dispatch(session: Session, request: Request) -> str:
    match = _COMMAND.match(request.text)
    name = match.group("name").lower() if match else ""
    rest = (match.group("rest") or "").strip() if match else ""
    if request.quoted is not None and not request.text.startswith("/") and not _TICKET.match(rest):
        # a plain reply to a notification goes to the reporter, even when it starts with a
        # command word ("Status jalan sudah diperbaiki"); a command needs its slash or a ticket there
        return _reply(session, request, request.quoted, request.text)
    if name not in COMMANDS:
        return desk_texts.unknown_command()
    if name in ("bantuan", "help", "start"):
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
    return desk_texts.reply_sent(complaint)


def _status(session: Session, request: Request, complaint: Complaint, rest: str) -> str:
    word, note = (rest.split(None, 1) + [""])[:2] if rest else ("", "")
    status = STATUS_ALIASES.get(word.lower())
    if status is None:
        raise CaseworkError("unknown_status", desk_texts.unknown_status(word) if word else desk_texts.usage("status"))
    casework.change_status(
        session, complaint, status, actor=Actor.of(request.officer), note=note, today=_today(complaint, request.now)
    )
    return desk_texts.status_changed(complaint)


def _reroute(session: Session, request: Request, complaint: Complaint, rest: str) -> str:
    code, note = (rest.split(None, 1) + [""])[:2] if rest else ("", "")
    if not code:
        raise CaseworkError("usage", desk_texts.usage("alihkan"))
    target = casework.reroute(
        session, complaint, code, actor=Actor.of(request.officer), note=note, today=_today(complaint, request.now)
    )
    return desk_texts.rerouted(complaint, target)


def _detail(session: Session, complaint: Complaint) -> str:
    reporter = None if complaint.anonymous else session.get(ContactUrn, complaint.urn_id).urn
    history = repository.complaint_history(session, complaint.id)
    names = {
        e.actor_officer_id: session.get(Officer, e.actor_officer_id).name for e in history if e.actor_officer_id
    }
    return desk_texts.ticket_detail(
        complaint,
        session.get(Agency, complaint.agency_id),
        history,
        repository.running_deadlines(complaint),
        [alert.deadline for alert in repository.breaches_of(session, complaint.id)],
        reporter,
        names,
    )


def _open_list(session: Session, officer: Officer) -> str:
    complaints = repository.open_complaints_of_agency(session, officer.agency_id)
    rows = [
        (c, repository.next_deadline(c), bool(repository.breaches_of(session, c.id))) for c in complaints
    ]
    return desk_texts.open_list(rows)
