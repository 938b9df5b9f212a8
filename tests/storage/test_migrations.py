"""The schema comes from Alembic: applied to an empty database it matches the models, and reverses."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.db import make_engine
from storage.migrate import downgrade, upgrade
from storage.models import SQLModel

TABLES = {
    "citizen", "contact_urn", "agency", "officer", "api_token", "complaint", "complaint_event", "message", "outbox",
    "officer_urn", "routing_rule", "deadline_alert", "dialogue_push",
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
