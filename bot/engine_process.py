"""The Rasa engine as a child of ``aduan run``: started, watched, restarted, stopped in order.

- ``EngineSupervisor`` starts the engine, relays its output through logging (so the redaction
  filters apply to it like to any log line), starts it again with backoff when it dies (killed, out
  of memory), and stops it on request: SIGTERM, then SIGKILL after a timeout. ``describe()`` is
  what ``/health`` shows under ``rasa.process``.
- ``StopSignals`` turns SIGTERM and SIGINT into an orderly stop of ``aduan run``: the app first
  (uvicorn stops accepting, the app's lifespan stops the gateway), then the engine, exit code 0.
  uvicorn restores the previous handlers after its shutdown and raises the signal again; without a
  handler of ours a SIGTERM would end the process there, before the engine is stopped.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import httpx

log = logging.getLogger("aduan.engine")
ENGINE_LOGGER = "rasa"

# Rasa's own line format: "2026-12-01 21:00:00 INFO     rasa.core.processor  - ..."
_RASA_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:[,.]\d+)? +(DEBUG|INFO|WARNING|ERROR|CRITICAL) +(.*)$")


def relay_output(stream: Iterable[str], logger: logging.Logger) -> None:
    """Each line the engine prints becomes a log record (never a bare write to stdout), so the
    PII and secret filters on the handler see it. Rasa's level is kept; lines without one (a
    traceback, sanic's banner) take the level of the line they follow."""
    level = logging.INFO
    for raw in stream:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        match = _RASA_LINE.match(line)
        if match:
            level, line = logging.getLevelName(match.group(1)), match.group(2)
        logger.log(level, "%s", line)


@dataclass(frozen=True)
class Backoff:
    """Delays before restarts: initial, doubling, capped; back to initial after a run that lasted."""

    initial: float = 1.0
    cap: float = 60.0
    stable_after: float = 120.0

    def next(self, previous: float | None, uptime: float) -> float:
        if previous is None or uptime >= self.stable_after:
            return self.initial
        return min(previous * 2, self.cap)


def describe_exit(returncode: int) -> dict[str, Any]:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return {"signal": name, "exit_code": None}
    return {"signal": None, "exit_code": returncode}


