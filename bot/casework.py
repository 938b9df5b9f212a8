"""Casework: what officers, citizens and the clock do to a filed complaint, and who is told.

Every function runs inside the caller's transaction and writes, in that same transaction, the
change, its event (who, when, a note), the messages it causes (outbox rows) and what the
citizen's dialogue must learn (``dialogue_push``, told to Rasa with ``trigger_intent``). Officer
commands (bot/officer_desk.py), the REST API (bot/api/), the dialogue's actions and the
deadline clock all come through here, so every path obeys the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot import deadlines, desk_texts, services, texts
from bot.workdays import add_working_days, is_working_day
from channels.formatting import fit, render
from channels.urns import channel_of, is_reachable, provider_of
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import deadlines as deadline_store
from storage import messages as message_store
from storage import officers as officer_store
from storage import outbox as outbox_store
from storage import pushes as push_store
from storage.redaction import public_text
from storage.models import (
    Agency,
    Citizen,
    Complaint,
    ComplaintEvent,
    ContactUrn,
    MessageKind,
    Officer,
    OfficerRole,
    Open311Key,
    Status,
    utcnow,
)

# whose status notes are published (masked) with the status: the agency's. A citizen's own words
# (a dispute) and the clock's are not.
PUBLIC_NOTE_ACTORS = frozenset({"officer", "integration"})
CONFIRMATION_DAYS = 14  # a citizen may dispute "selesai" this long; then it closes by itself
THREAD_INTENTS = {
    "status": "EXTERNAL_status_changed",
    "reply": "EXTERNAL_officer_reply",
    "resolution": "EXTERNAL_resolution_check",
}

# What an officer may change a status to, from each status. `ditutup` is the citizen's (or the
# clock's); `diterima` is where filing starts.
OFFICER_TRANSITIONS = {
    Status.diterima.value: {Status.diteruskan.value, Status.diproses.value, Status.ditolak.value},
    Status.diteruskan.value: {Status.diproses.value, Status.selesai.value, Status.ditolak.value},
    Status.diproses.value: {Status.selesai.value, Status.ditolak.value},
}


class CaseworkError(Exception):
    """A request that changes nothing: ``code`` for the API, ``message`` in Indonesian for officers."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Actor:
    """Who acts: an officer, the citizen, the system (the deadline clock), or an integration.

    An integration (an agency's back office posting Open311 updates, bot/open311/) acts with its
    key, on the complaints of the agencies the key is bound to (``agency_ids``).
    """

    kind: str  # officer | citizen | system | integration
    officer: Officer | None = None
    open311_key_id: int | None = None
    agency_ids: frozenset[int] | None = None  # an integration: the agencies it may act for
    reference: str | None = None  # an integration: its own id for this action (an Open311 update_id)

    @classmethod
    def of(cls, officer: Officer) -> "Actor":
        return cls("officer", officer)

    @classmethod
    def integration(cls, key_id: int, agency_ids: frozenset[int], reference: str | None = None) -> "Actor":
        return cls("integration", open311_key_id=key_id, agency_ids=agency_ids, reference=reference)


CITIZEN = Actor("citizen")
SYSTEM = Actor("system")


# ---------------------------------------------------------------- access


def may_act_on(officer: Officer, complaint: Complaint) -> bool:
    return officer.role == OfficerRole.admin.value or complaint.agency_id == officer.agency_id


def complaint_for_officer(session: Session, officer: Officer, ticket: str) -> Complaint:
    """The complaint, if this officer may see it; another agency's ticket is "not in your queue"."""
    complaint = complaint_store.get_complaint(session, ticket)
    if complaint is None or not may_act_on(officer, complaint):
        raise CaseworkError("not_found", desk_texts.not_in_queue(ticket))
    return complaint


# ---------------------------------------------------------------- sending


def send_to_contacts(
    session: Session, contacts: list[ContactUrn], text: str, complaint: Complaint | None, kind: MessageKind | None = None
) -> list[int]:
    """Queue a message to these addresses (citizen or officers), rendered for each channel, written together.

    ``kind`` says what a message to officers is: a plain reply relays to the reporter only for some kinds.
    A record-only address (a reporter filed through Open311 without a phone) gets nothing: what
    was said stays in the complaint's events, read through Open311 and the public page.
    """
    outbound = []
    for contact in contacts:
        if not is_reachable(contact.urn):
            continue
        channel = channel_of(contact.urn)
        outbound += [
            outbox_store.OutboundText(urn_id=contact.id, channel=channel, provider=provider_of(contact.urn), text=part)
            for part in render(channel, text)
        ]
    messages = outbox_store.queue_outbound_many(
        session, outbound, complaint_id=complaint.id if complaint else None, kind=kind.value if kind else None
    )
    return [m.id for m in messages]


