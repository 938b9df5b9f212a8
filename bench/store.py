"""Part 3, store: the repository's hot operations on 10k, 100k and 1M complaints, SQLite and PostgreSQL.

For each backend one database is made, migrated by ``storage.migrate.upgrade(url)`` (the schema
is exactly the app's), and grown step by step to each size with bulk inserts (SQLAlchemy Core
executemany on SQLite, COPY on PostgreSQL). After each step the operations are timed with the
app's own engine settings (``storage.db.make_engine``) and transactions (``session_scope``):

* ``ping``: ``SELECT 1`` in a ``session_scope``, the floor every operation pays (pool checkout
  with pre-ping on PostgreSQL, BEGIN or BEGIN IMMEDIATE, commit);
* ``lookup``: ``complaint_store.get_complaint`` of a random existing ticket;
* ``list_open_page``: what ``GET /api/v1/complaints?status=diproses`` runs for an officer:
  ``complaint_store.page_of_complaints`` first page (20, total counted up to ``LIST_COUNT_LIMIT``),
  scoped to a random routed agency (an officer's working list);
* ``list_open_busiest``: the same for the agency and open status with the most complaints
  (the national queue's ``diterima`` list, which every new complaint enters);
* ``status_change``: what ``POST /api/v1/complaints/{ticket}/status`` runs: the complaint looked
  up for the officer (``casework.complaint_for_officer``), then ``casework.change_status`` (the
  status and deadlines, a ``complaint_event``, the citizen's push in the outbox and a
  ``dialogue_push`` row), in one transaction;
* ``file``: what the dialogue's ``action_file_complaint`` runs: ``filing.file_complaint`` and
  ``casework.announce_new_complaint`` (the agency's officers told, one outbox row per address and
  SMS segment), in one transaction (70% from new numbers, 30% from known ones).

The data: ~40 agencies (the national queue and 39 regional ones, complaints spread over them
Zipf-like), routing rules for the regional ones (by category and kab/kota), an officer per agency
with one or two addresses (Telegram, some also SMS), statuses by age (mostly
diterima/diproses/selesai/ditutup) with the casework timestamps and ratings they imply, 13
categories skewed towards roads, created_at over 2 years weighted towards recent months, 0.7
citizens and URNs per complaint, a "filed" event per complaint plus one status event for those
that moved on.
"""

from __future__ import annotations

import os
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from stdnum import damm

from bench.corpus import CORPUS
from bench.stats import summary_ms
from bot import casework, filing
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import officers as officer_store
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import (
    ANY,
    Category,
    Citizen,
    Complaint,
    ComplaintEvent,
    ContactUrn,
    OfficerRole,
)

BATCH = 20_000
DAYS = 730
OPEN_STATUSES = ("diterima", "diteruskan", "diproses")

CATEGORY_WEIGHTS = {
    "infrastruktur": 28, "lingkungan": 12, "air_bersih": 9, "listrik": 8, "kependudukan": 7,
    "kesehatan": 7, "pendidikan": 6, "bantuan_sosial": 6, "ketertiban_umum": 5, "transportasi": 4,
    "pungli_korupsi": 3, "pelayanan_administrasi": 3, "lainnya": 2,
}
CHANNELS = (("sms", 55), ("whatsapp", 30), ("telegram", 15))
# (kab/kota code, name, agency code prefix) of the regional agencies; 13 areas x 3 agencies = 39.
REGIONS = (
    ("34.04", "Kab. Sleman", "SLEMAN"), ("34.71", "Kota Yogyakarta", "YOGYA"), ("34.02", "Kab. Bantul", "BANTUL"),
    ("34.03", "Kab. Gunungkidul", "GUNUNGKIDUL"), ("34.01", "Kab. Kulon Progo", "KULONPROGO"),
    ("51.71", "Kota Denpasar", "DENPASAR"), ("51.03", "Kab. Badung", "BADUNG"), ("51.04", "Kab. Gianyar", "GIANYAR"),
    ("13.71", "Kota Padang", "PADANG"), ("13.75", "Kota Bukittinggi", "BUKITTINGGI"), ("13.06", "Kab. Agam", "AGAM"),
    ("36.03", "Kab. Tangerang", "KABTANGERANG"), ("31.74", "Kota Jakarta Selatan", "JAKSEL"),
)
AGENCY_KINDS = (("DPUPR", "Dinas PUPR"), ("DLH", "Dinas Lingkungan Hidup"), ("DINKES", "Dinas Kesehatan"))
# The routing rules of each area: these categories go to that kind of agency; the rest of the
# area's complaints to its DPUPR (a rule for any category); other areas to the national queue.
ROUTED_CATEGORIES = {"DLH": ("lingkungan", "air_bersih"), "DINKES": ("kesehatan", "bantuan_sosial")}


