"""Apply the Alembic migrations from code (used by the CLI, the run command and the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text

from storage import advisory_locks

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


MIGRATION_LOCK = "aduan-migrate"


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the store to ``revision``. On PostgreSQL one caller at a time (an advisory lock): two
    instances starting together (two VMs' migration units, two ``aduan run``) do not race."""
    engine = create_engine(database_url) if database_url.startswith("postgresql") else None
    if engine is None:
        command.upgrade(alembic_config(database_url), revision)
        return
    try:
        with engine.connect() as connection:
            connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            key = advisory_locks.lock_key(MIGRATION_LOCK)
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})  # waits for the other
            try:
                command.upgrade(alembic_config(database_url), revision)
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        engine.dispose()


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)
