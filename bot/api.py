"""The officers' REST API under /api/v1 (DESIGN.md section 4): thin routes over repository functions.

Bearer tokens are issued per officer by the CLI (``aduan officer token``). An officer sees only
the complaints of the agency (admins see all), and a reporter's identity only when the
reporter did not ask to be anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlmodel import Session

from channels.urns import redact_urn
from storage import repository
from storage.db import in_transaction
from storage.models import Agency, Category, Complaint, ContactUrn, Officer, OfficerRole, Status
from storage.tickets import InvalidTicket, format_ticket, parse_ticket

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["complaints"])
_bearer = HTTPBearer(auto_error=False, description="Officer token issued by `aduan officer token`")


async def _tx(request: Request, work: Callable[[Session], T]) -> T:
    return await in_transaction(request.app.state.engine, work)


async def current_officer(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Officer:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    officer = await _tx(request, lambda s: repository.authenticate_token(s, credentials.credentials))
    if officer is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return officer


OfficerDep = Annotated[Officer, Depends(current_officer)]


def _scope(officer: Officer) -> int | None:
    return None if officer.role == OfficerRole.admin.value else officer.agency_id


# ---------------------------------------------------------------- response shapes


class AgencyPublic(BaseModel):
    code: str
    name: str


class Deadlines(BaseModel):
    verify_due: date | None
    followup_due: date | None
    resolve_due: date | None


class EventPublic(BaseModel):
    kind: str
    from_status: str | None
    to_status: str | None
    actor_type: str
    note: str | None
    created_at: datetime


class Reporter(BaseModel):
    urn: str


class ComplaintSummary(BaseModel):
    ticket: str
    ticket_display: str
    status: Status
    category: Category
    region_code: str | None
    district_code: str | None
    agency: AgencyPublic
    channel: str
    anonymous: bool
    created_at: datetime


class ComplaintPublic(ComplaintSummary):
    secondary_category: Category | None
    province_code: str | None
    address: str | None
    description: str
    confidential: bool
    language: str
    updated_at: datetime
    deadlines: Deadlines
    reporter: Reporter | None  # None when the reporter is anonymous
    history: list[EventPublic]


class ComplaintPage(BaseModel):
    items: list[ComplaintSummary]
    page: int
    page_size: int
    total: int


def _summary_fields(complaint: Complaint, agency: Agency) -> dict[str, Any]:
    return {
        "ticket": complaint.ticket,
        "ticket_display": format_ticket(complaint.ticket),
        "status": complaint.status,
        "category": complaint.category,
        "region_code": complaint.region_code,
        "district_code": complaint.district_code,
        "agency": AgencyPublic(code=agency.code, name=agency.name),
        "channel": complaint.channel,
        "anonymous": complaint.anonymous,
        "created_at": complaint.created_at,
    }


def _detail(session: Session, complaint: Complaint) -> ComplaintPublic:
    agency = session.get(Agency, complaint.agency_id)
    reporter = None
    if not complaint.anonymous:
        contact = session.get(ContactUrn, complaint.urn_id)
        reporter = Reporter(urn=contact.urn)
    return ComplaintPublic(
        **_summary_fields(complaint, agency),
        secondary_category=complaint.secondary_category,
        province_code=complaint.province_code,
        address=complaint.address,
        description=complaint.description,
        confidential=complaint.confidential,
        language=complaint.language,
        updated_at=complaint.updated_at,
        deadlines=Deadlines(
            verify_due=complaint.verify_due, followup_due=complaint.followup_due, resolve_due=complaint.resolve_due
        ),
        reporter=reporter,
        history=[
            EventPublic(
                kind=e.kind,
                from_status=e.from_status,
                to_status=e.to_status,
                actor_type=e.actor_type,
                note=e.note,
                created_at=e.created_at,
            )
            for e in repository.complaint_history(session, complaint.id)
        ],
    )


# ---------------------------------------------------------------- routes


@router.get("/complaints/{ticket}", response_model=ComplaintPublic)
async def get_complaint(ticket: str, request: Request, officer: OfficerDep) -> ComplaintPublic:
    try:
        digits = parse_ticket(ticket)
    except InvalidTicket:
        raise HTTPException(422, "not a valid ticket number (8 digits with a check digit)") from None
    scope = _scope(officer)

    def load(session: Session) -> ComplaintPublic | None:
        complaint = repository.get_complaint(session, digits)
        if complaint is None or (scope is not None and complaint.agency_id != scope):
            return None  # another agency's complaint does not exist for this officer
        return _detail(session, complaint)

    found = await _tx(request, load)
    if found is None:
        raise HTTPException(404, "no such complaint")
    return found


@router.get("/complaints", response_model=ComplaintPage)
async def list_complaints(
    request: Request,
    officer: OfficerDep,
    status: Status | None = None,
    agency: str | None = Query(default=None, description="agency code"),
    category: Category | None = None,
    region_code: str | None = Query(default=None, pattern=r"^\d{2}\.\d{2}$"),
    page: int = Query(default=1, ge=1),
    page_size: int = Query(default=20, ge=1, le=100),
) -> ComplaintPage:
    filters = repository.ComplaintFilter(
        status=status.value if status else None,
        agency_code=agency,
        category=category.value if category else None,
        region_code=region_code,
    )
    scope = _scope(officer)

    def load(session: Session) -> ComplaintPage:
        items, total = repository.list_complaints(session, filters, agency_scope=scope, page=page, page_size=page_size)
        agencies = {a_id: session.get(Agency, a_id) for a_id in {c.agency_id for c in items}}
        return ComplaintPage(
            items=[ComplaintSummary(**_summary_fields(c, agencies[c.agency_id])) for c in items],
            page=page,
            page_size=page_size,
            total=total,
        )

    return await _tx(request, load)


# ---------------------------------------------------------------- deliveries (operators)


class FailedDelivery(BaseModel):
    message_id: int
    channel: str
    provider: str
    address: str  # redacted: scheme and last digits only
    error: str | None
    attempts: int
    ticket: str | None
    updated_at: datetime


@router.get("/deliveries/failed", response_model=list[FailedDelivery], tags=["operations"])
async def failed_deliveries(
    request: Request, officer: OfficerDep, limit: int = Query(default=50, ge=1, le=500)
) -> list[FailedDelivery]:
    """Outgoing messages that never arrived (permanent errors, undelivered, too many attempts). Admins only."""
    if officer.role != OfficerRole.admin.value:
        raise HTTPException(403, "admins only")

    def load(session: Session) -> list[FailedDelivery]:
        rows = repository.failed_deliveries(session, limit=limit)
        out = []
        for message, contact in rows:
            complaint = session.get(Complaint, message.complaint_id) if message.complaint_id else None
            out.append(
                FailedDelivery(
                    message_id=message.id,
                    channel=message.channel,
                    provider=message.provider,
                    address=redact_urn(contact.urn),
                    error=message.error,
                    attempts=message.attempts,
                    ticket=complaint.ticket if complaint else None,
                    updated_at=message.updated_at,
                )
            )
        return out

    return await _tx(request, load)
