"""The REST API's data shapes, each written once: what requests carry and what responses show.

Responses are built here from the store's rows (``complaint_detail``, ``officer_view``...), so a
route only finds the rows and hands them over. A reporter's address is shown only when they did
not ask to be anonymous; officers' addresses only redacted; tokens by their prefix; PINs never.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field
from sqlmodel import Session

from bot import administration, casework, deadlines
from channels.base import clean_text
from channels.urns import redact_urn
from storage import complaints as complaint_store
from storage import deadlines as deadline_store
from storage import officers as officer_store
from storage.models import ANY, Agency, Category, Complaint, ContactUrn, Officer, OfficerRole, Status
from storage.tickets import format_ticket

# Text the store can keep (a NUL fails a PostgreSQL text column): cleaned as channels clean theirs
StoredText = Annotated[str, BeforeValidator(lambda value: clean_text(value) if isinstance(value, str) else value)]


# ---------------------------------------------------------------- agencies and routing rules


class AgencyRef(BaseModel):
    """An agency as a complaint names it."""

    code: str
    name: str


class AgencyPublic(AgencyRef):
    """An agency as the agency listing shows it: the reference plus what routing and pushes use."""

    short_name: str | None
    region_code: str | None

    @classmethod
    def of(cls, agency: Agency) -> "AgencyPublic":
        return cls(code=agency.code, name=agency.name, short_name=agency.short_name, region_code=agency.region_code)


class AgencyCreate(BaseModel):
    code: str = Field(pattern=administration.AGENCY_CODE_PATTERN)
    name: StoredText = Field(min_length=administration.AGENCY_NAME_LENGTH[0], max_length=administration.AGENCY_NAME_LENGTH[1])
    short_name: StoredText | None = Field(
        default=None, max_length=administration.SHORT_NAME_MAX_LENGTH, description="what citizens read in pushes"
    )
    region_code: str | None = Field(default=None, pattern=administration.AGENCY_REGION_PATTERN)


class RoutingRulePublic(BaseModel):
    """A routing rule, as it is set (PUT) and listed (GET)."""

    category: Category | Literal["*"] = ANY
    region_code: str = Field(default=ANY, pattern=administration.ROUTE_PLACE_PATTERN)
    agency: StoredText = Field(max_length=64)


# ---------------------------------------------------------------- complaints


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
    public_note: str | None = Field(
        default=None, description="what public reads (the ticket page, keyless Open311) show of the note: masked"
    )
    created_at: datetime


class Reporter(BaseModel):
    urn: str = Field(
        description="the reporter's address (sms:+62..., telegram:...); for a reporter filed through Open311 "
        "without a phone, who filed it (an e-mail given there is kept, never shown)"
    )


class ComplaintSummary(BaseModel):
    ticket: str
    ticket_display: str
    status: Status
    category: Category
    region_code: str | None
    district_code: str | None
    agency: AgencyRef
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


class StatusChange(BaseModel):
    status: Literal["diteruskan", "diproses", "selesai", "ditolak"]
    note: StoredText | None = Field(
        default=None, max_length=1000,
        description="PUBLIC: sent to the citizen and shown, masked of personal data, on the ticket's public page "
        "and in Open311 beside the status (required for ditolak: the reason). A message for the citizen alone "
        "is a reply.",
    )


class Reply(BaseModel):
    text: StoredText = Field(
        min_length=1, max_length=1000,
        description="private: relayed to the citizen; read by the citizen and the agency's officers, never published",
    )


class Reroute(BaseModel):
    agency: StoredText = Field(min_length=1, max_length=64, description="code of the agency that has the authority")
    note: StoredText | None = Field(default=None, max_length=1000)


def _summary_fields(complaint: Complaint, agency: Agency) -> dict[str, Any]:
    return {
        "ticket": complaint.ticket,
        "ticket_display": format_ticket(complaint.ticket),
        "status": complaint.status,
        "category": complaint.category,
        "region_code": complaint.region_code,
        "district_code": complaint.district_code,
        "agency": AgencyRef(code=agency.code, name=agency.name),
        "channel": complaint.channel,
        "anonymous": complaint.anonymous,
        "created_at": complaint.created_at,
    }


def complaint_summary(complaint: Complaint, agency: Agency) -> ComplaintSummary:
    return ComplaintSummary(**_summary_fields(complaint, agency))


def complaint_detail(session: Session, complaint: Complaint) -> ComplaintPublic:
    """The complaint with its deadlines and history; the reporter's address unless they are anonymous."""
    agency = session.get(Agency, complaint.agency_id)
    reporter = None
    if not complaint.anonymous:
        contact = session.get(ContactUrn, complaint.urn_id)
        reporter = Reporter(urn=casework.reporter_label(session, complaint, contact))  # as the chat desk shows it
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
                public_note=e.public_note,
                created_at=e.created_at,
            )
            for e in complaint_store.complaint_history(session, complaint.id)
        ],
    )


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


# ---------------------------------------------------------------- officers (admins)


class AddressPublic(BaseModel):
    id: int
    address: str  # redacted: scheme and last digits only


class TokenPublic(BaseModel):
    prefix: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None


class OfficerPublic(BaseModel):
    id: int
    name: str
    role: OfficerRole
    agency: str  # agency code
    active: bool
    pin_set: bool
    addresses: list[AddressPublic]
    tokens: list[TokenPublic]  # active tokens only


class Revocation(BaseModel):
    prefix: str | None = Field(
        default=None,
        min_length=administration.MIN_TOKEN_PREFIX,
        max_length=16,
        pattern=r"^[A-Za-z0-9_\-]+$",
        description="revoke only the token starting with this (as the listing shows it); all when absent",
    )


class Revoked(BaseModel):
    revoked: int


def officer_view(session: Session, officer: Officer) -> OfficerPublic:
    return OfficerPublic(
        id=officer.id,
        name=officer.name,
        role=officer.role,
        agency=session.get(Agency, officer.agency_id).code,
        active=officer.active,
        pin_set=officer.pin_hash is not None,
        addresses=[
            AddressPublic(id=row.id, address=redact_urn(row.urn)) for row in officer_store.urns_of_officer(session, officer.id)
        ],
        tokens=[
            TokenPublic(prefix=t.prefix, label=t.label, created_at=t.created_at, last_used_at=t.last_used_at)
            for t in officer_store.tokens_of_officer(session, officer.id)
            if t.revoked_at is None
        ],
    )
