"""Complaints as Open311 service requests: what ``GET requests`` shows, to whom, and its filters.

The ``service_request_id`` is the complaint's ticket as citizens write it (``1234-5678``); any
way of writing it is accepted back. Statuses are ``open`` (diterima, diteruskan, diproses) or
``closed`` (selesai, ditutup, ditolak), the fine status in ``status_notes`` (and, with
``extensions=true``, in ``detailed_status`` with the dated history).

Public reads (no ``api_key``) show what the public page (bot/public_page.py) shows and nothing
more: the category, the status, the agency, the place in words from its Kemendagri codes (the
kecamatan and kab/kota, never the free address, which may be a house), the dates, and the public
note of each status change, masked (``status_notes``: the status and the note that explains it,
as GeoReport v2 means it). Never the description, the pin or the media, which are the
reporter's, never a reply to the citizen (private), and never a confidential complaint (as if
unknown). A key reads in full (without any reporter data still) the complaints it filed and
those of the agencies it is bound to: an integration reads back what it sent and what the agency
wrote to its reporter, a back office its own queue.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import categories, deadlines, regions, texts
from bot.open311.formats import Open311Error, end_of_day, w3c, window
from storage import open311_requests as store
from storage.models import Agency, Complaint, Status
from storage.open311_requests import Reader
from storage.tickets import InvalidTicket, format_ticket, parse_ticket

WINDOW = timedelta(days=90)  # the spec's default search window, and the longest one asked
MAX_RESULTS = 1000  # the spec's cap on one answer
MAX_IDS = 200  # service_request_id=a,b,c: more than this in one call is refused

CLOSED = frozenset({Status.selesai.value, Status.ditutup.value, Status.ditolak.value})
_BY_OPEN311_STATUS = {"open": deadlines.OPEN, "closed": CLOSED}
_HISTORY_KINDS = ("filed", "status", "reply")
_AGENCY_ACTORS = ("officer", "integration")  # whose notes and replies a reader may see (the citizen's: never)


def open311_status(status: str) -> str:
    return "closed" if status in CLOSED else "open"


def parse_ids(value: str) -> list[str]:
    """The 8-digit tickets of a comma list; ids that are no ticket of ours match nothing."""
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if len(parts) > MAX_IDS:
        raise Open311Error(400, f"at most {MAX_IDS} service_request_id values in one request")
    tickets = []
    for part in parts:
        try:
            tickets.append(parse_ticket(part))
        except InvalidTicket:
            continue
    return tickets


def parse_codes(value: str | None) -> list[str] | None:
    if not value:
        return None
    codes = [code.strip() for code in value.split(",") if code.strip()]
    unknown = [code for code in codes if code not in categories.BY_SLUG]
    if unknown:
        raise Open311Error(400, f"service_code {unknown[0][:40]!r} not found")
    return codes


def parse_statuses(value: str | None) -> list[str] | None:
    if not value:
        return None
    statuses: list[str] = []
    for word in (part.strip().lower() for part in value.split(",") if part.strip()):
        if word not in _BY_OPEN311_STATUS:
            raise Open311Error(400, "status is open or closed (comma delimited)")
        statuses += sorted(_BY_OPEN311_STATUS[word])
    return statuses


@dataclass(frozen=True)
class Jurisdiction:
    """``jurisdiction_id``: all of Indonesia, one province ("51") or one kab/kota ("51.71")."""

    province_code: str | None = None
    region_code: str | None = None

    @classmethod
    def parse(cls, value: str | None) -> "Jurisdiction":
        code = (value or "").strip()
        if not code or code.lower() in {"id", "indonesia"}:
            return cls()
        if regions.is_province(code):
            return cls(province_code=code)
        if regions.is_regency(code):
            return cls(region_code=code)
        raise Open311Error(
            404, f"jurisdiction_id {code[:20]!r} not found: use id, a province code (51) or a kab/kota code (51.71)"
        )


# ---------------------------------------------------------------- one request as shown


def _expected(complaint: Complaint) -> str | None:
    """When the agency's current step is due: verification, the first follow-up, or resolution."""
    due = {
        Status.diterima.value: complaint.verify_due,
        Status.diteruskan.value: complaint.followup_due,
        Status.diproses.value: complaint.resolve_due,
    }.get(complaint.status)
    return end_of_day(due, complaint.province_code)


def shown_note(event, full: bool) -> str | None:
    """What a reader sees of an event's note: the public one masked; a full reader the agency's own words.

    A reply to the citizen is private: only a full reader (the agency's key, or the key that filed
    for that reporter) sees it. Citizens' own words are nobody's here.
    """
    if event.actor_type not in _AGENCY_ACTORS:
        return None
    if full:
        return event.note
    return event.public_note if event.kind == "status" else None


