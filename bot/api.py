"""The officers' REST API under /api/v1 (DESIGN.md section 4): thin routes over repository functions.

Bearer tokens are issued per officer by the CLI (``aduan officer token``). An officer sees only
the complaints of the agency (admins see all), and a reporter's identity only when the
reporter did not ask to be anonymous.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, BeforeValidator, Field
from sqlmodel import Session

from bot import casework, deadlines
from bot.casework import Actor, CaseworkError
from channels.base import clean_text
from storage.redaction import error_text
from channels.urns import redact_urn
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import deadlines as deadline_store
from storage import messages as message_store
from storage import officers as officer_store
from storage.db import in_transaction
from storage.models import (
    ANY,
    Agency,
    Category,
    Complaint,
    ContactUrn,
    Officer,
    OfficerRole,
    Status,
)
from storage.tickets import InvalidTicket, format_ticket, parse_ticket

T = TypeVar("T")

router = APIRouter(prefix="/api/v1", tags=["complaints"])

# Text the store can keep (a NUL fails a PostgreSQL text column): cleaned as channels clean theirs
StoredText = Annotated[str, BeforeValidator(lambda value: clean_text(value) if isinstance(value, str) else value)]
_bearer = HTTPBearer(auto_error=False, description="Officer token issued by `aduan officer token`")


async def _tx(request: Request, work: Callable[[Session], T]) -> T:
    return await in_transaction(request.app.state.engine, work)


async def current_officer(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Officer:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    officer = await _tx(request, lambda s: officer_store.authenticate_token(s, credentials.credentials))
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
    running: list[str]  # the deadlines not yet met: verify | followup | resolve
    breached: list[str]  # the deadlines that passed unmet (recorded once, kept after they are met)


class EventPublic(BaseModel):
    kind: str
    from_status: str | None
    to_status: str | None
    actor_type: str
    actor_officer_id: int | None
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
    rating: int | None
    reporter: Reporter | None  # None when the reporter is anonymous
    history: list[EventPublic]


class ComplaintPage(BaseModel):
    items: list[ComplaintSummary]
    page: int
    page_size: int
    total: int = Field(
        description="how many complaints match; when `total_capped`, counting stopped there and this many or more "
        f"match (exact up to {complaint_store.LIST_COUNT_LIMIT}, or to the end of the page asked for if that is further)"
    )
    total_capped: bool = Field(
        default=False,
        description=f"`total` is a lower bound: show it as \"{complaint_store.LIST_COUNT_LIMIT}+\"; later pages can still be asked for",
    )


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
            verify_due=complaint.verify_due,
            followup_due=complaint.followup_due,
            resolve_due=complaint.resolve_due,
            running=[name for name, _ in deadlines.running_deadlines(complaint)],
            breached=[alert.deadline for alert in deadline_store.breaches_of(session, complaint.id)],
        ),
        rating=complaint.rating,
        reporter=reporter,
        history=[
            EventPublic(
                kind=e.kind,
                from_status=e.from_status,
                to_status=e.to_status,
                actor_type=e.actor_type,
                actor_officer_id=e.actor_officer_id,
                note=e.note,
                created_at=e.created_at,
            )
            for e in complaint_store.complaint_history(session, complaint.id)
        ],
    )


# ---------------------------------------------------------------- routes


def _digits(ticket: str) -> str:
    try:
        return parse_ticket(ticket)
    except InvalidTicket:
        raise HTTPException(422, "not a valid ticket number (8 digits with a check digit)") from None


# CaseworkError codes -> HTTP status; the officer-facing message is the detail
_ERROR_STATUS = {"not_found": 404, "unknown_agency": 422, "reason_required": 422, "empty": 422}


async def _act(request: Request, officer: Officer, ticket: str, work: Callable[[Session, Complaint], Any]) -> ComplaintPublic:
    """Run an officer's action on a complaint of their agency; answers with the complaint as it is now."""
    digits = _digits(ticket)

    def run(session: Session) -> ComplaintPublic:
        complaint = casework.complaint_for_officer(session, officer, digits)
        work(session, complaint)
        return _detail(session, complaint)

    try:
        result = await _tx(request, run)
    except CaseworkError as error:
        raise HTTPException(_ERROR_STATUS.get(error.code, 409), {"code": error.code, "message": error.message}) from None
    request.app.state.gateway.dispatcher.wake()
    return result


