"""Alembic environment: runs the migrations on the URL given by the caller or DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context

from storage.db import DEFAULT_DATABASE_URL, make_engine
import storage.models  # noqa: F401  (registers every table on the metadata)
from storage.models import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_, obj, autogen_context):
    """Write plain SQLAlchemy types into migrations, so they do not depend on SQLModel's internals."""
    if type_ == "type":
        name = type(obj).__name__
        if name == "AutoString":
            return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
        if name == "UTCDateTime":
            return "sa.DateTime(timezone=True)"
    return False


def _database_url() -> str:
    # the app and `aduan migrate` pass their settings' URL; a bare `alembic` reads DATABASE_URL
    return config.attributes.get("database_url") or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def run_migrations_offline() -> None:
    context.configure(url=_database_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(_database_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True, render_item=_render_item
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