def notify_officers(
    session: Session,
    complaint: Complaint,
    text: str,
    roles: tuple[OfficerRole, ...] | None = None,
    agency_id: int | None = None,
    *,
    kind: MessageKind | None = None,
) -> int:
    """Tell the officers (of these roles) of the complaint's agency, or of ``agency_id``; returns how many addresses.

    Each channel's copy is cut to OFFICER_MESSAGE_PARTS: a citizen's words quoted in it (an answer,
    a reopening comment) cannot make it cost more.
    """
    contacts = officer_store.officer_contacts(session, agency_id or complaint.agency_id, roles)
    if contacts:
        _send_to_officers(session, complaint, contacts, text, kind)
    return len(contacts)


def reporter_reachable(session: Session, complaint: Complaint) -> bool:
    """Whether a channel reaches the reporter (not a record-only Open311 reporter)."""
    return is_reachable(session.get(ContactUrn, complaint.urn_id).urn)


def reporter_label(session: Session, complaint: Complaint, contact: ContactUrn) -> str | None:
    """Who reported, as officers read it: the address, or the integration's name; None when anonymous.

    A reporter's e-mail given through Open311 is kept, never shown (bot/open311/intake.py): officers
    read that there is one, and reach the reporter through the integration.
    """
    if complaint.anonymous:
        return None
    if contact.scheme in ("open311", "mailto"):
        key = session.get(Open311Key, complaint.open311_key_id) if complaint.open311_key_id is not None else None
        via = f"lewat Open311 ({key.name})" if key is not None else "lewat Open311"
        return f"{via}, {'e-mail tercatat' if contact.scheme == 'mailto' else 'tanpa kontak'}"
    return contact.urn


def push_to_citizen(session: Session, complaint: Complaint, kind: str, text_for) -> None:
    """A push on the channel and address the citizen used, in their language, and the dialogue told of it.

    On WhatsApp and Telegram it ends with the link to the complaint's public page (bot/public_page.py).
    """
    contact = session.get(ContactUrn, complaint.urn_id)
    if not is_reachable(contact.urn):
        return  # no channel, and no dialogue to tell: the change is in the complaint's events
    language = contact_store.citizen_language(session, contact.id)
    text = texts.with_page_link(
        text_for(language), base_url=services.public_base_url(), ticket=complaint.ticket,
        channel=channel_of(contact.urn), language=language,
    )
    # written by the flush that writes the push's messages, in the same transaction as before
    push_store.queue_dialogue_push(
        session, contact.id, THREAD_INTENTS[kind], {"ticket": complaint.ticket}, flush=False
    )
    send_to_contacts(session, [contact], text, complaint)


def _agency(session: Session, complaint: Complaint) -> Agency:
    return session.get(Agency, complaint.agency_id)


@dataclass(frozen=True)
class _PushContext:
    agency: Agency
    contact: ContactUrn
    citizen: Citizen


def _load_for_push(session: Session, complaint: Complaint) -> _PushContext:
    """The complaint's agency, and the reporter's address and citizen that a push reads, in one query.

    They land in the session's identity map, where ``_agency`` and ``push_to_citizen`` find them
    without asking the database again, for as long as the caller holds the returned context (the
    identity map keeps unchanged objects only while something else refers to them).
    """
    contact, citizen, agency = session.exec(
        select(ContactUrn, Citizen, Agency)
        .join(Citizen, col(Citizen.id) == col(ContactUrn.citizen_id))
        .join(Agency, col(Agency.id) == complaint.agency_id)  # one row: no relation to the address needed
        .where(col(ContactUrn.id) == complaint.urn_id)
    ).one()
    return _PushContext(agency, contact, citizen)


