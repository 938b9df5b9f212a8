"""Open311 API keys: the ``api_key`` an integration posts service requests with.

A key is a 256-bit random secret shown once (``o311_...``); only its SHA-256 is stored, with its
first characters to tell keys apart in listings. A key may be bound to agencies and places
(NULL: any). A name is taken while its key is live; a revoked key's name may be given again.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import Agency, Open311Key, utcnow
from storage.rows import aware

KEY_MARKER = "o311_"  # recognisable in a config file or a leaked log line
PREFIX_LENGTH = 12  # the marker and 7 random characters: enough to tell keys apart
NAME_MAX_LENGTH = 100
MAX_KEY_LENGTH = 128  # a longer api_key is no key of ours: refused before hashing
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often per key


class KeyNameTaken(ValueError):
    """A live (unrevoked) key already has this name."""

    def __init__(self, name: str) -> None:
        super().__init__(f"an Open311 key named {name!r} exists already (revoke it first to replace it)")
        self.name = name


def _hash_key(raw_key: str) -> str:
    # Keys are 256-bit random secrets, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def _joined(codes: Sequence[str] | None, what: str) -> str | None:
    """Codes as the column keeps them: stripped, de-duplicated, comma-separated; None for no binding."""
    if codes is None:
        return None
    cleaned = list(dict.fromkeys(code.strip() for code in codes))
    if not cleaned or any(not code or "," in code for code in cleaned):
        # an empty list must not silently become "any": that would widen what the key may do
        raise ValueError(f"{what}: give codes without commas, or None for any")
    return ",".join(cleaned)


def _split(codes: str | None) -> list[str] | None:
    return None if codes is None else [code for code in codes.split(",") if code]


def agencies_of(key: Open311Key) -> list[str] | None:
    """The agency codes the key is bound to; None: any agency."""
    return _split(key.agency_codes)


def regions_of(key: Open311Key) -> list[str] | None:
    """The Kemendagri codes (province "51", kab/kota "51.03") the key is bound to; None: anywhere."""
    return _split(key.region_codes)


def agency_ids_of(session: Session, key: Open311Key) -> frozenset[int]:
    """The ids of the agencies the key is bound to; empty for a key bound to none (or to codes that are gone)."""
    codes = agencies_of(key)
    if not codes:
        return frozenset()
    return frozenset(session.exec(select(Agency.id).where(col(Agency.code).in_(codes))).all())


def _live_key_named(session: Session, name: str) -> Open311Key | None:
    return session.exec(
        select(Open311Key).where(Open311Key.name == name, col(Open311Key.revoked_at).is_(None))
    ).first()


def add_key(
    session: Session, *, name: str, agency_codes: list[str] | None, region_codes: list[str] | None
) -> tuple[Open311Key, str]:
    """A new key for an integration; returns the row and the raw key, which is never stored.

    Raises ``KeyNameTaken`` when a live key has the name, ``ValueError`` for an empty or too long
    name or an empty binding list. Codes are stored as given: checking that they exist is the caller's.
    """
    name = name.strip()
    if not 1 <= len(name) <= NAME_MAX_LENGTH:
        raise ValueError(f"an Open311 key's name has 1 to {NAME_MAX_LENGTH} characters")
    agencies = _joined(agency_codes, "agency codes")
    regions = _joined(region_codes, "region codes")
    if _live_key_named(session, name) is not None:
        raise KeyNameTaken(name)
    raw_key = KEY_MARKER + secrets.token_urlsafe(32)
    key = Open311Key(
        name=name, key_hash=_hash_key(raw_key), prefix=raw_key[:PREFIX_LENGTH],
        agency_codes=agencies, region_codes=regions,
    )
    try:
        with session.begin_nested():  # another writer may take the name between the check and here
            session.add(key)
            session.flush()
    except IntegrityError:
        raise KeyNameTaken(name) from None
    return key, raw_key


def key_for(session: Session, raw_key: str, *, now: datetime) -> Open311Key | None:
    """The live key whose hash matches ``raw_key``, or None; notes its use at most once a minute.

    The look-up is by hash, so comparing takes no time that depends on the secret.
    """
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH:
        return None
    key = session.exec(
        select(Open311Key).where(Open311Key.key_hash == _hash_key(raw_key), col(Open311Key.revoked_at).is_(None))
    ).first()
    if key is None:
        return None
    if key.last_used_at is None or now - aware(key.last_used_at) >= LAST_USED_EVERY:
        key.last_used_at = now
        session.add(key)
    return key


def revoke_key(session: Session, name: str) -> Open311Key | None:
    """Revoke the live key of this name; returns it, or None when no live key has the name."""
    key = _live_key_named(session, name.strip())
    if key is None:
        return None
    key.revoked_at = utcnow()
    session.add(key)
    session.flush()
    return key


def list_keys(session: Session) -> list[Open311Key]:
    """Every key, revoked ones too, by name and then age."""
    return list(session.exec(select(Open311Key).order_by(col(Open311Key.name), col(Open311Key.id))).all())
