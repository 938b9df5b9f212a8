"""The schema comes from Alembic: applied to an empty database it matches the models, and reverses."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from storage.models import SQLModel

TABLES = {
    "citizen", "contact_urn", "agency", "officer", "api_token", "complaint", "complaint_event", "message", "outbox",
    "officer_urn", "routing_rule", "deadline_alert", "dialogue_push", "open311_key",
    "open311_confirmation",
}


def test_migrations_on_an_empty_database_match_the_models(empty_database_url):
    upgrade(empty_database_url)
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            assert TABLES <= set(inspect(connection).get_table_names())
            differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    finally:
        engine.dispose()
    assert differences == [], "models and migrations disagree: write a migration"


def test_migrations_reverse_to_empty_and_apply_again(empty_database_url):
    upgrade(empty_database_url)
    downgrade(empty_database_url, "base")
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            assert not TABLES & set(inspect(connection).get_table_names())
    finally:
        engine.dispose()
    upgrade(empty_database_url)


@pytest.mark.postgres
@pytest.mark.timeout(120)  # without the lock the two deadlock: a hang, not an error
def test_two_instances_migrating_one_store_at_once_both_succeed_one_after_the_other():
    from concurrent.futures import ThreadPoolExecutor

    from tests.conftest import fresh_postgres_database

    url, drop = fresh_postgres_database()
    try:
        with ThreadPoolExecutor(2) as pool:  # two VMs' migration units starting together
            list(pool.map(lambda _: upgrade(url), range(2)))
        engine = make_engine(url)
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0013"
        engine.dispose()
    finally:
        drop()
