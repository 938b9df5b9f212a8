"""Work for one instance at a time (issue #12): an advisory lock on PostgreSQL picks the leader."""

from __future__ import annotations

import asyncio

import pytest

from bot.leadership import run_as_leader
from storage import advisory_locks
from storage.db import make_engine
from tests.conftest import fresh_postgres_database


@pytest.fixture
def pg():
    url, drop = fresh_postgres_database()
    engine = make_engine(url)
    yield engine
    engine.dispose()
    drop()


@pytest.mark.postgres
def test_only_one_instance_holds_a_job_and_the_next_gets_it_once_released(pg):
    first = advisory_locks.try_hold(pg, "telegram-polling")
    assert first is not None
    assert advisory_locks.try_hold(pg, "telegram-polling") is None  # another instance, meanwhile
    other_job = advisory_locks.try_hold(pg, "something-else")
    assert other_job is not None  # locks are per job
    first.release()
    second = advisory_locks.try_hold(pg, "telegram-polling")
    assert second is not None and second.still_held()
    second.release()
    other_job.release()


@pytest.mark.postgres
def test_when_the_leader_stops_another_instance_takes_the_job_over(pg):
    running: list[str] = []

    def job_of(instance: str):
        async def job() -> None:
            running.append(instance)
            await asyncio.Event().wait()  # polls until cancelled

        return job

    async def scenario() -> tuple[list[str], list[str]]:
        a = asyncio.create_task(run_as_leader(pg, "telegram-polling", job_of("a"), retry_seconds=0.1))
        await asyncio.sleep(0.5)
        b = asyncio.create_task(run_as_leader(pg, "telegram-polling", job_of("b"), retry_seconds=0.1))
        await asyncio.sleep(0.5)
        while_a_leads = list(running)
        a.cancel()  # instance a stops (or dies: its connection, and the lock with it, goes)
        await asyncio.gather(a, return_exceptions=True)
        for _ in range(50):
            if len(running) > len(while_a_leads):
                break
            await asyncio.sleep(0.1)
        b.cancel()
        await asyncio.gather(b, return_exceptions=True)
        return while_a_leads, running

    while_a_leads, everything = asyncio.run(scenario())
    assert while_a_leads == ["a"]
    assert everything == ["a", "b"]


def test_on_sqlite_the_one_instance_always_leads(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'aduan.db'}")
    held = advisory_locks.try_hold(engine, "telegram-polling")
    assert held is not None and held.still_held()
    held.release()
    engine.dispose()


def _driver_connection(held):
    connection = held._connection  # the psycopg connection holding the lock
    return getattr(getattr(connection, "connection", None), "driver_connection", connection)


@pytest.mark.postgres
def test_the_lock_connection_notices_a_silently_dead_peer_within_seconds(pg):
    # Without keepalives a holder that vanished (power cut, a partition) keeps the lock until the
    # kernel gives up, hours later, and Telegram is not polled meanwhile (issue #26). Both ends are
    # set: the server drops a dead holder's session (and its lock) within ~30 s, and the holder,
    # which checks its lock every 10 s, notices a dead path sooner and stops polling first.
    held = advisory_locks.try_hold(pg, "telegram-polling")
    try:
        connection = _driver_connection(held)
        client = connection.info.get_parameters()
        assert client.get("keepalives", "1") == "1"  # libpq's default, listed only when set otherwise
        assert {key: int(client.get(key, 0)) for key in ("keepalives_idle", "keepalives_interval", "keepalives_count")} == {
            "keepalives_idle": 5, "keepalives_interval": 2, "keepalives_count": 3,
        }
        assert int(client.get("tcp_user_timeout", 0)) == 10_000  # ms: an unanswered send fails after 10 s
        with connection.cursor() as cursor:
            server = {}
            for name in ("tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count", "tcp_user_timeout"):
                cursor.execute(f"SHOW {name}")
                server[name] = cursor.fetchone()[0]
        assert server == {  # what the server's end applies to this session's socket (s; ms)
            "tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "4", "tcp_user_timeout": "30000",
        }
        assert held.still_held()
    finally:
        held.release()
    # the pool's connections are not changed: only the lock's own connection
    with pg.connect() as pooled:
        assert pooled.exec_driver_sql("SHOW tcp_user_timeout").scalar() == "0"
