"""The Open311 GeoReport v2 server's routes, under ``/open311/v2``; each answers in XML or JSON by its suffix.

Routes parse and answer; what they show and do is bot/open311/'s other modules. Store work runs on
worker threads (sync routes in FastAPI's pool, ``in_transaction`` in the async ones), and the
place reader in the reading pool: nothing slow on the event loop. An ``api_key`` given and not
valid is refused (403) even where none is needed, so a client never mistakes a public answer for
its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from bot import casework, metrics, reading_pool, regions, texts
from bot.open311 import catalog, intake, limits, updates
from bot.open311 import requests as service_requests
from bot.open311.formats import Open311Error, error, format_of, render
from storage import open311_keys
from storage.db import SessionsBusy, in_transaction, session_scope
from storage.models import Open311Key
from storage.open311_requests import Reader
from storage.tickets import format_ticket

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"

router = APIRouter(prefix=PREFIX, tags=["open311"])


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _key(session: Session, raw: str | None) -> Open311Key | None:
    if not raw:
        return None
    key = open311_keys.key_for(session, raw, now=_now())
    if key is None:
        raise Open311Error(403, "invalid api_key")
    return key


def _reader(session: Session, key: Open311Key | None) -> Reader:
    if key is None:
        return Reader()
    return Reader(key_id=key.id, agency_ids=open311_keys.agency_ids_of(session, key))


def _answer(suffix: str, produce: Callable[[str], tuple[str, Any]]) -> Response:
    """``produce(fmt)`` gives the root element and the body; an ``Open311Error`` becomes the spec's error."""
    try:
        fmt = format_of(suffix)
    except Open311Error as failure:
        return error("json", failure)
    try:
        root, body = produce(fmt)
    except Open311Error as failure:
        return error(fmt, failure)
    return render(fmt, root, body)


def _read(request: Request, work: Callable[[Session, Reader, dict[str, str]], Any]) -> Any:
    """Read-only store work with the reader the request's ``api_key`` makes, in one transaction."""
    params = dict(request.query_params)
    service_requests.Jurisdiction.parse(params.get("jurisdiction_id"))  # 404 for one we do not know
    if params.get("api_key"):  # a key's reads count against its rate as its posts do
        limit, period = request.app.state.settings.open311_key_limit
        with session_scope(request.app.state.engine) as session:  # committed apart: the read is read-only
            limits.count(session, _key(session, params["api_key"]).id, limit, period, _now())
    # keyless reads are public: their own bounded share of the store (bot/app.py), not the webhooks' pool
    public = not params.get("api_key")
    try:
        with request.app.state.public_reads.session() if public else session_scope(request.app.state.engine) as session:
            return work(session, _reader(session, _key(session, params.get("api_key"))), params)
    except SessionsBusy:  # the public reads' share stayed full: told in the spec's error format
        metrics.increment("public_reads_turned_away")
        raise Open311Error(503, "busy: try again shortly", retry_after=1) from None


async def _form(request: Request) -> dict[str, str]:
    """A POST's fields: the form body over the query string (some clients put api_key there)."""
    fields = dict(request.query_params)
    form = await request.form()
    fields.update({name: value for name, value in form.items() if isinstance(value, str)})
    return fields


# ---------------------------------------------------------------- discovery and services


@router.get("/discovery.{fmt}")
def discovery(fmt: str, request: Request) -> Response:
    base = request.app.state.settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return _answer(fmt, lambda _: ("discovery", {
        "changeset": catalog.CHANGESET,
        "contact": "Aduan: layanan pengaduan publik. Hubungi pengelola Aduan di instansi Anda.",
        "key_service": "Kunci api_key diberikan pengelola Aduan (aduan open311 key add).",
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": base + PREFIX,
            "changeset": catalog.CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }))


@router.get("/services.{fmt}")
def services(fmt: str, request: Request) -> Response:
    def produce(_: str):
        service_requests.Jurisdiction.parse(request.query_params.get("jurisdiction_id"))
        return "services", catalog.services()

    return _answer(fmt, produce)


