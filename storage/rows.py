"""Helpers every aggregate of the store shares: the dialect's ``ON CONFLICT`` insert, aware datetimes, the database's clock, ``NotFound``, the error columns' length.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from sqlalchemy import DateTime, Float, literal
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session


class NotFound(LookupError):
    pass


def dialect_insert(session: Session, model):
    """``INSERT`` for ``model`` in the session's SQL dialect, to use ``ON CONFLICT`` (PostgreSQL, SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no ON CONFLICT insert for {dialect}")


def insert_unless_exists(session: Session, row, unique: str | Sequence[str]):
    """Insert a new model object unless a row with the same ``unique`` column(s) exists; None if one does.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` statement: a unique clash (another writer
    got there first) needs no savepoint around the insert, and the transaction stays usable. On
    success ``row`` gets its id and joins the session as a persistent object, as if it had been
    added and flushed (a Core insert: cheaper than the ORM's INSERT ... RETURNING of an entity).
    """
    session.flush()  # what the row refers to is written first, as a flush would order it
    table = type(row).__table__
    values = {column.key: getattr(row, column.key) for column in table.columns if not column.primary_key}
    statement = (
        dialect_insert(session, table).values(**values).on_conflict_do_nothing(index_elements=[unique] if isinstance(unique, str) else list(unique)).returning(table.c.id)
    )
    new_id = session.exec(statement).scalar()
    if new_id is None:
        return None
    row.id = new_id
    make_transient_to_detached(row)
    session.add(row)
    return row


def aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; they are stored in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


class _DatabaseNow(FunctionElement):
    """The database's clock plus a number of seconds, comparable with stored datetimes (``database_now``)."""

    type = DateTime(timezone=True)
    name = "database_now"
    inherit_cache = True


def database_now(plus: timedelta = timedelta(0)) -> _DatabaseNow:
    """The database's ``now()`` (+ ``plus``), computed in the statement, as a SQL expression.

    For what several app instances must agree on (leases, claims): each instance's own clock may be
    off, the database's is one clock for all of them.
    """
    return _DatabaseNow(literal(plus.total_seconds(), Float))


@compiles(_DatabaseNow, "postgresql")
def _database_now_postgresql(element, compiler, **kw) -> str:
    # now(): the transaction's start, one moment for every statement of the transaction
    return f"(now() + make_interval(secs => {compiler.process(element.clauses, **kw)}))"


@compiles(_DatabaseNow, "sqlite")
def _database_now_sqlite(element, compiler, **kw) -> str:
    # SQLite stores datetimes as text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC (SQLAlchemy's form), and
    # compares them as text; CURRENT_TIMESTAMP ('YYYY-MM-DD HH:MM:SS') would sort before every
    # stored value of the same second. %f gives milliseconds: padded to the stored six digits.
    seconds = compiler.process(element.clauses, **kw)
    return f"(strftime('%Y-%m-%d %H:%M:%f', 'now', printf('%+.6f seconds', {seconds})) || '000')"
