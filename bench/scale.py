"""Part scale (issue #12): 1 app + 1 Rasa against N apps + M Rasa, on this machine, in the same run.

For each layout (``--scale-layouts``, default ``1x1,2x2``: APPSxENGINES) the stack is started with
``aduan run --apps A --engines E`` on PostgreSQL (a fresh store database and a fresh tracker
database, dropped at the end) and Redis (Rasa's lock store when E > 1), even for 1x1, so that only
the number of processes differs. The latency part's *app* path then drives it: the same scripted
dialogues through signed Twilio SMS webhooks, each message posted to the next app instance in turn
(what a round-robin load balancer does; the signature is over PUBLIC_BASE_URL, the same for every
instance), a turn timed from the webhook to the arrival at the fake Twilio of the last SMS that
answers it. Per closed-loop concurrency level (``--scale-concurrency``): turns, wall time,
throughput, p50/p95/p99, busy notices, failed turns; and the CPU seconds of each kind of process
(/proc/<pid>/stat) and of the whole machine (/proc/stat) during the level, and the RSS and PSS
(/proc/<pid>/smaps_rollup) of every process, sampled while the levels run.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from bench.corpus import LATENCY_DIALOGUES
from bench.fake_twilio import WEBHOOK_PATH, CapturingTwilio, TwilioWebhooks
from bench.latency import PathResult, Senders, TwilioPath, _citizen, repetitions_for
from bench.stack import ADUAN, STARTUP_TIMEOUT, _children, _provider_env, cmdline, descendants, ensure_model, read_status
from bot.cli import ROOT

SAMPLE_INTERVAL = 1.0  # seconds between memory samples (smaps_rollup walks the page tables: not free)
WARMUP_CITIZENS = 4  # after the calibration, one dialogue each, not measured
STOP_TIMEOUT = 120  # `aduan run` stops the app instances, then the engines (each up to ENGINE_STOP_TIMEOUT)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# Process kinds, in report order. The first five are the stack (`aduan run` and its descendants).
PARENT, APP, WORKER, RASA, OTHER = "aduan run", "app instance", "reading worker", "rasa server", "other child"
POSTGRES, REDIS, BENCH = "postgresql", "redis-server", "benchmark"
STACK_KINDS = (PARENT, APP, WORKER, RASA, OTHER)
KINDS = (*STACK_KINDS, POSTGRES, REDIS, BENCH)


def parse_layouts(text: str) -> list[tuple[int, int]]:
    layouts = []
    for part in text.split(","):
        part = part.strip().lower()
        if not part:
            continue
        match = re.fullmatch(r"(\d+)x(\d+)", part)
        if not match or int(match[1]) < 1 or int(match[2]) < 1:
            raise ValueError(f"{part!r}: a layout is APPSxENGINES, e.g. 1x1 or 2x2")
        layouts.append((int(match[1]), int(match[2])))
    if not layouts:
        raise ValueError("no layout given")
    return layouts


def layout_name(apps: int, engines: int) -> str:
    return f"{apps}x{engines}"


# ---------------------------------------------------------------- preflight


def _resp(*args: str) -> bytes:
    """One command in Redis's protocol (an array of bulk strings: any byte in an argument is fine)."""
    encoded = [arg.encode() for arg in args]
    return f"*{len(encoded)}\r\n".encode() + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in encoded)


def redis_version(redis_url: str, timeout: float = 3.0) -> str:
    """The server's version (AUTH, PING, INFO server); raises OSError/RuntimeError with the reason when it cannot be used."""
    parts = urlsplit(redis_url)
    commands = []
    if parts.password:
        commands.append(_resp("AUTH", *([unquote(parts.username)] if parts.username else []), unquote(parts.password)))
    commands += [_resp("PING"), _resp("INFO", "server")]
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=timeout) as sock:
        stream = sock.makefile("rb")
        replies = []
        for command in commands:
            sock.sendall(command)
            line = stream.readline().rstrip(b"\r\n")
            if not line:
                raise RuntimeError("the server closed the connection")
            if line.startswith(b"-"):
                raise RuntimeError(line[1:].decode(errors="replace"))
            if line.startswith(b"$") and int(line[1:]) >= 0:  # a bulk string (INFO): read it whole
                line = stream.read(int(line[1:]) + 2)
            replies.append(line)
    for text_line in replies[-1].decode(errors="replace").splitlines():
        if text_line.startswith("redis_version:"):
            return text_line.split(":", 1)[1].strip()
    return "unknown"


