"""``POST requests``: a service request filed as a complaint, by the same rules as the chat's.

What an integration posts (form-encoded, as the spec says) is checked here, its place read by the
same place reader as the chat's, and the complaint filed with ``bot.filing.file_and_announce``:
routed, dated, numbered, and announced to the agency's officers in one transaction.

- ``service_code`` is a category; ``description`` (up to 4,000 characters) is required, with the
  answers to the service's attributes added for the officers.
- The place: ``address_id`` as a Kemendagri code (kab/kota or kecamatan), else ``address_string``
  read like a citizen's answer, else none (the national desk places it); ``lat``/``long`` kept as
  the pin. A key bound to places files only there; bound to one place, a request it cannot place
  is filed there.
- The reporter: record-only (``email`` if given, kept, never sent to or shown; else the
  integration itself). A ``phone`` is asked once by SMS whether it wants the ticket's news, and
  becomes the reporter's SMS address only when it answers YA (bot/open311/confirmation.py): any
  key holder can type any number. Names are not stored.
- ``media_url`` is kept as a link on the complaint (never fetched by us).
- Aduan's extensions: ``anonymous=true`` hides the reporter from the agency, ``confidential=true``
  keeps the complaint out of every public read.

The request's words are also kept as an inbound message on the reporter's address, as every
message that reached us is.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from sqlmodel import Session

from bot import filing, regions
from bot.open311 import catalog, confirmation
from bot.open311.formats import Open311Error
from channels.base import clean_text
from channels.urns import MAX_EMAIL_CHARS, InvalidAddress, make_urn, record_only_urn
from storage import messages as message_store
from storage import open311_keys
from storage.complaints import NewComplaint
from storage.models import Complaint, Open311Key
from storage.tickets import format_ticket

CHANNEL = "open311"  # the complaint's channel, and the provider of its inbound message
MAX_DESCRIPTION_CHARS = 4000
MAX_ADDRESS_CHARS = regions.MAX_PLACE_CHARS
MAX_URL_CHARS = 1000
_ATTRIBUTE = re.compile(r"attribute\[([A-Za-z0-9_]{1,40})\]")
_TRUE = {"true", "1", "yes", "ya"}


@dataclass(frozen=True)
class PostedRequest:
    """A ``POST requests`` form, checked."""

    service_code: str
    description: str
    address_string: str | None = None
    address_id: str | None = None
    lat: float | None = None
    long: float | None = None
    phone: str | None = None  # E.164, as the reporter's SMS address
    email: str | None = None
    media_url: str | None = None
    anonymous: bool = False
    confidential: bool = False
    details: tuple[str, ...] = ()  # the answers to the service's attributes, as lines for the officers


def _coordinate(form: dict[str, str], name: str, bound: float) -> float | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not math.isfinite(value) or abs(value) > bound:
        raise Open311Error(400, f"{name} is out of range")
    return value


def _media_url(raw: str | None) -> str | None:
    url = (raw or "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if len(url) > MAX_URL_CHARS or parts.scheme not in {"http", "https"} or not parts.netloc:
        raise Open311Error(400, f"media_url must be an http(s) URL of at most {MAX_URL_CHARS} characters")
    return url


def clean_form(form: dict[str, str]) -> dict[str, str]:
    """Every field as the channels clean what a provider hands us (channels/base.py ``clean_text``):
    a NUL is refused by a PostgreSQL text column, and any C0 control makes each XML answer showing
    it unparseable. Done once, at the door, before anything reads the form."""
    return {name: clean_text(value) for name, value in form.items()}


def parse_form(form: dict[str, str]) -> PostedRequest:
    """The form's fields, cleaned and checked; 400 with the first problem found."""
    form = clean_form(form)
    service_code = (form.get("service_code") or "").strip()
    if not service_code:
        raise Open311Error(400, "service_code is required")
    category = catalog.category_of(service_code)  # 404, as the spec says for a code not found
    description = (form.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description is required")
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION_CHARS} characters")
    address = (form.get("address_string") or "").strip() or None
    if address and len(address) > MAX_ADDRESS_CHARS:
        raise Open311Error(400, f"address_string is longer than {MAX_ADDRESS_CHARS} characters")
    lat, long = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    if (lat is None) != (long is None):
        raise Open311Error(400, "lat and long go together")
    address_id = (form.get("address_id") or "").strip() or None
    if address_id and not (regions.is_regency(address_id) or regions.is_district(address_id)):
        raise Open311Error(400, "address_id must be a Kemendagri kab/kota or kecamatan code (e.g. 51.71 or 51.71.01)")
    if lat is None and not address and not address_id:
        raise Open311Error(400, "a location is required: lat and long, address_string or address_id")
    phone = email = None
    if (raw_phone := (form.get("phone") or "").strip()):
        try:
            phone = make_urn("sms", raw_phone).split(":", 1)[1]
        except InvalidAddress:
            raise Open311Error(400, "phone is not a phone number") from None
    if (raw_email := (form.get("email") or "").strip()):
        if len(raw_email) > MAX_EMAIL_CHARS:  # what the store's address column holds, with "mailto:"
            raise Open311Error(400, f"email is longer than {MAX_EMAIL_CHARS} characters")
        try:
            email = record_only_urn("mailto", raw_email).split(":", 1)[1]
        except InvalidAddress:
            raise Open311Error(400, "email is not an e-mail address") from None
    attributes = {match.group(1): value for name, value in form.items() if (match := _ATTRIBUTE.fullmatch(name))}
    return PostedRequest(
        service_code=category.value, description=description, address_string=address, address_id=address_id,
        lat=lat, long=long, phone=phone, email=email, media_url=_media_url(form.get("media_url")),
        anonymous=(form.get("anonymous") or "").strip().lower() in _TRUE,
        confidential=(form.get("confidential") or "").strip().lower() in _TRUE,
        details=tuple(catalog.attribute_lines(category, attributes)),  # a bad answer is refused before filing
    )