def _event(
    session: Session, complaint: Complaint, kind: str, actor: Actor, note: str | None = None, **status
) -> ComplaintEvent:
    event = ComplaintEvent(
        complaint_id=complaint.id,
        kind=kind,
        actor_type=actor.kind,
        actor_officer_id=actor.officer.id if actor.officer else None,
        actor_open311_key_id=actor.open311_key_id,
        external_update_id=actor.reference,
        note=note,
        **status,
    )
    session.add(event)
    return event


def _lock(session: Session, complaint: Complaint, actor: Actor) -> Complaint:
    """The complaint as it is now, locked for this transaction; an officer must still be allowed on it.

    Checked again after the lock: it may have been rerouted to another agency meanwhile.
    """
    complaint = complaint_store.lock_complaint(session, complaint)
    if actor.officer is not None and not may_act_on(actor.officer, complaint):
        raise CaseworkError("not_found", desk_texts.not_in_queue(complaint.ticket))
    if actor.agency_ids is not None and complaint.agency_id not in actor.agency_ids:
        raise CaseworkError("not_found", desk_texts.not_in_queue(complaint.ticket))
    return complaint


def _touch(session: Session, complaint: Complaint) -> None:
    complaint.updated_at = utcnow()
    session.add(complaint)  # written with the next flush (the event, the messages) or at commit


# ---------------------------------------------------------------- filing


# What one message to an officer's address may cost in its channel's messages, whatever the citizen
# sent (the agency pays per SMS): 3 SMS hold a notification's facts and the start of the description;
# Telegram (4,096 characters) and WhatsApp (1,600) one message. A cut ends with where the rest is.
OFFICER_MESSAGE_PARTS = {"sms": 3, "whatsapp": 1, "telegram": 1}


def _send_to_officers(
    session: Session, complaint: Complaint, contacts: list[ContactUrn], text: str, kind: MessageKind | None
) -> None:
    """``send_to_contacts`` for a text a citizen can lengthen: each channel's copy cut to its parts."""
    by_channel: dict[str, list[ContactUrn]] = {}
    for contact in contacts:
        by_channel.setdefault(channel_of(contact.urn), []).append(contact)
    for channel, group in by_channel.items():
        cut = fit(channel, text, OFFICER_MESSAGE_PARTS.get(channel, 1), desk_texts.cut_tail(complaint))
        send_to_contacts(session, group, cut, complaint, kind)


def announce_new_complaint(session: Session, complaint: Complaint, *, rerouted_from: Agency | None = None) -> int:
    """Tell the agency's officers about a complaint just filed or re-routed (the reporter only when not anonymous).

    After a re-route, an address told of it before (the complaint is back) gets one line, not the
    whole notification again: re-routes back and forth cost one SMS each.
    """
    context = _load_for_push(session, complaint)  # the agency and the reporter's address, in one query
    contacts = officer_store.officer_contacts(session, complaint.agency_id, None)
    told = (  # the addresses told of it before a re-route brought it back
        message_store.addresses_sent(session, complaint.id, MessageKind.new_complaint.value) if rerouted_from else set()
    )
    fresh = [c for c in contacts if c.id not in told]
    if fresh:
        attachments = message_store.attachments_of_complaint(session, complaint.id)
        reporter = reporter_label(session, complaint, context.contact)
        links = {a.id: link for a in attachments if (link := services.media_link(a))}
        text = desk_texts.new_complaint(complaint, context.agency, attachments, reporter, links)
        _send_to_officers(session, complaint, fresh, text, MessageKind.new_complaint)
    if again := [c for c in contacts if c.id in told]:
        text = desk_texts.rerouted_back(complaint, context.agency, rerouted_from)
        _send_to_officers(session, complaint, again, text, MessageKind.new_complaint)
    return len(contacts)


# ---------------------------------------------------------------- status


