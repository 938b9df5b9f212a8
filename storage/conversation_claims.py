"""Claims on conversations: which app instance runs a conversation's turns, for how long.

A webhook may reach any app instance, but a conversation's turns must run one at a time and in
order. The instance that runs them first claims the conversation's row (``contact_urn``) with one
conditional UPDATE: granted when nobody holds it or the holder's lease has run out. It renews the
lease while it works and gives the row back when done. Nothing stays open meanwhile (no
transaction, no connection held during a turn at Rasa), and a killed instance's claim simply runs
out. Each call is its own statement: callers own the transaction. Leases are granted and compared
by the database's clock, the one clock every instance shares (an instance's own may be off).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, update
from sqlmodel import Session, col

from storage.models import ContactUrn
from storage.rows import database_now


def claim(session: Session, urn_id: int, *, owner: str, lease: timedelta) -> bool:
    """Take the conversation for ``owner`` for ``lease`` from now; False if another holds it."""
    result = session.execute(
        update(ContactUrn)
        .where(
            col(ContactUrn.id) == urn_id,
            or_(col(ContactUrn.turn_owner).is_(None), col(ContactUrn.turn_lease_until) < database_now()),
        )
        .values(turn_owner=owner, turn_lease_until=database_now(lease))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def renew(session: Session, urn_id: int, *, owner: str, lease: timedelta) -> bool:
    """Extend ``owner``'s claim; False when it no longer holds it (it ran out and was taken)."""
    result = session.execute(
        update(ContactUrn)
        .where(col(ContactUrn.id) == urn_id, ContactUrn.turn_owner == owner)
        .values(turn_lease_until=database_now(lease))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def release(session: Session, urn_id: int, *, owner: str) -> bool:
    """Give the conversation back; False when ``owner`` did not hold it any more."""
    result = session.execute(
        update(ContactUrn)
        .where(col(ContactUrn.id) == urn_id, ContactUrn.turn_owner == owner)
        .values(turn_owner=None, turn_lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1