def _weighted(choices: dict[str, int] | tuple) -> tuple[list, list]:
    items = list(choices.items()) if isinstance(choices, dict) else list(choices)
    return [k for k, _ in items], [w for _, w in items]


# ---------------------------------------------------------------- databases


class Backend:
    """One database on one backend, migrated from empty by the app's Alembic migrations."""

    def __init__(self, name: str, url: str, cleanup: Callable[[], None]) -> None:
        self.name = name
        self.url = url
        self._cleanup = cleanup
        upgrade(url)
        self.engine: Engine = make_engine(url)
        self.counter = StatementCounter(self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.name == "postgresql"

    def size_bytes(self) -> int | None:
        if self.is_postgres:
            with self.engine.connect() as connection:
                return connection.execute(text("SELECT pg_database_size(current_database())")).scalar()
        path = Path(make_url(self.url).database)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*") if p.exists())

    def close(self) -> None:
        self.engine.dispose()
        self._cleanup()


def sqlite_backend(workdir: Path) -> Backend:
    directory = Path(tempfile.mkdtemp(prefix="aduan-bench-store-", dir=workdir))
    return Backend("sqlite", f"sqlite:///{directory / 'store.db'}", lambda: shutil.rmtree(directory, ignore_errors=True))


def postgres_backend(admin_url: str) -> Backend:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"aduan_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    print(f"[store] created PostgreSQL database {name}", flush=True)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        print(f"[store] dropped PostgreSQL database {name}", flush=True)

    try:
        return Backend("postgresql", url, drop)
    except BaseException:
        drop()
        raise


def postgres_version(admin_url: str) -> str | None:
    try:
        engine = create_engine(admin_url)
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar()
        engine.dispose()
        return version
    except Exception:  # noqa: BLE001 - no server: the caller says so
        return None


# ---------------------------------------------------------------- the data


class Dataset:
    """Generates rows continuing from what is already loaded; remembers what the operations need."""

    def __init__(self, seed: int = 1708) -> None:
        self.rng = random.Random(seed)
        self.now = datetime.now(timezone.utc)
        self.complaints = 0  # complaints bulk-loaded (the nominal size)
        self.citizens = 0  # citizens bulk-loaded
        # Last id used per table; resynchronised after each measurement, which inserts rows too.
        self.last_id = {"citizen": 0, "contact_urn": 0, "complaint": 0, "complaint_event": 0}
        self.tickets: list[str] = []  # every loaded ticket, for lookups
        self.used_bodies: set[int] = set()
        self.agencies: list[tuple[int, str | None]] = []  # (id, region) of routed agencies
        self.agency_weights: list[float] = []
        self.national_id = 0
        self.officer_of: dict[int, int] = {}  # agency id -> its officer's id
        self.officers: dict[int, object] = {}  # agency id -> its Officer (detached), who acts in status changes
        self.citizen_urn: list[tuple[int, int, str, str]] = []  # (citizen id, urn id, urn, channel) of loaded citizens
        # (ticket, agency id, status) of complaints in an open status, for status changes (sampled)
        self.open_complaints: list[tuple[str, int, str]] = []
        self.filed_numbers = 0  # new numbers used by the filing operation
        self.descriptions = [c.description for c in CORPUS]
        self.categories, self.category_weights = _weighted(CATEGORY_WEIGHTS)
        self.channels, self.channel_weights = _weighted(CHANNELS)

    # agencies and officers, once
    def create_agencies(self, backend: Backend) -> None:
        with session_scope(backend.engine) as session:
            self.national_id = agency_store.national_queue(session).id
            routed = []
            for code, area, suffix in REGIONS:
                of_kind = {}
                for kind, label in AGENCY_KINDS:
                    agency = agency_store.create_agency(
                        session, code=f"{kind}-{suffix}", name=f"{label} {area}", region_code=code
                    )
                    routed.append((agency.id, code))
                    of_kind[kind] = agency.id
                agency_store.set_routing_rule(session, agency_id=of_kind["DPUPR"], category=ANY, region_code=code)
                for kind, categories in ROUTED_CATEGORIES.items():
                    for category in categories:
                        agency_store.set_routing_rule(session, agency_id=of_kind[kind], category=category, region_code=code)
            for agency_id in [self.national_id] + [a for a, _ in routed]:
                role = OfficerRole.admin if agency_id == self.national_id else OfficerRole.officer
                officer = officer_store.create_officer(session, name=f"Petugas {agency_id}", agency_id=agency_id, role=role)
                # one or two addresses each (a Telegram account; every other agency an SMS number too),
                # with their contact rows as the first notification or command would have made them
                urns = [f"telegram:{700000000 + officer.id}"]
                if agency_id % 2 == 0:
                    urns.append(f"sms:+62811{officer.id:07d}")
                for urn in urns:
                    officer_store.add_officer_urn(session, officer.id, urn)
                    contact_store.get_or_create_urn(session, urn)
                self.officer_of[agency_id] = officer.id
                self.officers[agency_id] = officer
        self.sync_ids(backend)  # the officers' contact rows made citizens and URNs
        order = list(routed)
        self.rng.shuffle(order)
        self.agencies = order
        self.agency_weights = [1 / (rank + 1) ** 0.9 for rank in range(len(order))]

    def sync_ids(self, backend: Backend) -> None:
        """Continue after the rows the measurements inserted (filing makes citizens, URNs, complaints)."""
        with backend.engine.connect() as connection:
            # Tickets drawn by filing.file_complaint must not be drawn again by the loader.
            for (ticket,) in connection.execute(
                text("SELECT ticket FROM complaint WHERE id > :last"), {"last": self.last_id["complaint"]}
            ):
                self.used_bodies.add(int(ticket[:7]))
            for table in self.last_id:
                self.last_id[table] = connection.execute(text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()

    def _ticket(self) -> str:
        while True:
            body = self.rng.randrange(10**6, 10**7)
            if body not in self.used_bodies:
                self.used_bodies.add(body)
                digits = str(body)
                return digits + damm.calc_check_digit(digits)

    def _status(self, age_days: float) -> str:
        r = self.rng.random()
        if age_days < 7:
            table = (("diterima", 0.45), ("diteruskan", 0.25), ("diproses", 0.25), ("selesai", 0.04), ("ditolak", 0.01))
        elif age_days < 60:
            table = (("diterima", 0.08), ("diteruskan", 0.12), ("diproses", 0.40), ("selesai", 0.30), ("ditutup", 0.07), ("ditolak", 0.03))
        else:
            table = (("diterima", 0.01), ("diteruskan", 0.01), ("diproses", 0.08), ("selesai", 0.30), ("ditutup", 0.57), ("ditolak", 0.03))
        for status, share in table:
            r -= share
            if r < 0:
                return status
        return table[-1][0]

    def grow(self, target: int) -> Iterator[tuple[str, list[dict]]]:
        """Batches of (table, rows) that bring the dataset to ``target`` complaints."""
        rng = self.rng
        while self.complaints < target:
            count = min(BATCH, target - self.complaints)
            citizens_target = round((self.complaints + count) * 0.7)
            new_citizens = max(0, citizens_target - self.citizens)
            citizen_rows, urn_rows = [], []
            for _ in range(new_citizens):
                self.citizens += 1
                citizen_id = self.last_id["citizen"] = self.last_id["citizen"] + 1
                urn_id = self.last_id["contact_urn"] = self.last_id["contact_urn"] + 1
                channel = rng.choices(self.channels, self.channel_weights)[0]
                if channel == "telegram":
                    urn = f"telegram:{100000000 + self.citizens}"
                else:
                    urn = f"{channel}:+628{rng.choice('1235789')}{self.citizens:09d}"
                created = self.now - timedelta(days=DAYS * rng.random() ** 1.5)
                citizen_rows.append({"id": citizen_id, "language": "id", "created_at": created})
                urn_rows.append({"id": urn_id, "urn": urn, "scheme": urn.split(":")[0], "citizen_id": citizen_id, "created_at": created})
                self.citizen_urn.append((citizen_id, urn_id, urn, channel))
            if citizen_rows:
                yield "citizen", citizen_rows
                yield "contact_urn", urn_rows
            complaint_rows, event_rows = [], []
            first_new = len(self.citizen_urn) - new_citizens  # new citizens get their first complaint here
            for i in range(count):
                self.complaints += 1
                cid = self.last_id["complaint"] = self.last_id["complaint"] + 1
                if i < new_citizens:
                    reporter = first_new + i
                else:  # a repeat reporter, skewed towards a few frequent ones
                    reporter = min(len(self.citizen_urn) - 1, int(len(self.citizen_urn) * rng.random() ** 3))
                citizen, urn_id, urn, channel = self.citizen_urn[reporter]
                age = DAYS * rng.random() ** 1.5
                created = self.now - timedelta(days=age)
                status = self._status(age)
                if status in ("diterima", "ditolak"):
                    agency_id, region = self.national_id, rng.choice(REGIONS)[0]
                else:
                    agency_id, region = rng.choices(self.agencies, self.agency_weights)[0]
                updated = created if status == "diterima" else created + timedelta(hours=rng.uniform(2, min(age * 24, 24 * 30)) if age > 0.1 else 0)
                description = rng.choice(self.descriptions)
                ticket = self._ticket()
                self.tickets.append(ticket)
                if status in OPEN_STATUSES and (len(self.open_complaints) < 50_000 or rng.random() < 0.05):
                    self.open_complaints.append((ticket, agency_id, status))
                # what casework leaves behind: the first action (diproses or a reply), when it was
                # resolved (the citizen's 14 days run from there), closed or rejected, the rating
                acted = status in ("diproses", "selesai", "ditutup") or (status == "diteruskan" and rng.random() < 0.3)
                followed_up_at = updated if acted else None
                resolved_at = updated if status in ("selesai", "ditutup") else None
                closed_at = (
                    min(updated + timedelta(days=14), self.now) if status == "ditutup" else updated if status == "ditolak" else None
                )
                rating = rng.choice((3, 4, 4, 5, 5)) if status == "ditutup" and rng.random() < 0.6 else None
                complaint_rows.append({
                    "id": cid, "ticket": ticket, "citizen_id": citizen, "urn_id": urn_id, "channel": channel,
                    "description": description, "category": rng.choices(self.categories, self.category_weights)[0],
                    "secondary_category": None, "province_code": region[:2], "region_code": region,
                    "district_code": f"{region}.{rng.randrange(1, 18):02d}", "address": description[-40:],
                    "anonymous": rng.random() < 0.15, "confidential": rng.random() < 0.02, "status": status,
                    "agency_id": agency_id, "language": "id", "created_at": created, "updated_at": updated,
                    "verify_due": (created + timedelta(days=4)).date(),
                    "followup_due": (updated + timedelta(days=7)).date() if status != "diterima" else None,
                    "resolve_due": (created + timedelta(days=30)).date() if status not in ("diterima", "ditolak") else None,
                    "followed_up_at": followed_up_at, "resolved_at": resolved_at, "closed_at": closed_at,
                    "rating": rating,
                })
                event_id = self.last_id["complaint_event"] = self.last_id["complaint_event"] + 1
                event_rows.append({
                    "id": event_id, "complaint_id": cid, "kind": "filed", "from_status": None, "to_status": "diterima",
                    "actor_type": "citizen", "actor_officer_id": None, "note": None, "created_at": created,
                })
                if status != "diterima":
                    event_id = self.last_id["complaint_event"] = self.last_id["complaint_event"] + 1
                    event_rows.append({
                        "id": event_id, "complaint_id": cid, "kind": "status", "from_status": "diterima",
                        "to_status": status, "actor_type": "officer", "actor_officer_id": self.officer_of[agency_id],
                        "note": None, "created_at": updated,
                    })
            yield "complaint", complaint_rows
            yield "complaint_event", event_rows


TABLES = {
    "citizen": Citizen.__table__,
    "contact_urn": ContactUrn.__table__,
    "complaint": Complaint.__table__,
    "complaint_event": ComplaintEvent.__table__,
}


def load(backend: Backend, dataset: Dataset, target: int) -> dict:
    """Bulk-insert up to ``target`` complaints; prints progress; returns the load's timing."""
    started = time.monotonic()
    before = dataset.complaints
    rows_written = 0
    last_print = 0
    raw = backend.engine.raw_connection() if backend.is_postgres else None
    try:
        connection = None if raw else backend.engine.connect()
        transaction = connection.begin() if connection else None
        for table, rows in dataset.grow(target):
            if raw is not None:
                _copy(raw, table, rows)
            else:
                connection.execute(insert(TABLES[table]), rows)
            rows_written += len(rows)
            if table == "complaint_event" and (dataset.complaints - last_print >= 100_000 or dataset.complaints == target):
                if transaction is not None:  # commit as we go: one huge SQLite transaction gains little
                    transaction.commit()
                    transaction = connection.begin()
                else:
                    raw.commit()
                last_print = dataset.complaints
                elapsed = time.monotonic() - started
                print(
                    f"[store] {backend.name}: {dataset.complaints:,}/{target:,} complaints loaded "
                    f"({elapsed:.0f} s, {(dataset.complaints - before) / max(elapsed, 1e-9):,.0f} complaints/s)",
                    flush=True,
                )
        if transaction is not None:
            transaction.commit()
            connection.close()
        if raw is not None:
            cursor = raw.cursor()
            for table in TABLES:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
                )
            raw.commit()
    finally:
        if raw is not None:
            raw.close()
    load_seconds = time.monotonic() - started
    maintenance_seconds = 0.0
    if backend.is_postgres:
        # What autovacuum does after a bulk load (insert-triggered vacuum, auto-analyze); the
        # app never runs ANALYZE on SQLite, so SQLite gets no statistics (as in production).
        maintenance_started = time.monotonic()
        with backend.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE"))
        maintenance_seconds = time.monotonic() - maintenance_started
    return {
        "complaints_added": dataset.complaints - before,
        "rows_written": rows_written,
        "seconds": round(load_seconds, 1),
        "complaints_per_second": round((dataset.complaints - before) / load_seconds) if load_seconds else None,
        "vacuum_analyze_seconds": round(maintenance_seconds, 1) if backend.is_postgres else None,
    }


def _copy(raw, table: str, rows: list[dict]) -> None:
    columns = list(rows[0].keys())
    cursor = raw.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


# ---------------------------------------------------------------- the operations


class StatementCounter:
    """Counts the SQL statements SQLAlchemy sends, and the round trips to the database.

    ``count``: statements through SQLAlchemy's cursor (SAVEPOINT and RELEASE included; on SQLite the
    ``BEGIN IMMEDIATE`` too). ``round_trips``: those plus the transaction's BEGIN (PostgreSQL: psycopg
    sends it before the first statement), COMMIT or ROLLBACK, and liveness pings on checkout (the
    dialect's ``do_ping``). On SQLite a "round trip" is a call into the library, not a network trip.
    """

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.round_trips = 0
        self._implicit_begin = engine.dialect.name != "sqlite"
        event.listen(engine, "before_cursor_execute", self._count)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)
        dialect = engine.dialect
        ping = dialect.do_ping

        def counted_ping(dbapi_connection) -> bool:
            self.round_trips += 1
            return ping(dbapi_connection)

        dialect.do_ping = counted_ping  # the pool's pre-ping, or storage.db's ping of idle connections

    def reset(self) -> None:
        self.count = self.round_trips = 0

    def _count(self, *_: object) -> None:
        self.count += 1
        self.round_trips += 1

    def _begin(self, *_: object) -> None:
        if self._implicit_begin:
            self.round_trips += 1

    def _end(self, *_: object) -> None:
        self.round_trips += 1