def safe_redis_url(redis_url: str) -> str:
    """The URL without its password, for messages and the report."""
    parts = urlsplit(redis_url)
    return f"redis://{parts.hostname or '127.0.0.1'}:{parts.port or 6379}{parts.path or ''}"


def preflight(pg_admin_url: str, redis_url: str) -> dict[str, str]:
    """PostgreSQL and Redis must answer before any stack starts; a clear SystemExit otherwise."""
    from sqlalchemy.engine import make_url

    from bench.store import postgres_version

    problems = []
    pg = postgres_version(pg_admin_url)
    if pg is None:
        shown = make_url(pg_admin_url).render_as_string(hide_password=True)
        problems.append(
            f"PostgreSQL is not reachable at {shown} (--pg-admin-url or $TEST_POSTGRES_URL): the scale part runs "
            "every layout on PostgreSQL (store and Rasa's tracker store)"
        )
    try:
        redis = redis_version(redis_url)
    except (OSError, RuntimeError, ValueError) as exc:
        redis = None
        problems.append(
            f"Redis is not reachable at {safe_redis_url(redis_url)} ({type(exc).__name__}: {exc}) (--scale-redis-url): "
            "several Rasa servers need it for their lock store"
        )
    if problems:
        raise SystemExit("[bench] the scale part cannot run:\n  " + "\n  ".join(problems))
    return {"postgresql": pg, "redis": redis}


# ---------------------------------------------------------------- /proc


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (all its threads), in seconds; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) ": field 3 (state) is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_pss(pid: int) -> tuple[int, int] | None:
    """Rss and Pss of a process in KiB, from /proc/<pid>/smaps_rollup (Linux 4.14+)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0])
    if "Rss" not in values or "Pss" not in values:
        return None
    return values["Rss"], values["Pss"]


def machine_cpu() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot, from /proc/stat's first line."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def _environ_value(pid: int, name: str) -> str | None:
    try:
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            key, _, value = item.partition(b"=")
            if key.decode(errors="replace") == name:
                return value.decode(errors="replace")
    except OSError:
        pass
    return None


def _servers() -> list[tuple[int, str]]:
    """PostgreSQL's and Redis's processes on this machine (every one: they serve other clients too)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm == "postgres" or comm.startswith("postgres:"):
            found.append((int(entry.name), POSTGRES))
        elif comm == "redis-server":
            found.append((int(entry.name), REDIS))
    return found


def _short(command: str) -> str:
    if "multiprocessing.resource_tracker" in command:
        return "multiprocessing resource tracker"
    return command[:80]


@dataclass(frozen=True)
class Proc:
    pid: int
    kind: str
    label: str


class ProcessTree:
    """The processes of one stack, classified: ``aduan run``, its app instances (``bot.cli serve``, named by
    ADUAN_INSTANCE) and their reading-pool workers, its Rasa servers (``rasa_launcher.py ... --port P``),
    anything else it started; and PostgreSQL, Redis and this benchmark process."""

    def __init__(self, root: int, rasa_port: int, single: bool) -> None:
        self.root = root
        self.rasa_port = rasa_port
        self.single = single  # 1x1: `aduan run` is the app itself, its reading pool its own child
        self.commands: dict[int, str] = {}
        self._labels: dict[int, str] = {}

    def _command(self, pid: int) -> str:
        """Read every time: right after a fork a child still shows its parent's command line."""
        command = self.commands[pid] = cmdline(pid)
        return command

    def _rasa_label(self, pid: int, command: str) -> str:
        match = re.search(r"--port[ =](\d+)", command)
        return f"rasa-{int(match[1]) - self.rasa_port + 1}" if match else f"rasa (pid {pid})"

    def _app_label(self, pid: int) -> str:
        if pid not in self._labels:
            self._labels[pid] = _environ_value(pid, "ADUAN_INSTANCE") or f"app (pid {pid})"
        return self._labels[pid]

    def stack(self) -> list[Proc]:
        if read_status(self.root) is None:
            return []
        self._command(self.root)
        procs = [Proc(self.root, PARENT, "aduan run (the app itself)" if self.single else "aduan run (supervisor, action relay)")]
        for child in _children(self.root):
            command = self._command(child)
            if "rasa_launcher" in command or ("rasa" in command and " run " in f"{command} "):
                label = self._rasa_label(child, command)
                procs.append(Proc(child, RASA, label))
                procs += [Proc(p, OTHER, f"{label}: {self._command(p)[:60]}") for p in descendants(child)]
            elif "bot.cli serve" in command:
                label = self._app_label(child)
                procs.append(Proc(child, APP, label))
                for pid in descendants(child):
                    sub = self._command(pid)
                    kind = WORKER if "spawn_main" in sub else OTHER
                    procs.append(Proc(pid, kind, f"{label} reading worker" if kind == WORKER else f"{label}: {_short(sub)}"))
            elif "spawn_main" in command:
                procs.append(Proc(child, WORKER, "reading worker"))
            else:
                procs.append(Proc(child, OTHER, _short(command) or f"pid {child}"))
                procs += [Proc(p, OTHER, _short(self._command(p))) for p in descendants(child)]
        return procs

    def everything(self) -> list[Proc]:
        servers = [Proc(pid, kind, kind) for pid, kind in _servers()]
        return [*self.stack(), *servers, Proc(os.getpid(), BENCH, "benchmark (load generator, fake Twilio, sampler)")]


