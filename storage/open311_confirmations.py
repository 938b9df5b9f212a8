"""Phone numbers an Open311 request named, waiting for their owner's YA (bot/open311/confirmation.py).

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.models import Complaint, ContactUrn, Direction, Message, Open311Confirmation


def add_confirmation(
    session: Session, *, complaint_id: int, urn_id: int, message_id: int | None, expires_at: datetime
) -> Open311Confirmation:
    confirmation = Open311Confirmation(
        complaint_id=complaint_id, urn_id=urn_id, message_id=message_id, expires_at=expires_at
    )
    session.add(confirmation)
    session.flush()
    return confirmation


def asked_since(session: Session, urn_id: int, since: datetime) -> bool:
    """Whether this address was sent an ask since then (by any key).

    The address's row is locked first (PostgreSQL; SQLite's transactions are serial already), so
    two requests naming one number at once ask it once.
    """
    session.exec(select(ContactUrn.id).where(ContactUrn.id == urn_id).with_for_update()).first()
    return session.exec(
        select(Open311Confirmation.id).where(
            Open311Confirmation.urn_id == urn_id,
            col(Open311Confirmation.message_id).is_not(None),
            col(Open311Confirmation.created_at) >= since,
        ).limit(1)
    ).first() is not None


def pending(session: Session, urn_id: int, now: datetime) -> list[tuple[Open311Confirmation, str]]:
    """The address's asks not yet answered nor expired, oldest first, each with its complaint's ticket."""
    rows = session.exec(
        select(Open311Confirmation, Complaint.ticket)
        .join(Complaint, col(Complaint.id) == Open311Confirmation.complaint_id)
        .where(
            Open311Confirmation.urn_id == urn_id,
            col(Open311Confirmation.confirmed_at).is_(None),
            col(Open311Confirmation.expires_at) > now,
        )
        .order_by(col(Open311Confirmation.id))
    ).all()
    return [(confirmation, ticket) for confirmation, ticket in rows]


def last_outbound_id(session: Session, urn_id: int) -> int | None:
    """The id of the last message queued to this address (``ix_message_urn_direction``)."""
    return session.exec(
        select(func.max(Message.id)).where(Message.urn_id == urn_id, Message.direction == Direction.outbound.value)
    ).one()


def confirm(session: Session, confirmation_id: int, now: datetime) -> bool:
    """Use the ask once: True for the one caller that marks it answered (a second instance gets False)."""
    result = session.execute(
        update(Open311Confirmation)
        .where(
            col(Open311Confirmation.id) == confirmation_id,
            col(Open311Confirmation.confirmed_at).is_(None),
            col(Open311Confirmation.expires_at) > now,
        )
        .values(confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def set_reporter(session: Session, complaint: Complaint, *, urn_id: int, citizen_id: int) -> None:
    """The complaint's reporter becomes this address (and its citizen); its status and dates stay."""
    complaint.urn_id, complaint.citizen_id = urn_id, citizen_id
    session.add(complaint)
    session.flush()