def _today(complaint: Complaint):
    return casework.local_today(complaint, datetime.now(timezone.utc))


@router.get("/complaints/{ticket}", response_model=ComplaintPublic)
async def get_complaint(ticket: str, request: Request, officer: OfficerDep) -> ComplaintPublic:
    digits = _digits(ticket)

    def load(session: Session) -> ComplaintPublic:
        # another agency's complaint does not exist for this officer
        return _detail(session, casework.complaint_for_officer(session, officer, digits))

    try:
        return await _tx(request, load)
    except CaseworkError:
        raise HTTPException(404, "no such complaint") from None


class StatusChange(BaseModel):
    status: Literal["diteruskan", "diproses", "selesai", "ditolak"]
    note: StoredText | None = Field(default=None, max_length=1000, description="required for ditolak: the reason")


class Reply(BaseModel):
    text: StoredText = Field(min_length=1, max_length=1000)


class Reroute(BaseModel):
    agency: StoredText = Field(min_length=1, max_length=64, description="code of the agency that has the authority")
    note: StoredText | None = Field(default=None, max_length=1000)


@router.post("/complaints/{ticket}/status", response_model=ComplaintPublic)
async def change_status(ticket: str, body: StatusChange, request: Request, officer: OfficerDep) -> ComplaintPublic:
    """Change the status; the citizen is told on their channel. Errors: 409 (not allowed from the current status), 422 (ditolak without a reason)."""
    return await _act(
        request, officer, ticket,
        lambda s, c: casework.change_status(s, c, body.status, actor=Actor.of(officer), note=body.note, today=_today(c)),
    )


@router.post("/complaints/{ticket}/replies", response_model=ComplaintPublic)
async def reply(ticket: str, body: Reply, request: Request, officer: OfficerDep) -> ComplaintPublic:
    """A message to the reporter, relayed by the bot (the reporter's address is never shown)."""
    return await _act(
        request, officer, ticket, lambda s, c: casework.reply_to_citizen(s, c, actor=Actor.of(officer), text=body.text)
    )


@router.post("/complaints/{ticket}/reroute", response_model=ComplaintPublic)
async def reroute(ticket: str, body: Reroute, request: Request, officer: OfficerDep) -> ComplaintPublic:
    """Not this agency's authority: move the complaint to another agency (its officers are notified)."""
    return await _act(
        request, officer, ticket,
        lambda s, c: casework.reroute(s, c, body.agency, actor=Actor.of(officer), note=body.note, today=_today(c)),
    )


