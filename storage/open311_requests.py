"""What the Open311 server reads: complaints as service requests, their events as updates, and the
updates an integration posted (by its own id, so a post sent again is not applied twice).

Plain reads taking a session; which complaints and which fields may be shown to whom is the
server's rule (bot/open311/), given here as parameters: whether confidential complaints are left
out, and which key's and agencies' complaints may be read in full.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import Agency, Attachment, Complaint, ComplaintEvent


@dataclass(frozen=True)
class Reader:
    """Whose confidential complaints a read may include: the key's own filings and its agencies'.

    The public (no key) reads none.
    """

    key_id: int | None = None
    agency_ids: frozenset[int] = frozenset()

    def confidential_clause(self):
        allowed = [col(Complaint.confidential).is_(False)]
        if self.key_id is not None:
            allowed.append(col(Complaint.open311_key_id) == self.key_id)
        if self.agency_ids:
            allowed.append(col(Complaint.agency_id).in_(sorted(self.agency_ids)))
        return or_(*allowed) if len(allowed) > 1 else allowed[0]


def requests_by_tickets(session: Session, tickets: Collection[str], reader: Reader) -> list[tuple[Complaint, Agency]]:
    """The complaints of these tickets (8 digits) the reader may see, newest first."""
    if not tickets:
        return []
    return [
        (complaint, agency)
        for complaint, agency in session.exec(
            select(Complaint, Agency)
            .join(Agency, col(Agency.id) == col(Complaint.agency_id))
            .where(col(Complaint.ticket).in_(sorted(tickets)), reader.confidential_clause())
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
        ).all()
    ]


def requests_between(
    session: Session,
    reader: Reader,
    *,
    start: datetime,
    end: datetime,
    categories: Collection[str] | None,
    statuses: Collection[str] | None,
    province_code: str | None,
    region_code: str | None,
    limit: int,
) -> list[tuple[Complaint, Agency]]:
    """Complaints filed in [start, end] matching the filters, newest first, at most ``limit``."""
    query = (
        select(Complaint, Agency)
        .join(Agency, col(Agency.id) == col(Complaint.agency_id))
        .where(col(Complaint.created_at) >= start, col(Complaint.created_at) <= end, reader.confidential_clause())
    )
    if categories is not None:
        query = query.where(col(Complaint.category).in_(sorted(categories)))
    if statuses is not None:
        query = query.where(col(Complaint.status).in_(sorted(statuses)))
    if province_code is not None:
        query = query.where(col(Complaint.province_code) == province_code)
    if region_code is not None:
        query = query.where(col(Complaint.region_code) == region_code)
    rows = session.exec(query.order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc()).limit(limit))
    return [(complaint, agency) for complaint, agency in rows.all()]


def links_of(session: Session, complaint_ids: Collection[int]) -> dict[int, str]:
    """The first media link an integration gave with each complaint (Open311 ``media_url``)."""
    if not complaint_ids:
        return {}
    rows = session.exec(
        select(Attachment.complaint_id, Attachment.url)
        .where(col(Attachment.complaint_id).in_(sorted(complaint_ids)), Attachment.kind == "link")
        .order_by(col(Attachment.id))
    ).all()
    links: dict[int, str] = {}
    for complaint_id, url in rows:
        links.setdefault(complaint_id, url)
    return links


def events_of(session: Session, complaint_ids: Collection[int], kinds: Collection[str]) -> list[ComplaintEvent]:
    """The events of these kinds of these complaints, oldest first."""
    if not complaint_ids:
        return []
    return list(
        session.exec(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id).in_(sorted(complaint_ids)), col(ComplaintEvent.kind).in_(sorted(kinds)))
            .order_by(col(ComplaintEvent.id))
        ).all()
    )


def latest_status_events(session: Session, complaint_ids: Collection[int]) -> dict[int, ComplaintEvent]:
    """The newest status change of each of these complaints (what its ``status_notes`` explain)."""
    if not complaint_ids:
        return {}
    newest = (
        select(func.max(ComplaintEvent.id))
        .where(col(ComplaintEvent.complaint_id).in_(sorted(complaint_ids)), ComplaintEvent.kind == "status")
        .group_by(col(ComplaintEvent.complaint_id))
    )
    rows = session.exec(select(ComplaintEvent).where(col(ComplaintEvent.id).in_(newest))).all()
    return {event.complaint_id: event for event in rows}


def updates_between(
    session: Session,
    reader: Reader,
    *,
    start: datetime,
    end: datetime,
    kinds: Collection[str],
    actor_types: Collection[str],
    limit: int,
) -> list[tuple[ComplaintEvent, Complaint, str | None]]:
    """Events of these kinds by these actors in [start, end], oldest first, each with its complaint
    and the complaint's status once the event had happened (a reply changes none: the one before)."""
    earlier = aliased(ComplaintEvent)
    status_then = (
        select(earlier.to_status)
        .where(
            col(earlier.complaint_id) == col(ComplaintEvent.complaint_id),
            col(earlier.to_status).is_not(None),
            col(earlier.id) <= col(ComplaintEvent.id),
        )
        .order_by(col(earlier.id).desc())
        .limit(1)
        .correlate(ComplaintEvent)
        .scalar_subquery()
    )
    rows = session.exec(
        select(ComplaintEvent, Complaint, status_then)
        .join(Complaint, col(Complaint.id) == col(ComplaintEvent.complaint_id))
        .where(
            col(ComplaintEvent.created_at) >= start,
            col(ComplaintEvent.created_at) <= end,
            col(ComplaintEvent.kind).in_(sorted(kinds)),
            col(ComplaintEvent.actor_type).in_(sorted(actor_types)),
            reader.confidential_clause(),
        )
        .order_by(col(ComplaintEvent.id))
        .limit(limit)
    ).all()
    return [(event, complaint, status) for event, complaint, status in rows]


def posted_update(session: Session, key_id: int, complaint_id: int, reference: str) -> ComplaintEvent | None:
    """The event an integration's update of this id (its ``update_id``) on this complaint became, if it
    was applied already (the same id on another complaint is another update)."""
    return session.exec(
        select(ComplaintEvent).where(
            ComplaintEvent.actor_open311_key_id == key_id,
            ComplaintEvent.complaint_id == complaint_id,
            ComplaintEvent.external_update_id == reference,
        )
    ).first()


def latest_event_by(session: Session, complaint_id: int, key_id: int) -> ComplaintEvent | None:
    """The newest event of a complaint an integration caused."""
    return session.exec(
        select(ComplaintEvent)
        .where(ComplaintEvent.complaint_id == complaint_id, ComplaintEvent.actor_open311_key_id == key_id)
        .order_by(col(ComplaintEvent.id).desc())
    ).first()
