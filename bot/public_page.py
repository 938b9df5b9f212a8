"""The public page of a complaint, ``GET /t/{ticket}``, and the link to it in chat pushes (issues #15, #26).

Anyone who has the ticket may read the page, so it shows what the agency did and nothing about
who reported or what they wrote: the ticket, the status, the agency, the place in words (the
kecamatan and kab/kota from the codes, never the free address, which may be a house), the
category, the filing date and the dated status changes, each with its **public note** (the
reason of a ``ditolak``, what was done for ``selesai``), masked of personal data when the
officer wrote it (bot/casework.py ``public_note``; the officer is told the note is public).

Never: a reply to the citizen (written to one person, it may name them, their street, their
child's school: private to the citizen and the officers), the reporter's address or name, the
description, the citizen's messages, a citizen's own notes. A confidential (``rahasia``)
complaint answers exactly as an unknown ticket does (404), so a guessed ticket tells nothing.

Indonesian first; English with ``?lang=en`` or a browser that prefers it. Texts come from the
Babel catalogs (bot/locale/) and are handed to the templates (bot/templates/) already translated.

Pushes on WhatsApp and Telegram end with the page's link when ``PUBLIC_BASE_URL`` is set; SMS
pushes do not (one GSM-7 segment, and a feature phone opens no web page).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlmodel import Session

from bot import categories, regions, texts
from bot.i18n import LANGUAGES, SOURCE_LANGUAGE, translator
from storage import public_history
from storage.models import Agency, Complaint, ComplaintEvent
from storage.rows import aware
from storage.tickets import InvalidTicket, format_ticket, parse_ticket

PATH = texts.PAGE_PATH
# The kinds of event the page tells: filing and status changes (their statuses, dates and public
# notes). Replies to the citizen, citizen replies, feedback, reroutes and breaches are not public.
_STATUS_KINDS = ("filed", "status")

# Per-citizen pages: kept out of search engines, cached briefly; no script, nothing fetched.
PAGE_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "max-age=60",
    "Vary": "Accept-Language",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

router = APIRouter()


# ---------------------------------------------------------------- what the page shows


@dataclass(frozen=True)
class StatusChange:
    when: str
    from_status: str | None  # None: the filing
    to_status: str
    note: str | None = None  # the public note, masked when it was written


@dataclass(frozen=True)
class TicketPage:
    ticket: str  # 1234-5678
    status: str
    agency: str
    place: str | None
    category: str
    filed: str
    history: tuple[StatusChange, ...] = ()


def build_page(session: Session, ticket: str, language: str) -> TicketPage | None:
    """What the page of this ticket (8 digits) shows, or None when there is no such complaint to publish."""
    found = public_history.complaint_with_agency(session, ticket)
    if found is None:
        return None
    complaint, agency = found
    if complaint.confidential:
        return None  # as unknown: that a confidential complaint exists is not public either
    events = public_history.events_of_kinds(session, complaint.id, _STATUS_KINDS)
    return _full_page(complaint, agency, events, texts.status_label(complaint.status, language), language)


def _full_page(
    complaint: Complaint, agency: Agency, events: list[ComplaintEvent], status: str, language: str
) -> TicketPage:
    def when(event_or_complaint) -> str:
        return texts.local_datetime(aware(event_or_complaint.created_at), complaint.province_code, language)

    history = tuple(
        StatusChange(
            when=when(event),
            from_status=texts.status_label(event.from_status, language) if event.from_status else None,
            to_status=texts.status_label(event.to_status, language),
            note=event.public_note,
        )
        for event in events
        if event.kind in _STATUS_KINDS and event.to_status
    )
    return TicketPage(
        ticket=format_ticket(complaint.ticket),
        status=status,
        agency=agency.name,
        place=regions.place_of_codes(complaint.region_code, complaint.district_code),
        category=categories.label(complaint.category, language),
        filed=when(complaint),
        history=history,
    )


def _labels(language: str) -> dict[str, str]:
    _ = translator(language)
    return {
        "service": _("Layanan pengaduan publik"),
        "status": _("Status"),
        "agency": _("Instansi"),
        "place": _("Lokasi"),
        "category": _("Kategori"),
        "filed": _("Tanggal lapor"),
        "history": _("Riwayat status"),
        "filed_event": _("Laporan diterima"),
        "privacy": _(
            "Identitas pelapor, isi laporan dan pesan instansi kepada pelapor tidak ditampilkan di halaman ini."
        ),
    }


# ---------------------------------------------------------------- language


def choose_language(asked: str | None, accept_language: str | None) -> str:
    """``?lang=`` first, then the browser's preferences (Accept-Language), else Indonesian."""
    if asked in LANGUAGES:
        return asked
    preferences = []
    for position, entry in enumerate((accept_language or "").split(",")):
        tag, _, params = entry.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            preferences.append((-quality, position, primary))  # the highest q, then the first named
    return min(preferences)[2] if preferences else SOURCE_LANGUAGE


# ---------------------------------------------------------------- the route


def _render(template: str, language: str, status_code: int, **context) -> HTMLResponse:
    html = _templates.get_template(template).render(language=language, labels=_labels(language), **context)
    return HTMLResponse(html, status_code=status_code, headers={**PAGE_HEADERS, "Content-Language": language})


def _not_found(language: str, ticket: str | None) -> HTMLResponse:
    _ = translator(language)
    if ticket is None:  # malformed: what was typed is not repeated back
        message = texts.ticket_invalid(language)
    else:
        message = _("Laporan dengan nomor tiket {ticket} tidak ditemukan. Mohon periksa lagi nomornya.").format(
            ticket=format_ticket(ticket)
        )
    return _render("not_found.html", language, 404, title=_("Laporan tidak ditemukan"), message=message)


@router.get(PATH, response_class=HTMLResponse, include_in_schema=False)
def ticket_page(ticket: str, request: Request, lang: str | None = None) -> HTMLResponse:
    """The public page of a complaint; a polite 404 page for a ticket that is malformed or unknown."""
    language = choose_language(lang, request.headers.get("accept-language"))
    try:
        digits = parse_ticket(ticket)  # 1234-5678, 12345678, 1234 5678; a wrong check digit is malformed
    except InvalidTicket:
        return _not_found(language, None)
    with request.app.state.public_reads.session() as session:  # public reads' own share (bot/app.py)
        page = build_page(session, digits, language)
    if page is None:
        return _not_found(language, digits)
    _ = translator(language)
    return _render("ticket.html", language, 200, title=_("Laporan {ticket}").format(ticket=page.ticket), page=page)
