"""Citizens and their addresses (URNs): first contact, language, reachability.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import (
    Citizen,
    ContactUrn,
    utcnow,
)
from storage.rows import insert_unless_exists


def get_urn(session: Session, urn: str) -> ContactUrn | None:
    return session.exec(select(ContactUrn).where(ContactUrn.urn == urn)).first()


def get_or_create_urn(session: Session, urn: str) -> ContactUrn:
    """The URN's row, creating it (and a new citizen) on first contact."""
    existing = get_urn(session, urn)
    if existing:
        return existing
    scheme = urn.partition(":")[0]  # a URN checked at the door (channels.urns)
    citizen = Citizen()
    session.add(citizen)
    session.flush()
    contact = insert_unless_exists(session, ContactUrn(urn=urn, scheme=scheme, citizen_id=citizen.id), "urn")
    if contact is not None:
        return contact
    # Another writer created it between our read and our insert: theirs stands, our citizen goes.
    session.expunge(citizen)
    session.exec(delete(Citizen).where(col(Citizen.id) == citizen.id))
    found = get_urn(session, urn)
    if found is None:
        raise IntegrityError("INSERT INTO contact_urn", {"urn": urn}, Exception("the URN vanished after a clash"))
    return found


def citizen_language(session: Session, urn_id: int) -> str:
    contact = session.get(ContactUrn, urn_id)
    citizen = session.get(Citizen, contact.citizen_id)
    return citizen.language


def set_citizen_language(session: Session, urn_id: int, language: str) -> None:
    contact = session.get(ContactUrn, urn_id)
    citizen = session.get(Citizen, contact.citizen_id)
    citizen.language = language
    session.add(citizen)
    session.flush()


def mark_urn_unreachable(session: Session, urn: str) -> None:
    """The provider says this address is gone (blocked the bot, replied STOP): stop sending to it.

    Until the address is heard from again (``mark_urn_reachable``).
    """
    session.execute(
        update(ContactUrn).where(col(ContactUrn.urn) == urn, col(ContactUrn.unreachable_at).is_(None)).values(
            unreachable_at=utcnow()
        )
    )


def mark_urn_reachable(session: Session, urn: str) -> bool:
    """The address is back (a new message from it, START, a Telegram user who unblocked the bot); True if it was gone.

    Should it still be gone, the provider says so on the next send and it is marked again.
    """
    result = session.execute(
        update(ContactUrn)
        .where(col(ContactUrn.urn) == urn, col(ContactUrn.unreachable_at).is_not(None))
        .values(unreachable_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount > 0