def _history(complaint: Complaint, events, full: bool) -> list[dict]:
    history = []
    for event in events:
        if event.kind == "reply" and (not full or event.actor_type not in _AGENCY_ACTORS):
            continue
        history.append({
            "datetime": w3c(event.created_at, complaint.province_code),
            "kind": event.kind,
            "status": event.to_status,
            "note": shown_note(event, full),
        })
    return history


def status_notes(complaint: Complaint, latest_status, full: bool) -> str:
    """The status in words, with the note of the change that set it when there is one to show."""
    label = texts.status_label(complaint.status)
    note = shown_note(latest_status, full) if latest_status is not None else None
    if note and latest_status.to_status == complaint.status:
        return f"{label}: {note}"
    return label


def as_request(
    complaint: Complaint, agency: Agency, *, full: bool, media_url: str | None = None,
    events=None, extensions: bool = False, latest_status=None,
) -> dict:
    """One service request in the spec's element order (``full``: the reader's own, with what was written)."""
    place = regions.place_of_codes(complaint.region_code, complaint.district_code)
    shown = {
        "service_request_id": format_ticket(complaint.ticket),
        "status": open311_status(complaint.status),
        "status_notes": status_notes(complaint, latest_status, full),
        "service_name": categories.label(complaint.category),
        "service_code": complaint.category,
        "description": complaint.description if full else None,
        "agency_responsible": agency.name,
        "service_notice": None,
        "requested_datetime": w3c(complaint.created_at, complaint.province_code),
        "updated_datetime": w3c(complaint.updated_at, complaint.province_code),
        "expected_datetime": _expected(complaint),
        "address": (complaint.address or place) if full else place,
        "address_id": complaint.district_code or complaint.region_code,
        "zipcode": None,
        "lat": complaint.latitude if full else None,
        "long": complaint.longitude if full else None,
        "media_url": media_url if full else None,
    }
    if extensions:
        shown["extended_attributes"] = {
            "detailed_status": complaint.status,
            "history": _history(complaint, events or [], full),
        }
    return shown


# ---------------------------------------------------------------- GET requests


def full_for(reader: Reader, complaint: Complaint) -> bool:
    filed_by_reader = reader.key_id is not None and complaint.open311_key_id == reader.key_id
    return filed_by_reader or complaint.agency_id in reader.agency_ids


def shown_requests(session: Session, rows: list[tuple[Complaint, Agency]], reader: Reader, extensions: bool) -> list[dict]:
    full_ids = [complaint.id for complaint, _ in rows if full_for(reader, complaint)]
    links = store.links_of(session, full_ids)
    ids = [complaint.id for complaint, _ in rows]
    latest = store.latest_status_events(session, ids)
    events_by: dict[int, list] = {}
    if extensions:
        for event in store.events_of(session, ids, _HISTORY_KINDS):
            events_by.setdefault(event.complaint_id, []).append(event)
    return [
        as_request(
            complaint, agency, full=full_for(reader, complaint), media_url=links.get(complaint.id),
            events=events_by.get(complaint.id), extensions=extensions, latest_status=latest.get(complaint.id),
        )
        for complaint, agency in rows
    ]


def find_requests(session: Session, reader: Reader, params: dict[str, str], *, now: datetime) -> list[dict]:
    """``GET requests``: by ``service_request_id`` (which overrides the rest), or by the filters in
    the window (90 days back from now by default), newest first, at most 1,000."""
    extensions = params.get("extensions", "").lower() == "true"
    jurisdiction = Jurisdiction.parse(params.get("jurisdiction_id"))
    if params.get("service_request_id"):
        rows = store.requests_by_tickets(session, parse_ids(params["service_request_id"]), reader)
    else:
        start, end = window(params.get("start_date"), params.get("end_date"), now=now, span=WINDOW)
        rows = store.requests_between(
            session, reader, start=start, end=end,
            categories=parse_codes(params.get("service_code")), statuses=parse_statuses(params.get("status")),
            province_code=jurisdiction.province_code, region_code=jurisdiction.region_code, limit=MAX_RESULTS,
        )
    return shown_requests(session, rows, reader, extensions)


def find_request(session: Session, reader: Reader, ticket: str, params: dict[str, str]) -> list[dict]:
    """``GET requests/{id}``: a list of one; 404 for no such ticket (or one the reader may not see)."""
    try:
        digits = parse_ticket(ticket)
    except InvalidTicket:
        raise Open311Error(404, "service_request_id not found") from None
    rows = store.requests_by_tickets(session, [digits], reader)
    if not rows:
        raise Open311Error(404, "service_request_id not found")
    return shown_requests(session, rows, reader, params.get("extensions", "").lower() == "true")