# ---------------------------------------------------------------- CPU


def cpu_snapshot(tree: ProcessTree) -> dict:
    procs = {}
    for proc in tree.everything():
        seconds = cpu_seconds(proc.pid)
        if seconds is not None:
            procs[proc.pid] = (proc.kind, proc.label, seconds)
    return {"at": time.monotonic(), "machine": machine_cpu(), "procs": procs}


def cpu_delta(before: dict, after: dict) -> dict:
    """CPU seconds per kind (and per stack process) between two snapshots, and how busy the machine was.

    A process that started in between counts with all its CPU; one that ended in between is lost
    (short-lived PostgreSQL backends, a restarted child: the restarts are reported apart)."""
    wall = after["at"] - before["at"]
    by_kind = {kind: 0.0 for kind in KINDS}
    by_label: dict[str, float] = {}
    for pid, (kind, label, seconds) in after["procs"].items():
        old = before["procs"].get(pid)
        used = seconds - (old[2] if old else 0.0)
        by_kind[kind] += used
        if kind in STACK_KINDS:
            by_label[label] = by_label.get(label, 0.0) + used
    busy = after["machine"][0] - before["machine"][0]
    total = after["machine"][1] - before["machine"][1]
    cores = os.cpu_count() or 1
    stack_seconds = sum(by_kind[k] for k in STACK_KINDS)
    return {
        "wall_seconds": round(wall, 3),
        "seconds_by_kind": {k: round(v, 2) for k, v in by_kind.items()},
        "seconds_by_process": {k: round(v, 2) for k, v in sorted(by_label.items())},
        "stack_seconds": round(stack_seconds, 2),
        "stack_cores": round(stack_seconds / wall, 2) if wall else None,
        "machine_busy_cores": round(busy / CLOCK_TICKS / wall, 2) if wall else None,
        "machine_busy_share": round(busy / total, 3) if total else None,
        "cores": cores,
    }


# ---------------------------------------------------------------- memory


@dataclass
class Series:
    """Max and mean of one quantity over the samples."""

    max: int = 0
    total: int = 0
    n: int = 0

    def add(self, value: int) -> None:
        self.max = max(self.max, value)
        self.total += value
        self.n += 1

    def mean(self) -> int | None:
        return round(self.total / self.n) if self.n else None


@dataclass
class ProcessMemory:
    kind: str
    label: str
    command: str
    rss: Series = field(default_factory=Series)
    pss: Series = field(default_factory=Series)