@router.get("/services/{service_code}.{fmt}")
def service_definition(service_code: str, fmt: str, request: Request) -> Response:
    def produce(_: str):
        service_requests.Jurisdiction.parse(request.query_params.get("jurisdiction_id"))
        return "service_definition", catalog.definition(service_code)

    return _answer(fmt, produce)


# ---------------------------------------------------------------- requests


@router.get("/requests.{fmt}")
def get_requests(fmt: str, request: Request) -> Response:
    return _answer(fmt, lambda _: ("service_requests", _read(
        request, lambda session, reader, params: service_requests.find_requests(session, reader, params, now=_now())
    )))


@router.get("/requests/{request_id}.{fmt}")
def get_request(request_id: str, fmt: str, request: Request) -> Response:
    return _answer(fmt, lambda _: ("service_requests", _read(
        request, lambda session, reader, params: service_requests.find_request(session, reader, request_id, params)
    )))


async def _posted(
    suffix: str, request: Request, root: str, what: str, handle: Callable[[dict[str, str]], Awaitable[Any]]
) -> Response:
    """A POST's frame: the format, the form, a required ``api_key``; ``handle(form)`` gives the body.

    Once the body is there its transaction is committed: the dispatcher is woken for the messages it queued.
    """
    try:
        fmt = format_of(suffix)
    except Open311Error as failure:
        return error("json", failure)
    try:
        form = await _form(request)
        if not form.get("api_key"):
            raise Open311Error(403, f"api_key is required to post {what}")
        await _within_rate(request, form["api_key"])
        body = await handle(form)
    except Open311Error as failure:
        return error(fmt, failure)
    request.app.state.gateway.dispatcher.wake()
    return render(fmt, root, body)


async def _within_rate(request: Request, raw_key: str) -> None:
    """403 for a key not valid; 429 for a key over OPEN311_KEY_RATE (bot/open311/limits.py), before the request is handled."""
    limit, period = request.app.state.settings.open311_key_limit
    await in_transaction(
        request.app.state.engine,
        lambda session: limits.count(session, _key(session, raw_key).id, limit, period, _now()),
    )


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request) -> Response:
    """File a service request as a complaint (api_key required); answers its ticket."""
    engine = request.app.state.engine

    async def handle(form: dict[str, str]) -> list[dict]:
        service_requests.Jurisdiction.parse(form.get("jurisdiction_id"))  # 404 for one we do not know
        key_id = await in_transaction(engine, lambda session: _key(session, form["api_key"]).id)
        posted = intake.parse_form(form)  # after the key: nobody else makes us read their text
        read = None
        if posted.address_string and not posted.address_id:
            read = await reading_pool.read(regions.resolve, posted.address_string)

        def file(session: Session) -> list[dict]:
            key = session.get(Open311Key, key_id)
            place = intake.placed(key, posted, read)
            zone, _ = texts.timezone_of(place.province_code if place else None)
            complaint = intake.file_request(session, key, posted, place, today=_now().astimezone(zone).date())
            return [{
                "service_request_id": format_ticket(complaint.ticket),
                "service_notice": intake.service_notice(complaint),
                "account_id": None,
            }]

        return await in_transaction(engine, file)

    return await _posted(fmt, request, "service_requests", "a service request", handle)


# ---------------------------------------------------------------- mySociety's updates


@router.get("/servicerequestupdates.{fmt}")
def get_updates(fmt: str, request: Request) -> Response:
    return _answer(fmt, lambda _: ("service_request_updates", _read(
        request, lambda session, reader, params: updates.find_updates(session, reader, params, now=_now())
    )))


@router.post("/servicerequestupdates.{fmt}")
async def post_update(fmt: str, request: Request) -> Response:
    """An agency's system posts an update (api_key bound to agencies); the citizen is told."""

    def apply(form: dict[str, str], session: Session) -> list[dict]:
        key = _key(session, form["api_key"])
        agency_ids = open311_keys.agency_ids_of(session, key)
        now = _now()
        update_id = updates.post_update(
            session, key, form, agency_ids, today_of=lambda complaint: casework.local_today(complaint, now)
        )
        return [{"update_id": update_id}]

    async def handle(form: dict[str, str]) -> list[dict]:
        return await in_transaction(request.app.state.engine, lambda session: apply(form, session))

    return await _posted(fmt, request, "service_request_updates", "an update", handle)
