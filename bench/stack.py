"""The real stack as processes, started the way tests/e2e/conftest.py does: ``aduan run``.

``aduan run`` (the app, Python 3.11) starts ``rasa run`` (the engine, Python 3.10) as its child.
Its SMS channel is Twilio pointed at a fake REST API on loopback (bench/fake_twilio.py); every
other provider is off, whatever the environment or a .env file says, so nothing leaves the machine.
A sampler thread reads VmRSS and VmHWM of both process trees from /proc while the stack runs.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.fake_twilio import SMS_FROM, CapturingTwilio
from bot.cli import ROOT

STARTUP_TIMEOUT = int(os.environ.get("BENCH_STARTUP_TIMEOUT", "300"))
ADUAN = ROOT / ".venv" / "app" / "bin" / "aduan"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_model(env: dict[str, str]) -> None:
    """``aduan train``: trains only when no model exists for the current training data (~3 min on 2 cores)."""
    print("[stack] aduan train (reuses the model when the training data is unchanged)", flush=True)
    started = time.monotonic()
    subprocess.run([str(ADUAN), "train"], cwd=ROOT, env=env, check=True)
    print(f"[stack] model ready after {time.monotonic() - started:.0f} s", flush=True)


# ---------------------------------------------------------------- /proc


def _children(pid: int) -> list[int]:
    """Direct children of a process (Linux: /proc/<pid>/task/*/children)."""
    kids: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            try:
                kids += [int(x) for x in (task / "children").read_text().split()]
            except OSError:
                continue
    except OSError:
        pass
    return kids


def descendants(pid: int) -> list[int]:
    out, todo = [], _children(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo += _children(child)
    return out


def read_status(pid: int) -> dict[str, int] | None:
    """VmRSS and VmHWM of a process in KiB; None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])
    return values


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


@dataclass
class PhasePeak:
    app_rss_kib: int = 0
    engine_rss_kib: int = 0
    samples: int = 0


@dataclass
class MemorySampler:
    """Samples the app process (``aduan run``) and the engine tree (its child ``rasa run`` and below)."""

    app_pid: int
    interval: float = 0.2
    phase: str = "startup"
    peaks: dict[str, PhasePeak] = field(default_factory=dict)
    engine_pids: set[int] = field(default_factory=set)
    other_children: set[int] = field(default_factory=set)
    trained_during_start: bool = False
    commands: dict[int, str] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "MemorySampler":
        self._thread = threading.Thread(target=self._run, name="memory-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def sample(self) -> dict[str, int]:
        app = read_status(self.app_pid) or {}
        engine_rss = engine_hwm = 0
        for pid in self._engine_tree():
            status = read_status(pid)
            if status:
                engine_rss += status.get("VmRSS", 0)
                engine_hwm += status.get("VmHWM", 0)
        values = {
            "app_rss_kib": app.get("VmRSS", 0),
            "app_hwm_kib": app.get("VmHWM", 0),
            "engine_rss_kib": engine_rss,
            "engine_hwm_kib": engine_hwm,
        }
        if app:
            self.last = values
        return values

    def _engine_tree(self) -> list[int]:
        """The app's child running ``rasa run``, and everything below it (``rasa train`` and others are not the engine)."""
        tree = []
        for child in _children(self.app_pid):
            command = self.commands.get(child, "")
            if "rasa" not in command:  # re-read: right after the fork a child still shows its parent's command line
                command = self.commands[child] = cmdline(child)
            if "rasa" in command and " run" in command:
                tree += [child, *descendants(child)]
            elif "rasa" in command and " train" in command:
                self.trained_during_start = True  # the training data changed after `aduan train`
            else:
                self.other_children.add(child)
        for pid in tree:
            self.engine_pids.add(pid)
            self.commands.setdefault(pid, cmdline(pid))
        return tree

    def _run(self) -> None:
        while not self._stop.is_set():
            values = self.sample()
            peak = self.peaks.setdefault(self.phase, PhasePeak())
            peak.app_rss_kib = max(peak.app_rss_kib, values["app_rss_kib"])
            peak.engine_rss_kib = max(peak.engine_rss_kib, values["engine_rss_kib"])
            peak.samples += 1
            self._stop.wait(self.interval)


# ---------------------------------------------------------------- the stack


@dataclass
class Stack:
    base_url: str
    rasa_url: str
    env: dict[str, str]
    log: Path
    process: subprocess.Popen
    sampler: MemorySampler
    twilio: CapturingTwilio | None = None
    startup_seconds: float = 0.0

    @property
    def engine_pids(self) -> list[int]:
        return sorted(self.sampler.engine_pids)

    def check_alive(self) -> None:
        """Raise when the stack stopped on its own (or was stopped by someone else) during the run."""
        if self.process.poll() is not None:
            raise RuntimeError(
                f"`aduan run` exited with {self.process.returncode} during the benchmark "
                f"(see {self.log}; a signal from another process?)"
            )

    def health(self) -> dict:
        return httpx.get(f"{self.base_url}/health", timeout=5).json()

    def stop(self) -> None:
        """What Ctrl-C does: the app stops, then it stops Rasa. Stragglers we started are ended by pid."""
        self.sampler.stop()
        engine_pids = set(self.sampler.engine_pids) | set(descendants(self.process.pid))
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in engine_pids:
            if read_status(pid) is not None and "rasa" in cmdline(pid):
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and any(read_status(p) is not None and "rasa" in cmdline(p) for p in engine_pids):
            time.sleep(0.5)
        for pid in engine_pids:
            if read_status(pid) is not None and "rasa" in cmdline(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def _provider_env(base_url: str, twilio: CapturingTwilio | None) -> dict[str, str]:
    """Twilio SMS against the fake, or no provider; set empty rather than unset, so a .env cannot switch one on."""
    env = {
        name: ""
        for name in (
            "PUBLIC_BASE_URL", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_SMS_FROM", "TWILIO_WHATSAPP_FROM",
            "TWILIO_API_URL", "TWILIO_WHATSAPP_TEMPLATE_SID", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET",
            "TELEGRAM_API_URL", "TELEGRAM_MODE",
        )
    }  # fmt: skip
    if twilio is not None:
        env.update(
            PUBLIC_BASE_URL=base_url,  # what the webhooks are signed over, as behind a proxy
            TWILIO_ACCOUNT_SID=twilio.account_sid,
            TWILIO_AUTH_TOKEN=twilio.auth_token,
            TWILIO_SMS_FROM=SMS_FROM,
            TWILIO_API_URL=twilio.url,
        )
    return env


def start_stack(workdir: Path, database_url: str | None = None, twilio: CapturingTwilio | None = None) -> Stack:
    """``aduan run`` with its own store, tracker store, free ports and fresh tokens (and the fake Twilio, if given)."""
    workdir.mkdir(parents=True, exist_ok=True)
    app_port, rasa_port = free_port(), free_port()
    while rasa_port == app_port:
        rasa_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url or f"sqlite:///{workdir / 'aduan.db'}",
        "APP_HOST": "127.0.0.1",
        "APP_PORT": str(app_port),
        "RASA_PORT": str(rasa_port),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "ACTIONS_TOKEN": secrets.token_urlsafe(16),
        "RASA_TRACKER_DIALECT": "sqlite",
        "RASA_TRACKER_HOST": "",
        "RASA_TRACKER_DB": str(workdir / "tracker.db"),
        "SIMULATOR_ENABLED": "true",
        "LOG_LEVEL": os.environ.get("BENCH_STACK_LOG_LEVEL", "INFO"),
        **_provider_env(f"http://127.0.0.1:{app_port}", twilio),
    }
    for variable in ("RASA_URL", "ACTION_ENDPOINT_URL"):
        env.pop(variable, None)
    ensure_model(env)
    log = workdir / "stack.log"
    started = time.monotonic()
    with open(log, "w") as out:
        # Its own session: a Ctrl-C in the benchmark's terminal reaches only the benchmark, which then
        # stops the stack in order (SIGINT to the app, which stops Rasa).
        process = subprocess.Popen(
            [str(ADUAN), "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    sampler = MemorySampler(process.pid).start()
    stack = Stack(
        base_url=f"http://127.0.0.1:{app_port}",
        rasa_url=f"http://127.0.0.1:{rasa_port}",
        env=env,
        log=log,
        process=process,
        sampler=sampler,
        twilio=twilio,
    )
    print(f"[stack] aduan run (pid {process.pid}), app :{app_port}, rasa :{rasa_port}, log {log}", flush=True)
    try:
        _wait_until_ready(stack)
    except BaseException:
        stack.stop()
        raise
    stack.startup_seconds = time.monotonic() - started
    print(f"[stack] ready after {stack.startup_seconds:.0f} s (engine pids {stack.engine_pids})", flush=True)
    return stack


def _wait_until_ready(stack: Stack) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if stack.process.poll() is not None:
            raise RuntimeError(f"`aduan run` exited with {stack.process.returncode}:\n{stack.log.read_text()[-4000:]}")
        try:
            health = stack.health()
            if health["rasa"]["state"] == "ok":
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(1)
    try:
        state = stack.health()["rasa"]["state"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        state = f"health failed: {exc}"
    engine_lines = [line for line in stack.log.read_text().splitlines() if "access:" not in line]
    raise RuntimeError(
        f"the stack was not ready after {STARTUP_TIMEOUT} s (engine: {state}):\n" + "\n".join(engine_lines[-60:])
    )


def warn(message: str) -> None:
    sys.stderr.write(f"[bench] {message}\n")
