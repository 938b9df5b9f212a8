"""Shared fixtures: stores (SQLite and the real PostgreSQL), migrated from empty by Alembic."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text

from storage.db import make_engine
from storage.migrate import upgrade

# ``client`` and ``world`` of the public app, for the tests of the public page and of Open311 (a
# module that defines its own fixture of the same name uses its own)
pytest_plugins = ["tests.public_app_support"]

# Every app a test makes needs the action endpoint's secret (bot/app.py refuses to start without
# one); subprocesses (uvicorn --factory) inherit it. A test of the refusal unsets it.
os.environ.setdefault("ACTIONS_TOKEN", "tests-" + uuid.uuid4().hex)
# Apps made in tests read on their own threads: a reading pool costs each app start ~12 s. The
# pool has its own tests (tests/bot/test_reading_pool.py), and the e2e stack runs with it.
os.environ.setdefault("READING_WORKERS", "0")

# The PostgreSQL server of the machine (CI has one too). Each test run makes its own databases.
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def on_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _postgres_or_skip() -> Engine:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server"
        admin.dispose()
        message = f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {exc}"
        if on_ci():
            pytest.fail(message)  # on CI a missing service is a failure, not a skip
        pytest.skip(message)
    return admin


def fresh_postgres_database() -> tuple[str, callable]:
    """A new empty database on the PostgreSQL server; returns (url, drop)."""
    admin = _postgres_or_skip()
    name = f"aduan_test_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database_url(request, tmp_path) -> Iterator[str]:
    """The URL of an empty database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aduan.db'}"
        return
    url, drop = fresh_postgres_database()
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def database_url(empty_database_url) -> str:
    """A migrated database (Alembic, not create_all), on SQLite and on PostgreSQL."""
    upgrade(empty_database_url)
    return empty_database_url


@pytest.fixture
def engine(database_url) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'aduan.db'}"
    upgrade(url)
    return url


@pytest.fixture
def store(sqlite_url) -> Iterator[Engine]:
    """The app's engine on a migrated SQLite store."""
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fakes():
    """A fake Rasa, a fake Twilio API and a fake Telegram Bot API on loopback."""
    from tests.fakes.rasa import FakeRasa
    from tests.fakes.telegram_api import FakeTelegram
    from tests.fakes.twilio_api import FakeTwilio

    rasa, twilio, telegram = FakeRasa().start(), FakeTwilio().start(), FakeTelegram().start()
    yield rasa, twilio, telegram
    for fake in (rasa, twilio, telegram):
        fake.stop()