def change_status(
    session: Session, complaint: Complaint, new_status: str, *, actor: Actor, note: str | None, today: date
) -> ComplaintEvent:
    """An officer's status change, with its deadlines, its event and the push to the citizen.

    ``note`` is public: it goes to the citizen and, masked of personal data, on the complaint's
    public page and keyless Open311 reads beside the status (the reason of a ``ditolak``, what was
    done for ``selesai``). A message for the citizen alone is ``reply_to_citizen``. Returns the
    recorded event (its ``public_note`` is what the public reads).
    """
    note = (note or "").strip() or None
    complaint = _lock(session, complaint, actor)  # a change at the same moment waits; we see its result
    old = complaint.status
    if new_status == old:
        raise CaseworkError("unchanged", desk_texts.already(complaint))
    if new_status not in OFFICER_TRANSITIONS.get(old, set()):
        raise CaseworkError("bad_transition", desk_texts.bad_transition(complaint, new_status))
    if new_status == Status.ditolak.value and not note:
        raise CaseworkError("reason_required", desk_texts.reason_required())
    context = _load_for_push(session, complaint)  # held until the push is written
    agency = context.agency
    now = utcnow()
    if old == Status.diterima.value:  # verified: the agency's clock starts
        complaint.followup_due = add_working_days(today, deadlines.FOLLOWUP_WORKING_DAYS)
        complaint.resolve_due = add_working_days(today, deadlines.resolve_days(complaint.category))
    if new_status in (Status.diproses.value, Status.selesai.value) and complaint.followed_up_at is None:
        complaint.followed_up_at = now
    if new_status == Status.selesai.value:
        complaint.resolved_at = now
    if new_status == Status.ditolak.value:
        complaint.closed_at = now
    complaint.status = new_status
    _touch(session, complaint)
    # the note goes to the citizen as written; the public reads show it masked (bot/public_page.py, Open311)
    public = public_text(note) if note and actor.kind in PUBLIC_NOTE_ACTORS else None  # masked once, here
    event = _event(session, complaint, "status", actor, note, public_note=public, from_status=old, to_status=new_status)
    kind = "resolution" if new_status == Status.selesai.value else "status"
    push_to_citizen(session, complaint, kind, lambda language: texts.status_push(complaint, agency, note, language))
    return event


def reply_to_citizen(session: Session, complaint: Complaint, *, actor: Actor, text: str) -> Complaint:
    """An officer's message to the reporter, through the bot: the officer never sees the address.

    Private: the citizen and the agency's officers read it, never a public read.
    """
    text = (text or "").strip()
    if not text:
        raise CaseworkError("empty", desk_texts.empty_reply())
    complaint = _lock(session, complaint, actor)
    if complaint.status not in deadlines.OPEN | {Status.selesai.value}:
        raise CaseworkError("closed", desk_texts.closed(complaint))
    context = _load_for_push(session, complaint)  # held until the push is written
    agency = context.agency
    if complaint.followed_up_at is None:
        complaint.followed_up_at = utcnow()
    _touch(session, complaint)
    _event(session, complaint, "reply", actor, text)
    push_to_citizen(session, complaint, "reply", lambda language: texts.officer_reply(complaint, agency, text, language))
    return complaint


def reroute(session: Session, complaint: Complaint, agency_code: str, *, actor: Actor, note: str | None, today: date) -> Agency:
    """Not our authority: the complaint moves to another agency, whose officers are told at once."""
    target = agency_store.get_agency_by_code(session, agency_code.strip().upper())
    if target is None:
        raise CaseworkError("unknown_agency", desk_texts.unknown_agency(agency_code))
    complaint = _lock(session, complaint, actor)
    if complaint.status not in deadlines.OPEN:
        raise CaseworkError("closed", desk_texts.closed(complaint))
    if target.id == complaint.agency_id:
        raise CaseworkError("unchanged", desk_texts.same_agency(target))
    source = _agency(session, complaint)
    complaint.agency_id = target.id
    if complaint.status != Status.diterima.value:  # the new agency gets its own follow-up time
        complaint.followup_due = add_working_days(today, deadlines.FOLLOWUP_WORKING_DAYS)
        complaint.followed_up_at = None
    _touch(session, complaint)
    _event(session, complaint, "rerouted", actor, desk_texts.reroute_note(source, target, note))
    announce_new_complaint(session, complaint, rerouted_from=source)
    push_to_citizen(session, complaint, "status", lambda language: texts.rerouted_push(complaint, target, language))
    return target


# ---------------------------------------------------------------- the citizen's side


def relay_citizen_answer(session: Session, complaint: Complaint, text: str) -> int:
    """The reporter's answer within an open thread: kept on the complaint, relayed to the agency."""
    complaint = complaint_store.lock_complaint(session, complaint)
    if complaint.status not in deadlines.OPEN | {Status.selesai.value}:  # closed meanwhile
        raise CaseworkError("closed", desk_texts.closed(complaint))
    _event(session, complaint, "citizen_reply", CITIZEN, text)
    _touch(session, complaint)
    # cut per channel (notify_officers): the whole answer is in the complaint's events (/tiket shows its start)
    return notify_officers(session, complaint, desk_texts.citizen_answer(complaint, text), kind=MessageKind.citizen_answer)


