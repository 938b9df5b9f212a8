"""Two changes to one complaint at the same moment (issue #10): the second waits for the first and sees it.

On PostgreSQL for real: the first change holds its transaction open while the second starts on
another connection and has read the complaint; only once the second is seen waiting for the row
lock (pg_stat_activity) does the first commit. Without the lock the second validated against the
old state and pushed too. On SQLite a second writer cannot even begin before the first is done.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.exc import OperationalError

from bot import casework, officer_desk
from bot.app import create_app
from bot.casework import Actor, CaseworkError
from bot.config import Settings
from storage import complaints as complaint_store
from storage import officers as officer_store
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import Officer
from storage.tickets import format_ticket
from tests.casework_support import (
    CITIZEN_URN,
    PUPR_OFFICER_URN,
    build_world,
    events,
    file,
    inbound,
    pushes,
    utc,
)
from tests.channels_support import wait_for
from tests.conftest import fresh_postgres_database

DAY = date(2026, 12, 1)


@pytest.fixture
def postgres_url():
    url, drop = fresh_postgres_database()
    upgrade(url)
    yield url
    drop()


@pytest.fixture
def pg(postgres_url):
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def _waiting_for_a_lock(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        ).scalar_one()


def race(engine, first, second) -> dict:
    """``first`` changes the complaint and keeps its transaction open until ``second``, started meanwhile
    on another connection, waits for it (or is done); then ``first`` commits. Returns what ``second`` gave."""
    outcome: dict = {}

    def run_second() -> None:
        try:
            with session_scope(engine) as session:
                outcome["value"] = second(session)
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc

    with session_scope(engine) as session:
        outcome["first"] = first(session)
        session.flush()
        thread = threading.Thread(target=run_second)
        thread.start()
        wait_for(lambda: _waiting_for_a_lock(engine) or not thread.is_alive(), what="the second change to wait")
    thread.join(timeout=30)
    assert not thread.is_alive()
    return outcome


def _actor(session, officer_id: int) -> Actor:
    return Actor.of(session.get(Officer, officer_id))


def _set(session, world, ticket: str, status: str, note: str | None = None):
    complaint = complaint_store.get_complaint(session, ticket)
    return casework.change_status(
        session, complaint, status, actor=_actor(session, world.pupr_officer_id), note=note, today=DAY
    )


def _filed(engine, *statuses: str):
    with session_scope(engine) as session:
        world = build_world(session)
        complaint = file(session)
    for status in statuses:
        with session_scope(engine) as session:
            _set(session, world, complaint.ticket, status)
    return world, complaint.ticket


def _status_events(engine, ticket: str) -> list[tuple[str, str]]:
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        return [(e.from_status, e.to_status) for e in events(session, complaint.id) if e.kind == "status"]


@pytest.mark.postgres
def test_of_two_status_changes_at_the_same_moment_the_second_sees_the_first_and_is_refused(pg):
    world, ticket = _filed(pg, "diteruskan", "diproses")
    with session_scope(pg) as session:
        pushed_before = len(pushes(session, CITIZEN_URN))
    outcome = race(
        pg,
        lambda s: _set(s, world, ticket, "selesai"),
        lambda s: _set(s, world, ticket, "ditolak", note="bukan kewenangan"),
    )
    assert isinstance(outcome.get("error"), CaseworkError), outcome
    assert outcome["error"].code == "bad_transition"
    assert _status_events(pg, ticket)[-1] == ("diproses", "selesai")
    assert len(_status_events(pg, ticket)) == 3
    with session_scope(pg) as session:
        assert complaint_store.get_complaint(session, ticket).status == "selesai"
        assert len(pushes(session, CITIZEN_URN)) == pushed_before + 1  # the citizen is told once


@pytest.mark.postgres
def test_the_same_status_change_twice_at_once_is_done_once(pg):
    world, ticket = _filed(pg, "diteruskan")
    outcome = race(pg, lambda s: _set(s, world, ticket, "diproses"), lambda s: _set(s, world, ticket, "diproses"))
    assert isinstance(outcome.get("error"), CaseworkError) and outcome["error"].code == "unchanged"
    assert _status_events(pg, ticket).count(("diteruskan", "diproses")) == 1


def _feedback(session, ticket: str, resolved: bool):
    complaint = complaint_store.get_complaint(session, ticket)
    return casework.record_feedback(session, complaint, resolved=resolved, rating=None, comment="belum" if not resolved else "ya")


def _age_resolution(engine, ticket: str) -> None:
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        complaint.resolved_at = utc(2026, 12, 1, 3)
        session.add(complaint)


@pytest.mark.postgres
def test_the_clock_does_not_close_a_complaint_the_citizen_reopens_at_that_moment(pg):
    world, ticket = _filed(pg, "diteruskan", "diproses", "selesai")
    _age_resolution(pg, ticket)
    outcome = race(pg, lambda s: _feedback(s, ticket, resolved=False), lambda s: casework.run_clock(s, utc(2026, 12, 20, 3)))
    assert outcome["first"] == "diproses"
    assert outcome["value"].closed == 0, outcome
    with session_scope(pg) as session:
        assert complaint_store.get_complaint(session, ticket).status == "diproses"
    assert ("selesai", "ditutup") not in _status_events(pg, ticket)


@pytest.mark.postgres
def test_a_citizens_answer_after_the_clock_closed_it_at_that_moment_is_refused(pg):
    world, ticket = _filed(pg, "diteruskan", "diproses", "selesai")
    _age_resolution(pg, ticket)
    outcome = race(pg, lambda s: casework.run_clock(s, utc(2026, 12, 20, 3)), lambda s: _feedback(s, ticket, resolved=False))
    assert outcome["first"].closed == 1
    assert isinstance(outcome.get("error"), CaseworkError) and outcome["error"].code == "not_resolved"
    assert _status_events(pg, ticket)[-1] == ("selesai", "ditutup")


@pytest.mark.postgres
def test_an_api_status_change_that_loses_to_a_chat_command_gets_409(postgres_url, pg):
    world, ticket = _filed(pg, "diteruskan", "diproses")
    with session_scope(pg) as session:
        token = officer_store.issue_token(session, world.pupr_officer_id)
    settings = Settings(DATABASE_URL=postgres_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        outcome = race(
            pg,
            lambda s: _set(s, world, ticket, "selesai"),  # the officer's chat command, in its transaction
            lambda _s: client.post(
                f"/api/v1/complaints/{format_ticket(ticket)}/status",
                json={"status": "ditolak", "note": "bukan kewenangan"},
                headers={"Authorization": f"Bearer {token}"},
            ),
        )
    response = outcome["value"]
    assert response.status_code == 409, response.text
    assert response.json()["detail"]["code"] == "bad_transition"
    assert _status_events(pg, ticket)[-1] == ("diproses", "selesai")


def test_on_sqlite_a_second_writer_cannot_begin_while_the_first_is_open(store):
    """SQLite has no FOR UPDATE: every transaction begins IMMEDIATE, so no second one can read stale state."""
    with session_scope(store) as session:
        world = build_world(session)
        ticket = file(session).ticket
    impatient = make_engine(str(store.url))

    @event.listens_for(impatient, "connect")
    def _short_wait(dbapi_connection, _record) -> None:  # after the engine's own (30 s) busy timeout
        dbapi_connection.execute("PRAGMA busy_timeout=50")

    try:
        with session_scope(store) as session:
            _set(session, world, ticket, "diteruskan")
            session.flush()
            with pytest.raises(OperationalError, match="locked"):
                with session_scope(impatient) as other:
                    complaint_store.get_complaint(other, ticket)
        with session_scope(impatient) as other:  # once the first is done, the second reads its result
            assert complaint_store.get_complaint(other, ticket).status == "diteruskan"
    finally:
        impatient.dispose()



@pytest.mark.postgres
def test_a_change_by_an_officer_whose_agency_just_lost_the_complaint_is_refused(pg):
    world, ticket = _filed(pg, "diteruskan")

    def reroute(session):
        complaint = complaint_store.get_complaint(session, ticket)
        return casework.reroute(session, complaint, "DLH-3404", actor=_actor(session, world.pupr_officer_id), note=None, today=DAY)

    outcome = race(pg, reroute, lambda s: _set(s, world, ticket, "diproses"))
    assert isinstance(outcome.get("error"), CaseworkError) and outcome["error"].code == "not_found"
    assert _status_events(pg, ticket)[-1] == ("diterima", "diteruskan")


@pytest.mark.postgres
def test_a_chat_command_that_loses_to_an_api_change_is_told_what_the_status_is_now(pg):
    world, ticket = _filed(pg, "diteruskan", "diproses")

    def chat_command(session):
        message = inbound(session, PUPR_OFFICER_URN, f"/status {format_ticket(ticket)} ditolak bukan kewenangan")
        officer = session.get(Officer, world.pupr_officer_id)
        return officer_desk.handle(session, officer, message, datetime.now(timezone.utc))

    outcome = race(pg, lambda s: _set(s, world, ticket, "selesai"), chat_command)
    assert "SELESAI" in outcome["value"], outcome
    assert _status_events(pg, ticket)[-1] == ("diproses", "selesai")
    with session_scope(pg) as session:
        assert complaint_store.get_complaint(session, ticket).status == "selesai"


@pytest.mark.postgres
def test_two_clocks_recording_the_same_alert_at_the_same_moment_record_it_once(pg):
    # several app instances each run the deadline clock (issue #12): the second insert waits for the
    # first on the unique index and is told "recorded before", instead of failing its whole tick
    from storage import deadlines as deadline_store

    with session_scope(pg) as session:
        build_world(session)
        complaint_id = file(session).id
    record = lambda s: deadline_store.record_alert(s, complaint_id, "verify", "breach", DAY)  # noqa: E731
    outcome = race(pg, record, record)
    assert outcome == {"first": True, "value": False}, outcome
    with session_scope(pg) as session:
        assert [a.kind for a in deadline_store.breaches_of(session, complaint_id)] == ["breach"]
