"""Shared helpers for the "officers in the loop" tests (issue #5): a small world of agencies,
officers and their addresses, filing, officer messages, and a snapshot of everything a change writes.

The world, routed by category in Kabupaten Sleman (34.04):

- PUPR-3404 (infrastruktur): an officer on two addresses, a supervisor, and an inactive officer;
- DLH-3404 (lingkungan): one officer, no supervisor;
- NASIONAL (from the migrations): a national admin, and what matches no rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot import filing, pins
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import messages as message_store
from storage import officers as officer_store
from storage.models import (
    Category,
    Complaint,
    ComplaintEvent,
    DeadlineAlert,
    DialoguePush,
    Direction,
    Message,
    Officer,
    OfficerRole,
    OutboxItem,
)

CITIZEN_URN = "sim-sms:+6281234567890"
CITIZEN_DIGITS = "81234567890"  # what of the reporter's number may never show to officers (anonymous)
OTHER_CITIZEN_URN = "sim-whatsapp:+6285711112222"

PUPR_NAME = "Dinas Pekerjaan Umum Kabupaten Sleman"
DLH_NAME = "Dinas Lingkungan Hidup Kabupaten Sleman"

PUPR_OFFICER_URN = "sim-telegram:1001"
PUPR_OFFICER_URN_2 = "sim-whatsapp:+6281300000001"
PUPR_SUPERVISOR_URN = "sim-telegram:1002"
PUPR_INACTIVE_URN = "sim-telegram:1009"
DLH_OFFICER_URN = "sim-telegram:2001"
NATIONAL_ADMIN_URN = "sim-telegram:9001"
OFFICER_URNS = (
    PUPR_OFFICER_URN, PUPR_OFFICER_URN_2, PUPR_SUPERVISOR_URN, PUPR_INACTIVE_URN, DLH_OFFICER_URN, NATIONAL_ADMIN_URN,
)

FILED_ON = date(2026, 11, 27)  # a Friday: verification due Wednesday 2 Dec 2026


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@dataclass(frozen=True)
class World:
    pupr_id: int
    dlh_id: int
    national_id: int
    pupr_officer_id: int
    pupr_supervisor_id: int
    pupr_inactive_id: int
    dlh_officer_id: int
    national_admin_id: int


OFFICER_NAME = "Budi Santoso"


def officer(session: Session, *, agency_id: int, role: OfficerRole, urns: tuple[str, ...], name: str = "Petugas") -> Officer:
    row = officer_store.create_officer(session, name=name, agency_id=agency_id, role=role)
    for urn in urns:
        officer_store.add_officer_urn(session, row.id, urn)
    return row


def build_world(session: Session) -> World:
    pupr = agency_store.create_agency(session, code="PUPR-3404", name=PUPR_NAME, region_code="34.04")
    dlh = agency_store.create_agency(session, code="DLH-3404", name=DLH_NAME, region_code="34.04")
    national = agency_store.national_queue(session)
    agency_store.set_routing_rule(session, agency_id=pupr.id, category="infrastruktur", region_code="34.04")
    agency_store.set_routing_rule(session, agency_id=dlh.id, category="lingkungan", region_code="34.04")
    pupr_officer = officer(
        session, agency_id=pupr.id, role=OfficerRole.officer, urns=(PUPR_OFFICER_URN, PUPR_OFFICER_URN_2),
        name=OFFICER_NAME,
    )
    pupr_supervisor = officer(session, agency_id=pupr.id, role=OfficerRole.supervisor, urns=(PUPR_SUPERVISOR_URN,))
    inactive = officer(session, agency_id=pupr.id, role=OfficerRole.supervisor, urns=(PUPR_INACTIVE_URN,))
    inactive.active = False
    session.add(inactive)
    dlh_officer = officer(session, agency_id=dlh.id, role=OfficerRole.officer, urns=(DLH_OFFICER_URN,))
    admin = officer(session, agency_id=national.id, role=OfficerRole.admin, urns=(NATIONAL_ADMIN_URN,))
    session.flush()
    return World(
        pupr_id=pupr.id,
        dlh_id=dlh.id,
        national_id=national.id,
        pupr_officer_id=pupr_officer.id,
        pupr_supervisor_id=pupr_supervisor.id,
        pupr_inactive_id=inactive.id,
        dlh_officer_id=dlh_officer.id,
        national_admin_id=admin.id,
    )


def new_complaint(urn: str = CITIZEN_URN, **overrides) -> complaint_store.NewComplaint:
    fields = dict(
        urn=urn,
        channel="sms",
        description="Jalan berlubang besar di depan pasar Mlati",
        category=Category.infrastruktur,
        province_code="34",
        region_code="34.04",
        district_code="34.04.06",
        address="Jl. Kebon Agung km 3",
        anonymous=False,
    )
    fields.update(overrides)
    return complaint_store.NewComplaint(**fields)


def file(session: Session, urn: str = CITIZEN_URN, today: date = FILED_ON, **overrides) -> Complaint:
    return filing.file_complaint(session, new_complaint(urn, **overrides), today=today)


def inbound(session: Session, urn: str, text: str, reply_to_id: int | None = None) -> Message:
    """A message from an address (an officer's), as the gateway stores it, optionally replying to a bot message."""
    message, _ = pins.record_inbound(
        session, urn=urn, channel=urn.split(":")[0].removeprefix("sim-"), provider="simulator", text=text
    )
    if reply_to_id is not None:
        message.reply_to_id = reply_to_id
        session.add(message)
        session.flush()
    return message


def outbound(session: Session, urn: str) -> list[Message]:
    return message_store.messages_for_urn(session, urn, Direction.outbound)


def outbound_text(session: Session, urn: str) -> str:
    """Everything queued for an address, joined (a long SMS is split in parts between words)."""
    return " ".join(m.text for m in outbound(session, urn))


def officer_facing_texts(session: Session) -> list[str]:
    return [m.text for urn in OFFICER_URNS for m in outbound(session, urn)]


def events(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return complaint_store.complaint_history(session, complaint_id)


def pushes(session: Session, urn: str = CITIZEN_URN) -> list[tuple[str, dict]]:
    contact = contact_store.get_urn(session, urn)
    rows = session.exec(select(DialoguePush).where(DialoguePush.urn_id == contact.id).order_by(col(DialoguePush.id))).all()
    return [(p.intent, json.loads(p.entities)) for p in rows]


def alerts(session: Session, complaint_id: int) -> list[tuple[str, str]]:
    rows = session.exec(
        select(DeadlineAlert).where(DeadlineAlert.complaint_id == complaint_id).order_by(col(DeadlineAlert.id))
    ).all()
    return [(a.deadline, a.kind) for a in rows]


def _count(session: Session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def snapshot(session: Session, ticket: str) -> dict:
    """Everything a change of this complaint could write: compared before and after a refused request."""
    session.expire_all()
    complaint = complaint_store.get_complaint(session, ticket)
    return {
        "status": complaint.status,
        "agency_id": complaint.agency_id,
        "followup_due": complaint.followup_due,
        "resolve_due": complaint.resolve_due,
        "followed_up_at": complaint.followed_up_at,
        "closed_at": complaint.closed_at,
        "events": [(e.kind, e.to_status, e.actor_type) for e in events(session, complaint.id)],
        "outbound_messages": session.exec(
            select(func.count()).select_from(Message).where(Message.direction == Direction.outbound.value)
        ).one(),
        "outbox": _count(session, OutboxItem),
        "dialogue_pushes": _count(session, DialoguePush),
        "alerts": _count(session, DeadlineAlert),
    }