@dataclass
class MemorySampler:
    """Every ``interval`` s while a phase is set: RSS and PSS of every process of ``tree``, per process and
    summed per kind (PostgreSQL: all its processes together), and the stack's total PSS."""

    tree: ProcessTree
    interval: float = SAMPLE_INTERVAL
    phase: str | None = None
    processes: dict[int, ProcessMemory] = field(default_factory=dict)
    kind_rss: dict[str, Series] = field(default_factory=dict)
    kind_pss: dict[str, Series] = field(default_factory=dict)
    stack_pss: dict[str, Series] = field(default_factory=dict)  # per phase, and "all"
    seen_pids: dict[str, set[int]] = field(default_factory=dict)  # kind -> every pid seen (restarts show here)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "MemorySampler":
        self._thread = threading.Thread(target=self._run, name="scale-memory-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            phase = self.phase
            if phase is not None:
                self.sample(phase)
            self._stop.wait(self.interval)

    def sample(self, phase: str) -> None:
        rss_sum = {k: 0 for k in KINDS}
        pss_sum = {k: 0 for k in KINDS}
        present = set()
        for proc in self.tree.everything():
            values = rss_pss(proc.pid)
            if values is None:
                continue
            rss, pss = values
            present.add(proc.kind)
            rss_sum[proc.kind] += rss
            pss_sum[proc.kind] += pss
            self.seen_pids.setdefault(proc.kind, set()).add(proc.pid)
            if proc.kind in (POSTGRES, BENCH):
                continue  # PostgreSQL: many short-lived backends, reported summed; the benchmark: summed
            record = self.processes.get(proc.pid)
            if record is None or record.kind != proc.kind:
                record = self.processes[proc.pid] = ProcessMemory(proc.kind, proc.label, self.tree.commands.get(proc.pid, "")[:200])
            record.rss.add(rss)
            record.pss.add(pss)
        for kind in present:
            self.kind_rss.setdefault(kind, Series()).add(rss_sum[kind])
            self.kind_pss.setdefault(kind, Series()).add(pss_sum[kind])
        total = sum(pss_sum[k] for k in STACK_KINDS)
        if total:
            self.stack_pss.setdefault(phase, Series()).add(total)
            self.stack_pss.setdefault("all", Series()).add(total)

    def summary(self) -> dict:
        kinds = {}
        for kind in KINDS:
            records = [r for r in self.processes.values() if r.kind == kind]
            if not records and kind not in self.kind_pss:
                continue
            rss_n = sum(r.rss.n for r in records)
            pss_n = sum(r.pss.n for r in records)
            kinds[kind] = {
                "processes": len(records) if records else None,
                "pids_seen": len(self.seen_pids.get(kind, ())),
                "rss_max_kib": max((r.rss.max for r in records), default=None),
                "rss_mean_kib": round(sum(r.rss.total for r in records) / rss_n) if rss_n else None,
                "pss_max_kib": max((r.pss.max for r in records), default=None),
                "pss_mean_kib": round(sum(r.pss.total for r in records) / pss_n) if pss_n else None,
                "sum_rss_max_kib": self.kind_rss[kind].max if kind in self.kind_rss else None,
                "sum_pss_max_kib": self.kind_pss[kind].max if kind in self.kind_pss else None,
                "sum_pss_mean_kib": self.kind_pss[kind].mean() if kind in self.kind_pss else None,
            }
        return {
            "sample_interval_seconds": self.interval,
            "by_kind": kinds,
            "stack_pss_kib": {phase: {"max": s.max, "mean": s.mean(), "samples": s.n} for phase, s in self.stack_pss.items()},
            "processes": [
                {
                    "pid": pid, "kind": r.kind, "label": r.label, "command": r.command,
                    "rss_max_kib": r.rss.max, "rss_mean_kib": r.rss.mean(),
                    "pss_max_kib": r.pss.max, "pss_mean_kib": r.pss.mean(), "samples": r.rss.n,
                    "vm_hwm_kib": (read_status(pid) or {}).get("VmHWM"),
                }
                for pid, r in sorted(self.processes.items(), key=lambda item: (KINDS.index(item[1].kind), item[1].label))
            ],
        }  # fmt: skip


# ---------------------------------------------------------------- databases


class Databases:
    """A fresh store database (migrated: bench.store.postgres_backend) and a fresh, empty tracker database."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        from bench.store import postgres_backend

        self._text = text
        self.admin_url = make_url(admin_url)
        self._store = postgres_backend(admin_url)
        self._store.engine.dispose()  # `aduan run` has its own engine; it migrates again (idempotent)
        self.store_url = self._store.url
        self.tracker_db = f"aduan_bench_tracker_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self._admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        try:
            # Created here (Rasa could, through RASA_TRACKER_LOGIN_DB): dropped by us in any case
            with self._admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{self.tracker_db}"'))
        except BaseException:
            self._store.close()
            raise
        print(f"[scale] created PostgreSQL tracker database {self.tracker_db}", flush=True)

    def tracker_environment(self) -> dict[str, str]:
        url = self.admin_url
        host = f"{url.host or '127.0.0.1'}:{url.port or 5432}"
        user, password = url.username or "postgres", url.password or ""
        env = {
            "RASA_TRACKER_DIALECT": "postgresql",
            "RASA_TRACKER_HOST": host,
            "RASA_TRACKER_DB": self.tracker_db,
            "RASA_TRACKER_USER": user,
            "RASA_TRACKER_PASSWORD": str(password),
            "RASA_TRACKER_LOGIN_DB": url.database or "postgres",
        }
        return env

    def sizes(self) -> dict | None:
        """Bytes on disk of the store and the tracker store and what they hold (the capacity plan's
        bytes per complaint); None when they cannot be read."""
        from sqlalchemy import create_engine

        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        store = create_engine(self.store_url)
        try:
            with admin.connect() as connection:
                size = lambda name: connection.execute(self._text("SELECT pg_database_size(:n)"), {"n": name}).scalar()  # noqa: E731
                store_bytes, tracker_bytes = size(store.url.database), size(self.tracker_db)
            with store.connect() as connection:
                count = lambda table: connection.execute(self._text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: E731
                complaints, messages = count("complaint"), count("message")
            return {"store_bytes": store_bytes, "tracker_bytes": tracker_bytes, "complaints": complaints, "messages": messages}
        except Exception:  # noqa: BLE001 - reported as missing
            return None
        finally:
            admin.dispose()
            store.dispose()

    def tracker_counts(self) -> dict[str, int] | None:
        """Rasa's events in the tracker database, by type (a check that the engines really kept their
        conversations there); None when it cannot be read."""
        from sqlalchemy import create_engine

        engine = create_engine(self.admin_url.set(database=self.tracker_db))
        try:
            with engine.connect() as connection:
                rows = connection.execute(self._text("SELECT type_name, count(*) FROM events GROUP BY type_name")).all()
            return {name: count for name, count in rows}
        except Exception:  # noqa: BLE001 - no table (Rasa never wrote), server gone: reported as missing
            return None
        finally:
            engine.dispose()

    def close(self) -> None:
        try:
            with self._admin.connect() as connection:
                connection.execute(self._text(f'DROP DATABASE IF EXISTS "{self.tracker_db}" WITH (FORCE)'))
            print(f"[scale] dropped PostgreSQL tracker database {self.tracker_db}", flush=True)
        finally:
            self._admin.dispose()
            self._store.close()


# ---------------------------------------------------------------- the stack


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def consecutive_ports(count: int, avoid: set[int] = frozenset()) -> int:
    """A first port such that ``count`` consecutive loopback ports from it are free."""
    rng = secrets.SystemRandom()
    for _ in range(200):
        first = rng.randrange(20_000, 60_000)
        ports = range(first, first + count)
        if not avoid & set(ports) and all(_port_free(p) for p in ports):
            return first
    raise RuntimeError(f"no {count} consecutive free ports on 127.0.0.1")


@dataclass
class ScaledStack:
    """``aduan run --apps A --engines E``; what bench.latency's paths need of a stack: ``twilio``, ``env``, ``check_alive``."""

    apps: int
    engines: int
    app_urls: list[str]
    rasa_urls: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen
    tree: ProcessTree
    twilio: CapturingTwilio
    startup_seconds: float = 0.0
    last_stack: list[Proc] = field(default_factory=list)

    @property
    def name(self) -> str:
        return layout_name(self.apps, self.engines)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"`aduan run` ({self.name}) exited with {self.process.returncode} during the benchmark (see {self.log})")

    def health(self, url: str) -> dict:
        return httpx.get(f"{url}/health", timeout=5).json()

    def ready(self) -> bool:
        """Every app instance answers /health with its store ok and every Rasa server ok."""
        for url in self.app_urls:
            try:
                health = self.health(url)
                rasa = health["rasa"]
                servers = rasa.get("servers") or [rasa]
                if health["store"] != "ok" or len(servers) != self.engines or any(s["state"] != "ok" for s in servers):
                    return False
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                return False
        return True

    def stop(self) -> None:
        """SIGINT, as Ctrl-C: `aduan run` stops its app instances, then its engines. Stragglers are ended by pid."""
        known = self.tree.stack() or self.last_stack
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        ours = [p for p in known if p.pid != self.tree.root]

        def alive(proc: Proc) -> bool:
            return read_status(proc.pid) is not None and cmdline(proc.pid) == self.tree.commands.get(proc.pid, cmdline(proc.pid))

        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 0)):
            left = [p for p in ours if alive(p)]
            for proc in left:
                try:
                    os.kill(proc.pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + wait
            while left and time.monotonic() < deadline and any(alive(p) for p in left):
                time.sleep(0.5)


def start_scaled(workdir: Path, apps: int, engines: int, databases: Databases, redis_url: str, twilio: CapturingTwilio) -> ScaledStack:
    workdir.mkdir(parents=True, exist_ok=True)
    app_port = consecutive_ports(apps)
    rasa_port = consecutive_ports(engines, avoid=set(range(app_port, app_port + apps)))
    public_url = f"http://127.0.0.1:{app_port}"  # what every instance's webhooks are signed over, as behind a load balancer
    env = {
        **os.environ,
        "DATABASE_URL": databases.store_url,
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(app_port),
        "RASA_PORT": str(rasa_port),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "ACTIONS_TOKEN": secrets.token_urlsafe(16),
        **databases.tracker_environment(),
        "REDIS_URL": redis_url,
        "SIMULATOR_ENABLED": "false",  # not used here
        "LOG_LEVEL": os.environ.get("BENCH_STACK_LOG_LEVEL", "INFO"),
        **_provider_env(public_url, twilio),
    }
    for variable in ("RASA_URL", "RASA_URLS", "ACTION_ENDPOINT_URL"):
        env.pop(variable, None)
    log = workdir / "stack.log"
    started = time.monotonic()
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(ADUAN), "run", "--apps", str(apps), "--engines", str(engines)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    stack = ScaledStack(
        apps=apps,
        engines=engines,
        app_urls=[f"http://127.0.0.1:{app_port + i}" for i in range(apps)],
        rasa_urls=[f"http://127.0.0.1:{rasa_port + i}" for i in range(engines)],
        env=env,
        log=log,
        process=process,
        tree=ProcessTree(process.pid, rasa_port, single=apps == 1 and engines == 1),
        twilio=twilio,
    )
    print(
        f"[scale] {stack.name}: aduan run --apps {apps} --engines {engines} (pid {process.pid}), "
        f"apps :{app_port}+{apps - 1}, rasa :{rasa_port}+{engines - 1}, log {log}",
        flush=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not stack.ready():
            if process.poll() is not None:
                raise RuntimeError(f"`aduan run` ({stack.name}) exited with {process.returncode}:\n{log.read_text()[-4000:]}")
            if time.monotonic() > deadline:
                lines = [line for line in log.read_text().splitlines() if "access:" not in line]
                raise RuntimeError(f"the {stack.name} stack was not ready after {STARTUP_TIMEOUT} s:\n" + "\n".join(lines[-60:]))
            stack.last_stack = stack.tree.stack() or stack.last_stack
            time.sleep(1)
    except BaseException:
        stack.stop()
        raise
    stack.startup_seconds = time.monotonic() - started
    stack.last_stack = stack.tree.stack()
    print(f"[scale] {stack.name}: ready after {stack.startup_seconds:.0f} s", flush=True)
    return stack


# ---------------------------------------------------------------- the load


class BalancedWebhooks:
    """Twilio's webhooks, signed over PUBLIC_BASE_URL as Twilio signs them, posted to the app instances in
    turn: a round-robin load balancer in front of them. ``url`` is read once per message (TwilioPath.turn)."""

    def __init__(self, signed: TwilioWebhooks, app_urls: list[str]) -> None:
        self._signed = signed
        self.targets = [url.rstrip("/") + WEBHOOK_PATH for url in app_urls]
        self.sent = {url: 0 for url in self.targets}
        self._next = 0

    def request(self, sender: str, text: str) -> tuple[bytes, dict[str, str]]:
        return self._signed.request(sender, text)

    @property
    def url(self) -> str:
        target = self.targets[self._next % len(self.targets)]
        self._next += 1
        self.sent[target] += 1
        return target


def _turn_failures(log: Path) -> int:
    try:
        return log.read_text(errors="replace").count("turn failed")
    except OSError:
        return 0


def _restarts(log: Path) -> int:
    try:
        return sum(" died" in line for line in log.read_text(errors="replace").splitlines())
    except OSError:
        return 0


async def _level(path: TwilioPath, stack: ScaledStack, concurrency: int, repetitions: int) -> tuple[PathResult, dict]:
    """One closed-loop level: bench.latency.run_path, with the CPU snapshots right around the turns."""
    result = PathResult(path.name, concurrency, dialogues=concurrency * repetitions)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=180.0, limits=limits) as client:
        before = cpu_snapshot(stack.tree)
        started = time.perf_counter()
        await asyncio.gather(*(_citizen(path, client, i, repetitions, result) for i in range(concurrency)))
        result.wall_seconds = time.perf_counter() - started
        after = cpu_snapshot(stack.tree)
        stack.check_alive()
        await path.after_level(client, result)  # late SMS (not timed)
    return result, cpu_delta(before, after)


def _drive(stack: ScaledStack, sampler: MemorySampler, senders: Senders, levels: list[int], min_turns: int, measured: dict) -> None:
    """Calibration and warm-up, then every level; ``measured`` fills level by level."""
    path = TwilioPath(stack, senders)  # type: ignore[arg-type]  # duck-typed: twilio, env, check_alive
    balancer = BalancedWebhooks(path.webhooks, stack.app_urls)
    path.webhooks = balancer  # type: ignore[assignment]
    measured["levels"] = []

    async def main() -> None:
        print(f"[scale] {stack.name}: calibrating (every dialogue once, one citizen) and warming up ...", end=" ", flush=True)
        started = time.monotonic()
        await path.calibrate()
        warmup = await _warm(path, stack)
        measured["warmup"] = {"seconds": round(time.monotonic() - started, 1), "errors": warmup.errors}
        measured["sms_per_turn"] = [
            [path.expected.get((d, p)) for p in range(len(dialogue) + 1)] for d, dialogue in enumerate(LATENCY_DIALOGUES)
        ]
        print(f"{measured['warmup']['seconds']} s", flush=True)
        for concurrency in levels:
            repetitions = repetitions_for(concurrency, min_turns)
            failures_before = _turn_failures(stack.log)
            sent_before = dict(balancer.sent)
            print(f"[scale] {stack.name}: {concurrency} citizens x {repetitions} dialogues ...", end=" ", flush=True)
            sampler.phase = f"x{concurrency}"
            try:
                result, cpu = await _level(path, stack, concurrency, repetitions)
            finally:
                sampler.phase = None
            summary = result.summary()
            level = {
                "concurrency": concurrency,
                "dialogues_per_citizen": repetitions,
                **{k: summary[k] for k in (
                    "dialogues", "turns", "errors", "dialogues_without_ticket", "status_checks_failed", "empty_replies",
                    "busy_notices", "short_turns", "late_messages", "wall_seconds", "n", "mean_ms", "p50_ms", "p95_ms",
                    "p99_ms", "max_ms", "p50_ms_by_turn", "examples",
                )},
                "turns_per_second": summary["messages_per_second"],
                "turn_failures_in_log": _turn_failures(stack.log) - failures_before,
                "webhooks_by_instance": {url: balancer.sent[url] - sent_before.get(url, 0) for url in balancer.targets},
                "cpu": cpu,
                "stack_pss_kib": (lambda s: {"max": s.max, "mean": s.mean()} if s else None)(sampler.stack_pss.get(f"x{concurrency}")),
            }  # fmt: skip
            measured["levels"].append(level)
            print(
                f"{level['turns']} turns in {level['wall_seconds']:.1f} s, {level['turns_per_second']} turns/s, "
                f"p50 {level['p50_ms']} ms, p95 {level['p95_ms']} ms, p99 {level['p99_ms']} ms, errors {level['errors']}, "
                f"busy {level['busy_notices']}, failed in log {level['turn_failures_in_log']}; "
                f"machine {cpu['machine_busy_cores']} of {cpu['cores']} cores busy, stack {cpu['stack_cores']}",
                flush=True,
            )

    try:
        asyncio.run(main())
    finally:
        stack.twilio.attach(None)


async def _warm(path: TwilioPath, stack: ScaledStack) -> PathResult:
    """A few dialogues at once, not measured: every instance and engine has run turns before the levels."""
    result = PathResult(path.name, WARMUP_CITIZENS, dialogues=WARMUP_CITIZENS)
    async with httpx.AsyncClient(timeout=180.0) as client:
        await asyncio.gather(*(_citizen(path, client, i, 1, result) for i in range(WARMUP_CITIZENS)))
        await path.after_level(client, result)
    stack.check_alive()
    return result


# ---------------------------------------------------------------- the part


def run(layouts: list[tuple[int, int]], levels: list[int], min_turns: int, pg_admin_url: str, redis_url: str,
        workdir: Path, out: dict) -> dict:  # fmt: skip
    """Every layout one after the other, each on fresh databases; ``out`` fills as layouts finish."""
    from bench.cli import _log_summary

    out.update(
        layouts=[], concurrency=levels, min_turns=min_turns, redis_url=safe_redis_url(redis_url),
        reading_workers=os.environ.get("READING_WORKERS", "1 (default)"),
    )  # fmt: skip
    out.update(preflight(pg_admin_url, redis_url))
    ensure_model({**os.environ})
    senders = Senders()  # fresh numbers across layouts: no conversation is seen twice
    for apps, engines in layouts:
        name = layout_name(apps, engines)
        entry: dict = {"layout": name, "apps": apps, "engines": engines}
        out["layouts"].append(entry)
        twilio = CapturingTwilio().start()
        databases = Databases(pg_admin_url)
        stack: ScaledStack | None = None
        sampler: MemorySampler | None = None
        try:
            stack = start_scaled(workdir / f"scale-{name}", apps, engines, databases, redis_url, twilio)
            entry.update(
                startup_seconds=round(stack.startup_seconds, 1),
                app_urls=stack.app_urls,
                rasa_urls=stack.rasa_urls,
                public_base_url=stack.env["PUBLIC_BASE_URL"],
                model=(stack.health(stack.app_urls[0]).get("rasa") or {}).get("model"),
                processes_at_start=[{"pid": p.pid, "kind": p.kind, "label": p.label} for p in stack.tree.stack()],
            )
            entry["database_sizes_at_start"] = databases.sizes()  # the growth per complaint is what counts
            sampler = MemorySampler(stack.tree).start()
            _drive(stack, sampler, senders, levels, min_turns, entry)
        except KeyboardInterrupt:
            entry["interrupted"] = True
            raise
        except Exception as exc:
            entry["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
            raise
        finally:
            if sampler is not None:
                sampler.stop()
                entry["memory"] = sampler.summary()
            if stack is not None:
                entry["restarts_in_log"] = _restarts(stack.log)
                print(f"[scale] {name}: stopping (SIGINT, as Ctrl-C)", flush=True)
                stack.stop()
                entry["exit_code"] = stack.process.returncode
                entry["log"] = _log_summary(stack.log)
                entry["twilio_api_requests"] = twilio.requests
            twilio.stop()
            entry["database_sizes"] = databases.sizes()
            counts = databases.tracker_counts()
            entry["tracker_events"] = counts
            entry["tracker_user_events"] = None if counts is None else counts.get("user", 0)
            databases.close()
    out["ratios"] = ratios(out["layouts"])
    return out


def ratios(layouts: list[dict]) -> list[dict]:
    """Every other layout against the first (1x1 by default): throughput and p95 per concurrency level."""
    done = [layout for layout in layouts if layout.get("levels")]
    if len(done) < 2:
        return []
    base = done[0]
    by_level = {level["concurrency"]: level for level in base["levels"]}

    def ratio(a, b):
        return round(a / b, 3) if a is not None and b else None

    out = []
    for layout in done[1:]:
        rows = []
        for level in layout["levels"]:
            other = by_level.get(level["concurrency"])
            if other is not None:
                rows.append({
                    "concurrency": level["concurrency"],
                    "throughput": ratio(level["turns_per_second"], other["turns_per_second"]),
                    "p95": ratio(level["p95_ms"], other["p95_ms"]),
                    "p50": ratio(level["p50_ms"], other["p50_ms"]),
                })  # fmt: skip
        out.append({"layout": layout["layout"], "baseline": base["layout"], "levels": rows})
    return out
