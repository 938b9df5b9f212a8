"""Officers' administration under /api/v1/officers (admins only): list, deactivate, remove an address, revoke tokens.

The revocations of the CLI (``aduan officer deactivate``, ``urn --remove``, ``token --revoke``) for
operators who work through the API: both call bot/administration.py. An officer's addresses are
shown redacted (scheme and last digits) with an id to remove them by; tokens by their prefix
only; PINs never (only whether one is set).
"""

from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Path
from sqlmodel import Session

from bot import administration
from bot.api.deps import AdminDep, SessionDep, administration_refusals
from bot.api.schemas import OfficerPublic, Revocation, Revoked, officer_view
from storage import officers as officer_store
from storage.models import Officer

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/officers", tags=["officers"])
# an id the store can hold (larger ones would fail the query)
RowId = Annotated[int, Path(ge=1, le=administration.LARGEST_ROW_ID)]


@router.get("", response_model=list[OfficerPublic])
def officers(session: SessionDep, admin: AdminDep) -> list[OfficerPublic]:
    """Every officer with their addresses (redacted), whether a PIN is set, and their active tokens' prefixes."""
    return [officer_view(session, officer) for officer in officer_store.list_officers(session)]


def _set_active(session: Session, admin: Officer, officer_id: int, active: bool) -> OfficerPublic:
    with administration_refusals():
        administration.set_officer_active(session, officer_id, active, by=admin)
        changed = officer_view(session, administration.officer_by_id(session, officer_id))
    logger.info("officer %s %s by officer %s", officer_id, "reactivated" if active else "deactivated", admin.id)
    return changed


@router.post("/{officer_id}/deactivate", response_model=OfficerPublic)
def deactivate(officer_id: RowId, session: SessionDep, admin: AdminDep) -> OfficerPublic:
    """Their addresses are no longer officers' (messages from them go to the citizens' dialogue), their tokens are revoked."""
    return _set_active(session, admin, officer_id, False)


@router.post("/{officer_id}/reactivate", response_model=OfficerPublic)
def reactivate(officer_id: RowId, session: SessionDep, admin: AdminDep) -> OfficerPublic:
    """Undo a deactivation; revoked tokens stay revoked (issue a new one with the CLI)."""
    return _set_active(session, admin, officer_id, True)


@router.delete("/{officer_id}/addresses/{address_id}", response_model=OfficerPublic)
def remove_address(officer_id: RowId, address_id: RowId, session: SessionDep, admin: AdminDep) -> OfficerPublic:
    """The officer no longer works on this address (an `addresses[].id` of the listing)."""
    with administration_refusals():
        administration.remove_officer_address(session, officer_id, address_id=address_id)
        changed = officer_view(session, administration.officer_by_id(session, officer_id))
    logger.info("address %s of officer %s removed by officer %s", address_id, officer_id, admin.id)
    return changed


@router.post("/{officer_id}/tokens/revoke", response_model=Revoked)
def revoke_tokens(officer_id: RowId, body: Revocation, session: SessionDep, admin: AdminDep) -> Revoked:
    """Revoke every active token of the officer, or the one whose prefix is given."""
    with administration_refusals():
        revoked = administration.revoke_tokens(session, officer_id, body.prefix)
    logger.info("%d token(s) of officer %s revoked by officer %s", revoked, officer_id, admin.id)
    return Revoked(revoked=revoked)