def record_feedback(session: Session, complaint: Complaint, *, resolved: bool, rating: int | None, comment: str | None) -> str:
    """The reporter's answer to "selesai": closes it (with a rating) or reopens it. Returns the new status."""
    complaint = complaint_store.lock_complaint(session, complaint)  # an officer or the clock at the same moment waits
    if complaint.status != Status.selesai.value:
        raise CaseworkError("not_resolved", desk_texts.closed(complaint))
    now = utcnow()
    if resolved:
        complaint.status, complaint.closed_at, complaint.rating = Status.ditutup.value, now, rating
        _event(session, complaint, "status", CITIZEN, comment, from_status="selesai", to_status="ditutup")
        if rating is not None:
            _event(session, complaint, "feedback", CITIZEN, f"nilai {rating}/5")
        notify_officers(session, complaint, desk_texts.confirmed(complaint, rating), kind=MessageKind.feedback)
    else:
        complaint.status, complaint.resolved_at = Status.diproses.value, None
        _event(session, complaint, "status", CITIZEN, comment or "dibuka kembali oleh pelapor",
               from_status="selesai", to_status="diproses")
        notify_officers(session, complaint, desk_texts.reopened(complaint, comment), kind=MessageKind.feedback)
    _touch(session, complaint)
    return complaint.status


# ---------------------------------------------------------------- the clock


@dataclass
class ClockReport:
    reminders: int = 0
    breaches: int = 0
    closed: int = 0


def local_today(complaint: Complaint, now: datetime) -> date:
    zone, _ = texts.timezone_of(complaint.province_code)
    return now.astimezone(zone).date()


def _previous_working_day(day: date) -> date:
    day -= timedelta(days=1)
    while not is_working_day(day):
        day -= timedelta(days=1)
    return day


def run_clock(session: Session, now: datetime) -> ClockReport:
    """Reminders one working day before a deadline, breaches after it, and silent "selesai" closed.

    Each reminder and breach is recorded once (deadline_alert), so the clock may run as often as
    it likes, on as many app instances as there are.
    """
    report = ClockReport()
    horizon = now.date() + timedelta(days=10)  # the previous working day is never further back than this
    for complaint in deadline_store.complaints_with_running_deadlines(session, horizon, deadlines.OPEN_DEADLINES):
        today = local_today(complaint, now)
        for deadline, due in deadlines.running_deadlines(complaint):
            if today > due:
                if deadline_store.record_alert(session, complaint.id, deadline, "breach", due):
                    _breach(session, complaint, deadline, due)
                    report.breaches += 1
            elif today >= _previous_working_day(due):
                if deadline_store.record_alert(session, complaint.id, deadline, "reminder", due):
                    notify_officers(
                        session, complaint, desk_texts.reminder(complaint, deadline, due), kind=MessageKind.reminder
                    )
                    report.reminders += 1
    for complaint in deadline_store.complaints_awaiting_confirmation(session, now - timedelta(days=CONFIRMATION_DAYS)):
        complaint.status, complaint.closed_at = Status.ditutup.value, now
        _touch(session, complaint)
        _event(session, complaint, "status", SYSTEM, "tidak ada jawaban pelapor dalam 14 hari",
               from_status="selesai", to_status="ditutup")
        agency = _agency(session, complaint)
        push_to_citizen(session, complaint, "status", lambda language, c=complaint, a=agency: texts.status_push(c, a, None, language))
        report.closed += 1
    return report


def _breach(session: Session, complaint: Complaint, deadline: str, due: date) -> None:
    _event(session, complaint, "breach", SYSTEM, desk_texts.breach_note(deadline, due))
    text = desk_texts.breach(complaint, deadline, due)
    told = notify_officers(session, complaint, text, (OfficerRole.supervisor,), kind=MessageKind.breach)
    if not told:  # an agency without a supervisor: the national administrators step in
        national = agency_store.national_queue(session)
        notify_officers(
            session, complaint, text, (OfficerRole.admin, OfficerRole.supervisor), agency_id=national.id,
            kind=MessageKind.breach,
        )