@router.get("/complaints", response_model=ComplaintPage)
async def list_complaints(
    request: Request,
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
    scope = _scope(officer)

    def load(session: Session) -> ComplaintPage:
        # A long list is not counted to its end: `total` stops at LIST_COUNT_LIMIT (`total_capped`).
        found = complaint_store.page_of_complaints(
            session, filters, agency_scope=scope, page=page, page_size=page_size,
            count_limit=complaint_store.LIST_COUNT_LIMIT,
        )
        items = found.items
        agencies = {a_id: session.get(Agency, a_id) for a_id in {c.agency_id for c in items}}
        return ComplaintPage(
            items=[ComplaintSummary(**_summary_fields(c, agencies[c.agency_id])) for c in items],
            page=page,
            page_size=page_size,
            total=found.total,
            total_capped=found.total_capped,
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
        rows = message_store.failed_deliveries(session, limit=limit)
        out = []
        for message, contact in rows:
            complaint = session.get(Complaint, message.complaint_id) if message.complaint_id else None
            out.append(
                FailedDelivery(
                    message_id=message.id,
                    channel=message.channel,
                    provider=message.provider,
                    address=redact_urn(contact.urn),
                    error=error_text(message.error),  # rows stored before errors were masked too
                    attempts=message.attempts,
                    ticket=complaint.ticket if complaint else None,
                    updated_at=message.updated_at,
                )
            )
        return out

    return await _tx(request, load)


# ---------------------------------------------------------------- agencies and routing (admins edit)


class AgencyOut(BaseModel):
    code: str
    name: str
    short_name: str | None
    region_code: str | None


class AgencyIn(BaseModel):
    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_\-]{1,63}$")
    name: StoredText = Field(min_length=3, max_length=255)
    short_name: StoredText | None = Field(default=None, max_length=64, description="what citizens read in pushes")
    region_code: str | None = Field(default=None, pattern=r"^\d{2}(\.\d{2})?$")


def _agency_out(agency: Agency) -> AgencyOut:
    return AgencyOut(code=agency.code, name=agency.name, short_name=agency.short_name, region_code=agency.region_code)


class RoutingRuleIO(BaseModel):
    category: Category | Literal["*"] = ANY
    region_code: str = Field(default=ANY, pattern=r"^(\*|\d{2}|\d{2}\.\d{2})$")
    agency: StoredText = Field(max_length=64)


def _admin(officer: Officer) -> None:
    if officer.role != OfficerRole.admin.value:
        raise HTTPException(403, "admins only")


@router.get("/agencies", response_model=list[AgencyOut], tags=["routing"])
async def agencies(request: Request, officer: OfficerDep) -> list[AgencyOut]:
    rows = await _tx(request, agency_store.list_agencies)
    return [_agency_out(a) for a in rows]


@router.post("/agencies", response_model=AgencyOut, status_code=201, tags=["routing"])
async def add_agency(body: AgencyIn, request: Request, officer: OfficerDep) -> AgencyOut:
    _admin(officer)

    def add(session: Session) -> Agency | None:
        if agency_store.get_agency_by_code(session, body.code):
            return None
        return agency_store.create_agency(
            session, code=body.code, name=body.name, region_code=body.region_code, short_name=body.short_name
        )

    agency = await _tx(request, add)
    if agency is None:
        raise HTTPException(409, f"agency {body.code} exists already")
    return _agency_out(agency)


@router.get("/routing-rules", response_model=list[RoutingRuleIO], tags=["routing"])
async def rules(request: Request, officer: OfficerDep) -> list[RoutingRuleIO]:
    def load(session: Session) -> list[RoutingRuleIO]:
        codes = {a.id: a.code for a in agency_store.list_agencies(session)}
        return [
            RoutingRuleIO(category=r.category, region_code=r.region_code, agency=codes[r.agency_id])
            for r in agency_store.routing_rules(session)
        ]

    return await _tx(request, load)


@router.put("/routing-rules", response_model=RoutingRuleIO, tags=["routing"])
async def set_rule(body: RoutingRuleIO, request: Request, officer: OfficerDep) -> RoutingRuleIO:
    """Route a category (or *) in a place (kab/kota, province or *) to an agency; replaces the rule there."""
    _admin(officer)
    category = body.category.value if isinstance(body.category, Category) else body.category

    def put(session: Session) -> bool:
        agency = agency_store.get_agency_by_code(session, body.agency)
        if agency is None:
            return False
        agency_store.set_routing_rule(session, agency_id=agency.id, category=category, region_code=body.region_code)
        return True

    if not await _tx(request, put):
        raise HTTPException(422, f"no agency with code {body.agency}")
    return body


from bot.api_officers import router as _officers_router  # noqa: E402  (it uses this module's token check)

router.include_router(_officers_router)
