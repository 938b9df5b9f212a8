"""Complaints: the row and its first event (numbered with a fresh ticket), look-ups, pages for the API.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage import tickets
from storage.contacts import get_or_create_urn, get_urn
from storage.models import (
    Agency,
    Attachment,
    Category,
    Complaint,
    ComplaintEvent,
    Status,
    utcnow,
)
from storage.rows import insert_unless_exists


@dataclass(frozen=True)
class NewComplaint:
    urn: str
    channel: str
    description: str
    category: Category
    province_code: str | None = None
    region_code: str | None = None
    district_code: str | None = None
    address: str | None = None
    anonymous: bool = False
    confidential: bool = False
    language: str = "id"
    secondary_category: Category | None = None
    filed_by_message_id: int | None = None  # the message whose turn (or Open311 request) files it
    latitude: float | None = None  # a pin given with it (Open311 lat/long); chat pins come as attachments
    longitude: float | None = None
    open311_key_id: int | None = None  # the integration that filed it


def complaint_filed_by(session: Session, message_id: int) -> Complaint | None:
    """The complaint an inbound message's turn filed, if it filed one."""
    return session.exec(select(Complaint).where(Complaint.filed_by_message_id == message_id)).first()


def insert_complaint(
    session: Session, new: NewComplaint, *, agency_id: int, verify_due: date, max_ticket_tries: int = 10
) -> Complaint:
    """A new complaint row with a fresh random ticket, its first event and the media sent while filing.

    Which agency and which due date are the caller's rules (``bot.filing``).
    """
    contact = get_or_create_urn(session, new.urn)
    for _ in range(max_ticket_tries):
        drawn = Complaint(
            ticket=tickets.new_ticket(),
            citizen_id=contact.citizen_id,
            urn_id=contact.id,
            channel=new.channel,
            description=new.description,
            category=Category(new.category).value,
            secondary_category=Category(new.secondary_category).value if new.secondary_category else None,
            province_code=new.province_code,
            region_code=new.region_code,
            district_code=new.district_code,
            address=new.address,
            anonymous=new.anonymous,
            confidential=new.confidential,
            status=Status.diterima.value,
            agency_id=agency_id,
            language=new.language,
            verify_due=verify_due,
            filed_by_message_id=new.filed_by_message_id,
            latitude=new.latitude,
            longitude=new.longitude,
            open311_key_id=new.open311_key_id,
        )
        # The unique index on ticket decides: a drawn number already taken inserts nothing.
        complaint = insert_unless_exists(session, drawn, "ticket")
        if complaint is None:
            continue
        _link_attachments(session, complaint)
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                kind="filed",
                to_status=Status.diterima.value,
                actor_type="citizen",
                note=None,
            )
        )
        session.flush()
        return complaint
    raise RuntimeError("could not draw a free ticket number")


ATTACHMENT_WINDOW = timedelta(hours=24)


def _link_attachments(session: Session, complaint: Complaint) -> None:
    """Media and pins the citizen sent while filing (the last 24 h, not yet on a complaint) belong to it."""
    since = utcnow() - ATTACHMENT_WINDOW
    pending = session.exec(
        select(Attachment).where(
            Attachment.urn_id == complaint.urn_id,
            col(Attachment.complaint_id).is_(None),
            col(Attachment.created_at) >= since,
        ).order_by(col(Attachment.id))
    ).all()
    for attachment in pending:
        attachment.complaint_id = complaint.id
        if attachment.kind == "location":
            complaint.latitude, complaint.longitude = attachment.latitude, attachment.longitude
        session.add(attachment)
    session.add(complaint)  # flushed by the caller, with the complaint's first event


def get_complaint(session: Session, ticket: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.ticket == ticket)).first()


