"""What the public ticket page reads: a complaint with its agency, and the events of chosen kinds.

Plain reads taking a session; which kinds and which fields may be published is the page's rule
(bot/public_page.py), not this module's.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlmodel import Session, col, select

from storage.models import Agency, Complaint, ComplaintEvent


def complaint_with_agency(session: Session, ticket: str) -> tuple[Complaint, Agency] | None:
    """The complaint of this ticket (8 digits) and the agency that holds it, in one query."""
    row = session.exec(
        select(Complaint, Agency)
        .join(Agency, col(Agency.id) == col(Complaint.agency_id))
        .where(col(Complaint.ticket) == ticket)
    ).first()
    return (row[0], row[1]) if row is not None else None


def events_of_kinds(session: Session, complaint_id: int, kinds: Collection[str]) -> list[ComplaintEvent]:
    """The complaint's events of these kinds, oldest first."""
    return list(
        session.exec(
            select(ComplaintEvent)
            .where(col(ComplaintEvent.complaint_id) == complaint_id, col(ComplaintEvent.kind).in_(sorted(kinds)))
            .order_by(col(ComplaintEvent.id))
        ).all()
    )
