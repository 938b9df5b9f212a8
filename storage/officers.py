"""Officers: their addresses, PINs and API tokens.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from storage.contacts import get_or_create_urn
from storage.models import (
    ApiToken,
    ContactUrn,
    Officer,
    OfficerRole,
    OfficerUrn,
    utcnow,
)
from storage.rows import NotFound, aware


def create_officer(session: Session, *, name: str, agency_id: int, role: OfficerRole) -> Officer:
    officer = Officer(name=name, agency_id=agency_id, role=role.value)
    session.add(officer)
    session.flush()
    return officer


def add_officer_urn(session: Session, officer_id: int, urn: str) -> OfficerUrn:
    """Let an officer work on an address; an address belongs to one officer, and never to a citizen's dialogue."""
    row = OfficerUrn(officer_id=officer_id, urn=urn)
    session.add(row)
    session.flush()
    return row


def officer_urn_taken(session: Session, urn: str) -> bool:
    return session.exec(select(OfficerUrn.id).where(OfficerUrn.urn == urn)).first() is not None


def remove_officer_urn(session: Session, officer_id: int, urn: str) -> bool:
    """The officer no longer works on this address (its messages go to the citizens' dialogue again)."""
    result = session.execute(
        delete(OfficerUrn).where(col(OfficerUrn.officer_id) == officer_id, col(OfficerUrn.urn) == urn)
    )
    return result.rowcount > 0


def urns_of_officer(session: Session, officer_id: int) -> list[OfficerUrn]:
    return list(
        session.exec(select(OfficerUrn).where(OfficerUrn.officer_id == officer_id).order_by(col(OfficerUrn.urn))).all()
    )


def list_officers(session: Session) -> list[Officer]:
    return list(session.exec(select(Officer).order_by(col(Officer.id))).all())


def set_officer_active(session: Session, officer_id: int, active: bool) -> int:
    """Deactivate (or reactivate) an officer; deactivating revokes every token. Returns the tokens revoked.

    An inactive officer's addresses are no longer officers' (officer_of_urn) and get no notifications.
    """
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise NotFound(f"no officer with id {officer_id}")
    officer.active = active
    session.add(officer)
    session.flush()
    return 0 if active else revoke_tokens(session, officer_id)


def _active_officer_on(session: Session, urn: str) -> Officer | None:
    return session.exec(
        select(Officer)
        .join(OfficerUrn, col(OfficerUrn.officer_id) == col(Officer.id))
        .where(OfficerUrn.urn == urn, col(Officer.active).is_(True))
    ).first()


def officer_of_address(session: Session, urn: str) -> Officer | None:
    """The officer (active or not) who works on this address, if any."""
    return session.exec(
        select(Officer).join(OfficerUrn, col(OfficerUrn.officer_id) == col(Officer.id)).where(OfficerUrn.urn == urn)
    ).first()


def set_officer_pin(session: Session, officer_id: int, pin_hash: str | None) -> None:
    """Set (or, with None, remove) an officer's PIN hash; wrong PINs counted so far and any lock are cleared."""
    session.execute(
        update(Officer)
        .where(col(Officer.id) == officer_id)
        .values(pin_hash=pin_hash, pin_failures=0, pin_locked_until=None)
    )


def pin_locked(officer: Officer, now: datetime) -> bool:
    return officer.pin_locked_until is not None and aware(officer.pin_locked_until) > now


def record_pin_failure(session: Session, officer_id: int, now: datetime, *, limit: int, lock: timedelta) -> int:
    """Count a wrong PIN; returns how many more are allowed. At ``limit`` in a row (0 left) the officer
    is locked out for ``lock`` and the count starts again.

    The count is one atomic UPDATE, so wrong PINs arriving together on two app instances are all counted.
    """
    failures = session.execute(
        update(Officer)
        .where(col(Officer.id) == officer_id)
        .values(pin_failures=col(Officer.pin_failures) + 1)
        .returning(col(Officer.pin_failures))
    ).scalar_one()
    if failures < limit:
        return limit - failures
    session.execute(
        update(Officer).where(col(Officer.id) == officer_id).values(pin_failures=0, pin_locked_until=now + lock)
    )
    return 0


def clear_pin_failures(session: Session, officer_id: int) -> None:
    session.execute(
        update(Officer).where(col(Officer.id) == officer_id, col(Officer.pin_failures) > 0).values(pin_failures=0)
    )


def officer_of_urn(session: Session, urn_id: int) -> Officer | None:
    """The active officer who works on this address (by its contact row), if any."""
    contact = session.get(ContactUrn, urn_id)
    return None if contact is None else _active_officer_on(session, contact.urn)


def officer_contacts(session: Session, agency_id: int, roles: Sequence[OfficerRole] | None = None) -> list[ContactUrn]:
    """The addresses of an agency's active officers (of these roles), as contact rows, by address.

    One query for the addresses and their rows; a row is made for an address that has none yet.
    """
    query = (
        select(OfficerUrn.urn, ContactUrn)
        .join(Officer, col(Officer.id) == col(OfficerUrn.officer_id))
        .outerjoin(ContactUrn, col(ContactUrn.urn) == col(OfficerUrn.urn))
        .where(Officer.agency_id == agency_id, col(Officer.active).is_(True))
    )
    if roles is not None:
        query = query.where(col(Officer.role).in_([r.value for r in roles]))
    found = dict(session.exec(query).all())
    return [found[urn] if found[urn] is not None else get_or_create_urn(session, urn) for urn in sorted(found)]


def _hash_token(token: str) -> str:
    # Tokens are 256-bit random secrets, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, officer_id: int, label: str | None = None) -> str:
    """A new bearer token for an officer; the plain text is returned once and never stored."""
    token = "adn_" + secrets.token_urlsafe(32)
    session.add(ApiToken(officer_id=officer_id, token_hash=_hash_token(token), prefix=token[:10], label=label))
    session.flush()
    return token


def authenticate_token(session: Session, token: str) -> Officer | None:
    api_token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), col(ApiToken.revoked_at).is_(None))
    ).first()
    if api_token is None:
        return None
    officer = session.get(Officer, api_token.officer_id)
    if officer is None or not officer.active:
        return None
    api_token.last_used_at = utcnow()
    session.add(api_token)
    return officer


def revoke_tokens(session: Session, officer_id: int, prefix: str | None = None) -> int:
    """Revoke an officer's tokens (those whose prefix starts with ``prefix``, or all); returns how many."""
    query = update(ApiToken).where(col(ApiToken.officer_id) == officer_id, col(ApiToken.revoked_at).is_(None))
    if prefix is not None:
        query = query.where(col(ApiToken.prefix).startswith(prefix, autoescape=True))
    return session.execute(query.values(revoked_at=utcnow())).rowcount


def tokens_of_officer(session: Session, officer_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.officer_id == officer_id).order_by(col(ApiToken.id))).all())
