"""Complaints under /api/v1/complaints: read one, list them, and an officer's actions on one.

An officer sees only the complaints of their agency (admins see all): another agency's ticket
does not exist for them (404). The actions (status, reply, reroute) are bot/casework.py's, the
same the chat commands run; the answer is the complaint as it is after the action.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from sqlmodel import Session

from bot import casework
from bot.api.deps import OfficerDep, SessionDep, send_after_commit
from bot.api.schemas import (
    ComplaintPage,
    ComplaintPublic,
    Reply,
    Reroute,
    StatusChange,
    StoredText,
    complaint_detail,
    complaint_summary,
)
from bot.casework import Actor, CaseworkError
from storage import complaints as complaint_store
from storage.models import Agency, Category, Complaint, Officer, OfficerRole, Status
from storage.tickets import InvalidTicket, parse_ticket

router = APIRouter(prefix="/complaints", tags=["complaints"])

# CaseworkError codes -> HTTP status (409 for the others: not allowed in the complaint's state); the
# officer-facing message is the detail
_ERROR_STATUS = {"not_found": 404, "unknown_agency": 422, "reason_required": 422, "empty": 422}


def _digits(ticket: str) -> str:
    try:
        return parse_ticket(ticket)
    except InvalidTicket:
        raise HTTPException(422, "not a valid ticket number (8 digits with a check digit)") from None


def _today(complaint: Complaint) -> date:
    return casework.local_today(complaint, datetime.now(timezone.utc))


def _act(session: Session, officer: Officer, ticket: str, action: Callable[[Complaint], Any]) -> ComplaintPublic:
    """Run an officer's action on a complaint of their agency; answers with the complaint as it is now."""
    digits = _digits(ticket)
    try:
        complaint = casework.complaint_for_officer(session, officer, digits)
        action(complaint)
        return complaint_detail(session, complaint)
    except CaseworkError as error:
        # raised before the commit: the transaction is rolled back, nothing changed
        raise HTTPException(_ERROR_STATUS.get(error.code, 409), {"code": error.code, "message": error.message}) from None


@router.get("/{ticket}", response_model=ComplaintPublic)
def get_complaint(ticket: str, session: SessionDep, officer: OfficerDep) -> ComplaintPublic:
    digits = _digits(ticket)
    try:
        # another agency's complaint does not exist for this officer
        return complaint_detail(session, casework.complaint_for_officer(session, officer, digits))
    except CaseworkError:
        raise HTTPException(404, "no such complaint") from None


@router.post("/{ticket}/status", response_model=ComplaintPublic, dependencies=[Depends(send_after_commit)])
def change_status(ticket: str, body: StatusChange, session: SessionDep, officer: OfficerDep) -> ComplaintPublic:
    """Change the status; the citizen is told on their channel. Errors: 409 (not allowed from the current status), 422 (ditolak without a reason)."""
    return _act(
        session, officer, ticket,
        lambda c: casework.change_status(session, c, body.status, actor=Actor.of(officer), note=body.note, today=_today(c)),
    )


@router.post("/{ticket}/replies", response_model=ComplaintPublic, dependencies=[Depends(send_after_commit)])
def reply(ticket: str, body: Reply, session: SessionDep, officer: OfficerDep) -> ComplaintPublic:
    """A message to the reporter, relayed by the bot (the reporter's address is never shown)."""
    return _act(session, officer, ticket, lambda c: casework.reply_to_citizen(session, c, actor=Actor.of(officer), text=body.text))


@router.post("/{ticket}/reroute", response_model=ComplaintPublic, dependencies=[Depends(send_after_commit)])
def reroute(ticket: str, body: Reroute, session: SessionDep, officer: OfficerDep) -> ComplaintPublic:
    """Not this agency's authority: move the complaint to another agency (its officers are notified)."""
    return _act(
        session, officer, ticket,
        lambda c: casework.reroute(session, c, body.agency, actor=Actor.of(officer), note=body.note, today=_today(c)),
    )


@router.get("", response_model=ComplaintPage)
def list_complaints(
    session: SessionDep,
    officer: OfficerDep,
    status: Status | None = None,
    agency: StoredText | None = Query(default=None, max_length=64, description="agency code"),
    category: Category | None = None,
    region_code: str | None = Query(default=None, pattern=r"^\d{2}\.\d{2}$"),
    page: int = Query(default=1, ge=1, le=1_000_000),
    page_size: int = Query(default=20, ge=1, le=100),
) -> ComplaintPage:
    filters = complaint_store.ComplaintFilter(
        status=status.value if status else None,
        agency_code=agency,
        category=category.value if category else None,
        region_code=region_code,
    )
    scope = None if officer.role == OfficerRole.admin.value else officer.agency_id
    # A long list is not counted to its end: `total` stops at LIST_COUNT_LIMIT (`total_capped`).
    found = complaint_store.page_of_complaints(
        session, filters, agency_scope=scope, page=page, page_size=page_size, count_limit=complaint_store.LIST_COUNT_LIMIT,
    )
    agencies = {agency_id: session.get(Agency, agency_id) for agency_id in {c.agency_id for c in found.items}}
    return ComplaintPage(
        items=[complaint_summary(c, agencies[c.agency_id]) for c in found.items],
        page=page,
        page_size=page_size,
        total=found.total,
        total_capped=found.total_capped,
    )