# ---------------------------------------------------------------- the place


def _covers(binding: str, code: str) -> bool:
    """A key's place ("51" or "51.71") covers a code in it ("51.71.01" is in both)."""
    return code == binding or code.startswith(binding + ".")


def place_of_codes(code: str) -> regions.Place:
    region = regions.get_wilayah(code[:5])
    district = regions.get_wilayah(code) if len(code) > 5 else None
    return regions.Place.from_codes(region, district)


def placed(key: Open311Key, posted: PostedRequest, read: regions.Resolution | None) -> regions.Place | None:
    """Where the request is: its ``address_id``, else what its address says, else the key's one place.

    403 for a place outside the key's binding; 400 when a key bound to several places sent one it
    cannot be placed by.
    """
    if posted.address_id:
        place = place_of_codes(posted.address_id)
    else:
        place = read.place if read is not None else None
    bound = open311_keys.regions_of(key)
    if bound is None:
        return place
    if place is not None:
        if not any(_covers(binding, place.district_code or place.region_code) for binding in bound):
            raise Open311Error(403, "this api_key may not file requests for that place")
        return place
    if len(bound) == 1 and regions.is_regency(bound[0]):
        return place_of_codes(bound[0])
    raise Open311Error(400, "the location could not be placed within this api_key's areas: send address_id")


# ---------------------------------------------------------------- filing


def _reporter_urn(key: Open311Key, posted: PostedRequest) -> str:
    """Record-only: a ``phone`` becomes the reporter only once its owner confirms it."""
    if posted.email:
        return record_only_urn("mailto", posted.email)
    return record_only_urn("open311", f"key-{key.id}")


def file_request(
    session: Session, key: Open311Key, posted: PostedRequest, place: regions.Place | None, *, today: date
) -> Complaint:
    """File the request as a complaint on channel ``open311``; 403 when it routes to an agency the key is
    not bound to (raised inside the transaction, so nothing of it is kept)."""
    urn = _reporter_urn(key, posted)
    description = "\n".join([posted.description, *posted.details])
    message, _ = message_store.record_inbound(
        session, urn=urn, channel=CHANNEL, provider=CHANNEL, text=description,
        attachments=[_Link(posted.media_url)] if posted.media_url else (), written_by_the_address=False,
    )
    message_store.mark_inbound_handled(session, message.id)  # a record, never a dialogue turn
    complaint = filing.file_and_announce(
        session,
        NewComplaint(
            urn=urn, channel=CHANNEL, description=description, category=posted.service_code,
            province_code=place.province_code if place else None, region_code=place.region_code if place else None,
            district_code=place.district_code if place else None,
            address=posted.address_string or (place.name if place else None),
            anonymous=posted.anonymous,
            confidential=posted.confidential, filed_by_message_id=message.id,
            latitude=posted.lat, longitude=posted.long, open311_key_id=key.id,
        ),
        today=today,
    )
    bound = open311_keys.agency_ids_of(session, key)
    if open311_keys.agencies_of(key) is not None and complaint.agency_id not in bound:
        raise Open311Error(403, "this api_key may not file requests for the agency that handles them")
    if posted.phone:  # asked once whether it wants the news; not linked to the complaint until it says YA
        confirmation.ask(session, key, complaint, make_urn("sms", posted.phone))
    return complaint


@dataclass(frozen=True)
class _Link:
    """A ``media_url`` as the store keeps media: a link, shown to officers as it is."""

    url: str
    kind: str = "link"
    content_type: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def service_notice(complaint: Complaint) -> str:
    """What the client may tell its user at once (``service_notice``), in Indonesian."""
    due = complaint.verify_due.strftime("%d-%m-%Y") if complaint.verify_due else None
    return f"Laporan diterima dengan nomor tiket {format_ticket(complaint.ticket)}" + (
        f"; diverifikasi paling lambat {due}." if due else "."
    )