def _timed(repetitions: int, warmup: int, operation: Callable[[int], None], counter: StatementCounter) -> dict:
    for i in range(warmup):
        operation(-1 - i)
    durations = []
    counter.reset()
    for i in range(repetitions):
        started = time.perf_counter()
        operation(i)
        durations.append(time.perf_counter() - started)
    return summary_ms(durations) | {
        "statements": round(counter.count / repetitions, 1),
        "round_trips": round(counter.round_trips / repetitions, 1),
    }


# An officer's next step from each open status (casework.OFFICER_TRANSITIONS allows it).
NEXT_STATUS = {"diterima": "diteruskan", "diteruskan": "diproses", "diproses": "selesai"}
UNROUTED_PLACES = (("35.78", "35.78.01", "Tegalsari, Surabaya"), ("73.71", "73.71.10", "Panakkukang, Makassar"))


def measure(backend: Backend, dataset: Dataset, repetitions: int) -> dict[str, dict]:
    engine = backend.engine
    counter = backend.counter
    rng = random.Random(dataset.complaints)
    results: dict[str, dict] = {}
    today = date.today()

    def ping(_: int) -> None:  # the floor of every operation: a transaction with one trivial query
        with session_scope(engine) as session:
            session.execute(text("SELECT 1"))

    results["ping"] = _timed(repetitions, 20, ping, counter)

    def lookup(_: int) -> None:
        ticket = rng.choice(dataset.tickets)
        with session_scope(engine) as session:
            complaint = complaint_store.get_complaint(session, ticket)
        assert complaint is not None, ticket

    results["lookup"] = _timed(repetitions, 20, lookup, counter)

    def list_page(agency_id: int, status: str) -> None:
        # what GET /api/v1/complaints?status=... runs for an officer of the agency (without the response)
        with session_scope(engine) as session:
            found = complaint_store.page_of_complaints(
                session, complaint_store.ComplaintFilter(status=status), agency_scope=agency_id, page=1, page_size=20,
                count_limit=complaint_store.LIST_COUNT_LIMIT,
            )
        assert len(found.items) <= 20 and found.total >= len(found.items)

    results["list_open_page"] = _timed(
        repetitions, 10, lambda _: list_page(rng.choices(dataset.agencies, dataset.agency_weights)[0][0], "diproses"), counter
    )
    with session_scope(engine) as session:
        busiest = session.execute(
            select(Complaint.agency_id, Complaint.status, func.count())
            .where(Complaint.status.in_(OPEN_STATUSES))
            .group_by(Complaint.agency_id, Complaint.status)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
    results["list_open_busiest"] = _timed(repetitions, 10, lambda _: list_page(busiest[0], busiest[1]), counter)
    results["list_open_busiest"]["rows_matching"] = busiest[2]
    results["list_open_busiest"]["filter"] = f"agency {busiest[0]}, status {busiest[1]}"

    def status_change(_: int) -> None:
        # what POST /api/v1/complaints/{ticket}/status runs (bot/api/routes/complaints.py), without the response
        index = rng.randrange(len(dataset.open_complaints))
        ticket, agency_id, status = dataset.open_complaints[index]
        new = NEXT_STATUS[status]
        officer = dataset.officers[agency_id]
        with session_scope(engine) as session:
            complaint = casework.complaint_for_officer(session, officer, ticket)
            casework.change_status(
                session, complaint, new, actor=casework.Actor.of(officer), note="Sudah dicek ke lokasi.", today=today
            )
        if new in OPEN_STATUSES:
            dataset.open_complaints[index] = (ticket, agency_id, new)
        else:  # resolved: no longer an officer's to move on
            dataset.open_complaints[index] = dataset.open_complaints[-1]
            dataset.open_complaints.pop()

    results["status_change"] = _timed(max(1, repetitions // 2), 5, status_change, counter)

    def file(_: int) -> None:
        # what the dialogue's action_file_complaint runs (bot/actions/complaint.py)
        if rng.random() < 0.3:
            _, _, urn, channel = rng.choice(dataset.citizen_urn)
        else:
            channel = "sms"
            dataset.filed_numbers += 1
            urn = f"sms:+62858{dataset.filed_numbers:09d}"
        if rng.random() < 0.9:  # a pilot area (routed to its agency), else the national queue
            region, name, _ = rng.choice(REGIONS)
            district, address = f"{region}.{rng.randrange(1, 18):02d}", f"Desa Sukamaju, {name}"
        else:
            region, district, address = rng.choice(UNROUTED_PLACES)
        new = complaint_store.NewComplaint(
            urn=urn, channel=channel, description=rng.choice(dataset.descriptions),
            category=Category(rng.choices(dataset.categories, dataset.category_weights)[0]),
            province_code=region[:2], region_code=region, district_code=district, address=address,
            anonymous=rng.random() < 0.15,
        )
        with session_scope(engine) as session:
            filed = filing.file_complaint(session, new, today=today)
            casework.announce_new_complaint(session, filed)

    results["file"] = _timed(max(1, repetitions // 2), 5, file, counter)
    return results


def run(
    sizes: list[int], backends: list[str], repetitions: int, pg_admin_url: str, workdir: Path, out: dict | None = None
) -> dict:
    """Fills ``out`` as it goes, so that a failure or Ctrl-C keeps what was measured."""
    out = {} if out is None else out
    out.update({"sizes": sizes, "backends": {}, "repetitions": repetitions, "notes": []})
    for name in backends:
        if name == "postgresql" and postgres_version(pg_admin_url) is None:
            message = f"PostgreSQL at {make_url(pg_admin_url).render_as_string(hide_password=True)} is not reachable: skipped"
            print(f"[store] {message}", flush=True)
            out["notes"].append(message)
            continue
        backend = sqlite_backend(workdir) if name == "sqlite" else postgres_backend(pg_admin_url)
        steps = out["backends"][name] = []
        try:
            dataset = Dataset()
            dataset.create_agencies(backend)
            for size in sorted(sizes):
                print(f"[store] {name}: loading to {size:,} complaints", flush=True)
                loaded = load(backend, dataset, size)
                print(f"[store] {name}: measuring at {size:,} complaints ({repetitions} repetitions)", flush=True)
                ops = measure(backend, dataset, repetitions)
                dataset.sync_ids(backend)
                size_bytes = backend.size_bytes()
                steps.append({"size": size, "load": loaded, "database_bytes": size_bytes, "operations": ops})
                line = ", ".join(f"{op} p50 {v['p50_ms']:.2f} p95 {v['p95_ms']:.2f}" for op, v in ops.items())
                print(f"[store] {name} @ {size:,}: {line} (ms)", flush=True)
        finally:
            backend.close()
    return out