def lock_complaint(session: Session, complaint: Complaint) -> Complaint:
    """The complaint as it is now, its row locked until the transaction ends (``SELECT ... FOR UPDATE``).

    Every change to a complaint checks what it may do after this, so of two changes at the same
    moment (an API call and a chat command, a citizen's answer and the clock) the second waits for
    the first and sees its result. ``complaint`` itself is refreshed (it is the session's object).
    On SQLite, where FOR UPDATE does not exist, every write transaction begins IMMEDIATE
    (storage/db.py): the second writer cannot even read before the first is done.
    """
    return session.exec(
        select(Complaint)
        .where(col(Complaint.id) == complaint.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def get_complaint_of_urn(session: Session, ticket: str, urn: str) -> Complaint | None:
    """The complaint only if it belongs to the citizen who owns this URN (no leaking to others)."""
    contact = get_urn(session, urn)
    if contact is None:
        return None
    return session.exec(
        select(Complaint).where(Complaint.ticket == ticket, Complaint.citizen_id == contact.citizen_id)
    ).first()


def complaints_of_urn(session: Session, urn: str, limit: int = 5) -> list[Complaint]:
    contact = get_urn(session, urn)
    if contact is None:
        return []
    return list(
        session.exec(
            select(Complaint)
            .where(Complaint.citizen_id == contact.citizen_id)
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .limit(limit)
        ).all()
    )


def complaint_history(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return list(
        session.exec(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(col(ComplaintEvent.id))
        ).all()
    )


@dataclass(frozen=True)
class ComplaintFilter:
    status: str | None = None
    agency_code: str | None = None
    category: str | None = None
    region_code: str | None = None


# How far the officers' list counts its matches: beyond this (or the end of the page asked for,
# whichever is further) its total says "at least" (the API's `total_capped`).
LIST_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class FoundComplaints:
    items: list[Complaint]
    total: int  # exact, or when ``total_capped`` the bound where counting stopped: "total or more"
    total_capped: bool


def page_of_complaints(
    session: Session,
    filters: ComplaintFilter,
    *,
    agency_scope: int | None,
    page: int = 1,
    page_size: int = 20,
    count_limit: int | None = None,
) -> FoundComplaints:
    """A page of complaints, newest first, and how many match.

    With ``count_limit`` the count stops after max(count_limit, the end of this page) rows, so that
    a long list costs what a short one does: a total at that bound is ``total_capped`` (it means
    "this many or more"). Without it every match is counted.
    """
    conditions = []
    if agency_scope is not None:
        conditions.append(col(Complaint.agency_id) == agency_scope)
    if filters.status:
        conditions.append(col(Complaint.status) == filters.status)
    if filters.category:
        conditions.append(col(Complaint.category) == filters.category)
    if filters.region_code:
        conditions.append(col(Complaint.region_code) == filters.region_code)

    def matching(query):
        if filters.agency_code:
            query = query.join(Agency, col(Agency.id) == col(Complaint.agency_id)).where(
                Agency.code == filters.agency_code
            )
        return query.where(*conditions)

    offset = (page - 1) * page_size
    items = list(
        session.exec(
            matching(select(Complaint))
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .offset(offset)
            .limit(page_size)
        ).all()
    )
    if items and len(items) < page_size:  # the last page: the total is known without counting
        return FoundComplaints(items, offset + len(items), False)
    # Only the ids are counted, so that the (agency_id, status, created_at, id) index answers alone.
    counted = matching(select(Complaint.id))
    bound = None if count_limit is None else max(count_limit, page * page_size)
    if bound is not None:
        counted = counted.limit(bound + 1)
    total = session.exec(select(func.count()).select_from(counted.subquery())).one()
    if bound is not None and total > bound:
        return FoundComplaints(items, bound, True)
    return FoundComplaints(items, total, False)


def open_complaints_of_agency(
    session: Session, agency_id: int, running_in: Mapping[str, Collection[str]], limit: int = 20
) -> list[Complaint]:
    """Candidates for an agency's queue: the nearest ``limit`` of each running deadline, and the newest without one.

    ``running_in`` maps a deadline (``verify``, ``followup``, ``resolve``) to the statuses in which it
    runs (``bot.deadlines.OPEN_DEADLINES``). The database sorts, so a queue of 40,000 is not loaded;
    the caller merges and orders them.
    """
    due_columns = {"verify": Complaint.verify_due, "followup": Complaint.followup_due, "resolve": Complaint.resolve_due}
    candidates: dict[int, Complaint] = {}
    for deadline, statuses in running_in.items():
        due = due_columns[deadline]
        query = select(Complaint).where(
            Complaint.agency_id == agency_id, col(Complaint.status).in_(sorted(statuses)), col(due).is_not(None)
        )
        if deadline == "followup":
            query = query.where(col(Complaint.followed_up_at).is_(None))
        for complaint in session.exec(query.order_by(col(due), col(Complaint.id)).limit(limit)).all():
            candidates[complaint.id] = complaint
    if len(candidates) < limit:  # fill up with open complaints that have no running deadline
        open_statuses = sorted(set().union(*running_in.values()))
        rest = session.exec(
            select(Complaint)
            .where(Complaint.agency_id == agency_id, col(Complaint.status).in_(open_statuses))
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .limit(limit * 2)
        ).all()
        for complaint in rest:
            candidates.setdefault(complaint.id, complaint)
    return list(candidates.values())
