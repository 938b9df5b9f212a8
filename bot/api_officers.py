"""Officers' administration under /api/v1/officers (admins only): list, deactivate, remove an address, revoke tokens.

The revocations of the CLI (``aduan officer deactivate``, ``urn --remove``, ``token --revoke``) for
operators who work through the API. An officer's addresses are shown redacted (scheme and last
digits) with an id to remove them by; tokens by their prefix only; PINs never (only whether one
is set). Included by bot/api.py, whose token check (``OfficerDep``) it uses.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from pydantic import BaseModel, Field
from sqlmodel import Session

from bot.api import OfficerDep, _admin, _tx
from channels.urns import redact_urn
from storage import officers as officer_store
from storage.models import Agency, Officer, OfficerRole

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/officers", tags=["officers"])
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # an id the store can hold (larger ones would fail the query)


class AddressOut(BaseModel):
    id: int
    address: str  # redacted: scheme and last digits only


class TokenOut(BaseModel):
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None


class OfficerOut(BaseModel):
    id: int
    name: str
    role: OfficerRole
    agency: str  # agency code
    active: bool
    pin_set: bool
    addresses: list[AddressOut]
    tokens: list[TokenOut]  # active tokens only


class Revocation(BaseModel):
    prefix: str | None = Field(
        default=None,
        min_length=6,
        max_length=16,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="revoke only the token starting with this (as the listing shows it); all when absent",
    )


class Revoked(BaseModel):
    revoked: int


def _out(session: Session, officer: Officer) -> OfficerOut:
    return OfficerOut(
        id=officer.id,
        name=officer.name,
        role=officer.role,
        agency=session.get(Agency, officer.agency_id).code,
        active=officer.active,
        pin_set=officer.pin_hash is not None,
        addresses=[AddressOut(id=row.id, address=redact_urn(row.urn)) for row in officer_store.urns_of_officer(session, officer.id)],
        tokens=[
            TokenOut(prefix=t.prefix, label=t.label, created_at=t.created_at, last_used_at=t.last_used_at)
            for t in officer_store.tokens_of_officer(session, officer.id)
            if t.revoked_at is None
        ],
    )


def _target(session: Session, officer_id: int) -> Officer:
    if not 0 < officer_id < 2**31:  # ids are PostgreSQL integers: a larger one names no one (and would fail the query)
        raise HTTPException(404, "no such officer")
    target = session.get(Officer, officer_id)
    if target is None:
        raise HTTPException(404, "no such officer")
    return target


@router.get("", response_model=list[OfficerOut])
async def officers(request: Request, officer: OfficerDep) -> list[OfficerOut]:
    """Every officer with their addresses (redacted), whether a PIN is set, and their active tokens' prefixes."""
    _admin(officer)
    return await _tx(request, lambda s: [_out(s, o) for o in officer_store.list_officers(s)])


async def _set_active(request: Request, admin: Officer, officer_id: int, active: bool) -> OfficerOut:
    _admin(admin)
    if officer_id == admin.id and not active:
        raise HTTPException(409, "an admin cannot deactivate themselves")

    def change(session: Session) -> OfficerOut:
        _target(session, officer_id)
        officer_store.set_officer_active(session, officer_id, active)
        return _out(session, _target(session, officer_id))

    result = await _tx(request, change)
    logger.info("officer %s %s by officer %s", officer_id, "reactivated" if active else "deactivated", admin.id)
    return result


@router.post("/{officer_id}/deactivate", response_model=OfficerOut)
async def deactivate(officer_id: RowId, request: Request, officer: OfficerDep) -> OfficerOut:
    """Their addresses are no longer officers' (messages from them go to the citizens' dialogue), their tokens are revoked."""
    return await _set_active(request, officer, officer_id, False)


@router.post("/{officer_id}/reactivate", response_model=OfficerOut)
async def reactivate(officer_id: RowId, request: Request, officer: OfficerDep) -> OfficerOut:
    """Undo a deactivation; revoked tokens stay revoked (issue a new one with the CLI)."""
    return await _set_active(request, officer, officer_id, True)


@router.delete("/{officer_id}/addresses/{address_id}", response_model=OfficerOut)
async def remove_address(officer_id: RowId, address_id: RowId, request: Request, officer: OfficerDep) -> OfficerOut:
    """The officer no longer works on this address (an `addresses[].id` of the listing)."""
    _admin(officer)

    def remove(session: Session) -> OfficerOut:
        target = _target(session, officer_id)
        row = next((r for r in officer_store.urns_of_officer(session, officer_id) if r.id == address_id), None)
        if row is None:
            raise HTTPException(404, "the officer has no such address")
        officer_store.remove_officer_urn(session, officer_id, row.urn)
        return _out(session, target)

    result = await _tx(request, remove)
    logger.info("address %s of officer %s removed by officer %s", address_id, officer_id, officer.id)
    return result


@router.post("/{officer_id}/tokens/revoke", response_model=Revoked)
async def revoke_tokens(officer_id: RowId, body: Revocation, request: Request, officer: OfficerDep) -> Revoked:
    """Revoke every active token of the officer, or the one whose prefix is given."""
    _admin(officer)

    def revoke(session: Session) -> int:
        _target(session, officer_id)
        return officer_store.revoke_tokens(session, officer_id, body.prefix)

    revoked = await _tx(request, revoke)
    if body.prefix is not None and not revoked:
        raise HTTPException(404, "no active token with that prefix")
    logger.info("%d token(s) of officer %s revoked by officer %s", revoked, officer_id, officer.id)
    return Revoked(revoked=revoked)
