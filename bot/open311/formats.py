"""How the Open311 server answers: XML (the spec's own format) or JSON, W3C datetimes, the spec's errors.

GeoReport v2 picks the format by the path's suffix (``services.xml``, ``requests.json``). An answer
is built once as plain data (dicts in the spec's element order, lists of them) and rendered in
either format here, so the two can never say different things. XML lists name their items as the
spec does (``<services><service>``, ``<attributes><attribute>``); errors are
``<errors><error><code/><description/></error></errors>``, or ``[{"code", "description"}]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from xml.etree import ElementTree

from fastapi.responses import Response

from bot import texts

FORMATS = ("xml", "json")
MEDIA_TYPES = {"xml": "text/xml; charset=utf-8", "json": "application/json"}

# The XML name of one item of a list, by the list's name (the spec's plurals).
_ITEM_NAMES = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
    "history": "event",
    "service_request_updates": "request_update",
}

# Answers name places and people's words, and nothing about them is public for long.
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


class Open311Error(Exception):
    """A request the server refuses: an HTTP status (400, 403, 404, 429, 503) and what to tell the
    client; ``retry_after`` (seconds) for a refusal that passes (429, 503)."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def format_of(suffix: str) -> str:
    """``xml`` or ``json`` from a path's suffix; anything else is an error (answered in JSON)."""
    fmt = suffix.lower()
    if fmt not in FORMATS:
        raise Open311Error(404, f"unknown format {suffix[:10]!r}: use .xml or .json")
    return fmt


# ---------------------------------------------------------------- rendering


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _fill(element: ElementTree.Element, name: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _fill(ElementTree.SubElement(element, key), key, inner)
    elif isinstance(value, Sequence) and not isinstance(value, str):
        item_name = _ITEM_NAMES.get(name, "item")
        for inner in value:
            _fill(ElementTree.SubElement(element, item_name), item_name, inner)
    else:
        element.text = _text(value)


def to_xml(root: str, body: Any) -> bytes:
    """``body`` (a mapping of elements, or a list of items) under the element ``root``."""
    element = ElementTree.Element(root)
    _fill(element, root, body)
    ElementTree.indent(element)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(element, encoding="utf-8") + b"\n"


def render(fmt: str, root: str, body: Any, status: int = 200) -> Response:
    """The answer in the client's format; in JSON the root is implied (a list, or an object)."""
    if fmt == "xml":
        content = to_xml(root, body)
    else:
        content = json.dumps(body, ensure_ascii=False).encode()
    return Response(content, status_code=status, media_type=MEDIA_TYPES[fmt], headers=_HEADERS)


def error(fmt: str, failure: Open311Error) -> Response:
    answer = render(fmt, "errors", [{"code": failure.status, "description": failure.description}], failure.status)
    if failure.retry_after is not None:  # a 429 or a 503 says when to come back
        answer.headers["Retry-After"] = str(failure.retry_after)
    return answer


# ---------------------------------------------------------------- W3C datetimes


def w3c(moment: datetime | None, province_code: str | None) -> str | None:
    """``2026-12-04T09:30:00+08:00``: the moment in the time zone of the complaint's province."""
    if moment is None:
        return None
    if moment.tzinfo is None:  # the store's datetimes are UTC (SQLite hands them back naive)
        moment = moment.replace(tzinfo=timezone.utc)
    zone, _ = texts.timezone_of(province_code)
    return moment.astimezone(zone).isoformat(timespec="seconds")


def end_of_day(day: date | None, province_code: str | None) -> str | None:
    """A due date as the last second of that day where the complaint is (a deadline's ``expected_datetime``)."""
    if day is None:
        return None
    zone, _ = texts.timezone_of(province_code)
    return datetime.combine(day, time(23, 59, 59), tzinfo=zone).isoformat(timespec="seconds")


# Without a zone, a client's time is read as Western Indonesian Time (WIB), where most people live.
_DEFAULT_ZONE = texts.timezone_of(None)[0]


def parse_w3c(name: str, value: str) -> datetime:
    """A W3C datetime parameter (``2026-12-01``, ``2026-12-01T08:00:00Z``, ``...+07:00``), aware, in UTC
    (as the store keeps its times); 400 for one that is no moment in UTC (``0001-01-01T00:00+07:00``)."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C datetime (e.g. 2026-12-01T08:00:00+07:00)") from None
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=_DEFAULT_ZONE)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise Open311Error(400, f"{name} is out of range") from None


def _shifted(name: str, moment: datetime, by: timedelta) -> datetime:
    """``moment + by``; 400 when that is past the first or the last date there is (9999-12-31 + 90 days)."""
    try:
        return moment + by
    except OverflowError:
        raise Open311Error(400, f"{name} is out of range") from None


def window(start: str | None, end: str | None, *, now: datetime, span: timedelta) -> tuple[datetime, datetime]:
    """The spec's search window: ``span`` (90 days) back from ``end`` (default now), or forward from
    ``start``; a window longer than ``span`` or ending before it starts is refused, and so is a date
    the window cannot reach from (400, never Python's ``OverflowError``)."""
    end_at = parse_w3c("end_date", end) if end else None
    start_at = parse_w3c("start_date", start) if start else None
    if start_at is None and end_at is None:
        return now - span, now
    if start_at is None:
        return _shifted("end_date", end_at, -span), end_at
    if end_at is None:
        end_at = min(now, _shifted("start_date", start_at, span))
    if end_at < start_at:
        raise Open311Error(400, "end_date is before start_date")
    if end_at - start_at > span:
        raise Open311Error(400, f"start_date and end_date may not span more than {span.days} days")
    return start_at, end_at