class EngineSupervisor:
    """Runs ``command`` as the engine, restarts it when it dies, stops it on ``stop()``."""

    def __init__(
        self,
        command: list[str],
        *,
        env: dict[str, str],
        cwd: Path | str,
        status_url: str,
        token: str,
        stop_timeout: float = 15.0,
        backoff: Backoff = Backoff(),
        ready_timeout: float = 300.0,
        on_first_ready: Callable[[], None] | None = None,
        label: str = "the Rasa engine",
        output_logger: str | None = ENGINE_LOGGER,
    ) -> None:
        """``label`` names the child in log lines; its output is relayed through ``output_logger``
        (lines in Rasa's format), or, when None, goes straight to our stdout (an app instance,
        which formats and masks its own log lines)."""
        self._command = command
        self._env = env
        self._cwd = cwd
        self._status_url = status_url
        self._token = token
        self._stop_timeout = stop_timeout
        self._backoff = backoff
        self._ready_timeout = ready_timeout
        self._on_first_ready = on_first_ready
        self.label = label
        self._output_logger = output_logger
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.process: subprocess.Popen | None = None
        self.state = "stopped"
        self.restarts = 0
        self.last_exit: dict[str, Any] | None = None
        self._ever_ready = False

    # ------------------------------------------------------------ public

    def start(self) -> None:
        self.state = "starting"
        self._thread = threading.Thread(target=self._supervise, name=f"supervising {self.label}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop supervising, then SIGTERM the engine; SIGKILL if it has not exited after the timeout."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is not None and process.poll() is None:
            self.state = "stopping"
            log.info("stopping %s (pid %s)", self.label, process.pid)
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=self._stop_timeout)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killing it", self.label, self._stop_timeout)
                _signal_group(process, signal.SIGKILL)
                process.wait()
            log.info("%s stopped", self.label)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.state = "stopped"

    def describe(self) -> dict[str, Any]:
        process = self.process
        return {
            "state": self.state,
            "pid": process.pid if process is not None and process.poll() is None else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
        }

    # ------------------------------------------------------------ the supervising thread

    def _supervise(self) -> None:
        delay: float | None = None
        while not self._stopping.is_set():
            started = time.monotonic()
            process = self._spawn()
            if process is None:
                if self._stopping.is_set():
                    return
                delay = self._backoff.next(delay, uptime=0.0)
                log.error("starting %s again in %.0f s", self.label, delay)
            else:
                if self._wait_until_ready(process):
                    self._announce_ready()
                returncode = process.wait()
                if self._stopping.is_set():
                    return
                uptime = time.monotonic() - started
                self.last_exit = describe_exit(returncode) | {"at": _now()}
                delay = self._backoff.next(delay, uptime)
                log.error(
                    "%s died (%s) after %.0f s; starting it again in %.0f s",
                    self.label, _exit_words(self.last_exit), uptime, delay,
                )
            self.state = "restarting"
            if self._stopping.wait(delay):
                return
            self.restarts += 1
            self.state = "starting"

    def _spawn(self) -> subprocess.Popen | None:
        # Always from the supervising thread, which lives until stop(): Linux sends the launcher's
        # parent-death signal when the *thread* that forked it ends, not only the process.
        with self._lock:
            if self._stopping.is_set():
                return None
            try:
                relayed = self._output_logger is not None
                self.process = subprocess.Popen(
                    self._command,
                    cwd=self._cwd,
                    env=self._env,
                    stdout=subprocess.PIPE if relayed else None,
                    stderr=subprocess.STDOUT if relayed else None,
                    text=True,
                    errors="replace",
                    bufsize=1,
                    start_new_session=True,  # Ctrl-C reaches only us; we stop the engine ourselves, in order
                )
            except OSError as exc:
                self.process = None
                self.last_exit = {"signal": None, "exit_code": None, "error": type(exc).__name__, "at": _now()}
                log.error("%s could not be started: %s", self.label, exc)
                return None
            process = self.process
        if self._output_logger is not None:
            threading.Thread(
                target=_relay_and_close,
                args=(process.stdout, logging.getLogger(self._output_logger)),
                name=f"{self._output_logger}-output",
                daemon=True,
            ).start()
        return process

    def _wait_until_ready(self, process: subprocess.Popen) -> bool:
        deadline = time.monotonic() + self._ready_timeout
        while time.monotonic() < deadline and process.poll() is None and not self._stopping.is_set():
            try:
                response = httpx.get(self._status_url, params={"token": self._token}, timeout=2)
                if response.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            self._stopping.wait(1)
        if process.poll() is None and not self._stopping.is_set():
            log.error("%s did not answer within %.0f s", self.label, self._ready_timeout)
        return False

    def _announce_ready(self) -> None:
        self.state = "running"
        if self._ever_ready:
            log.info("%s is back (restart %d); kept messages will be answered now", self.label, self.restarts)
            return
        self._ever_ready = True
        if self._on_first_ready is not None:
            self._on_first_ready()


def _relay_and_close(stream: IO[str], logger: logging.Logger) -> None:
    with stream:
        relay_output(stream, logger)


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    """The engine leads its own session: signal the group, so nothing it started outlives it."""
    try:
        os.killpg(process.pid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        process.send_signal(sig)


def _exit_words(exit: dict[str, Any]) -> str:
    if exit.get("signal"):
        return f"killed by {exit['signal']}"
    return f"exit code {exit['exit_code']}"


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- stopping `aduan run`


class StopRequested(BaseException):
    """SIGTERM or SIGINT before the app serves: unwinds ``aduan run`` to its clean-up.

    A BaseException, like KeyboardInterrupt, so that no ``except Exception`` swallows it."""


class StopSignals:
    """SIGTERM and SIGINT, for the whole of ``aduan run``.

    Before the app serves, the first one raises ``StopRequested``. Once ``serving(server)`` is
    called, uvicorn's own handlers take over while it runs (graceful shutdown, a second Ctrl-C forces
    it); a signal that lands in ours, just before uvicorn installs its handlers or when uvicorn raises
    it again after its shutdown, only asks the server to exit. Either way ``aduan run`` reaches its
    ``finally`` and stops the engine.
    """

    HANDLED = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.received: int | None = None
        self._server: Any = None
        self._raise = True
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> "StopSignals":
        for sig in self.HANDLED:
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)

    def serving(self, server: Any = None) -> None:
        self._raise = False
        self._server = server

    def _handle(self, signum: int, frame: object) -> None:
        if self.received is None:
            self.received = signum
            log.info("%s received: stopping", signal.Signals(signum).name)
        if self._server is not None:
            self._server.should_exit = True
        if self._raise:
            self._raise = False  # once: a second signal must not interrupt the clean-up
            raise StopRequested(signum)
