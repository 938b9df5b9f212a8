"""`aduan run` and its engine process: stopped in order on SIGTERM/SIGINT, restarted when it dies,
its output redacted, its token off the command line.

These start the real `aduan run` as a process, with RASA_BIN pointing at a fake engine
(tests/fakes/engine: starts in a moment, answers /status only with the right token), so they are
fast and need no trained model.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from bot.cli import ROOT
from bot.engine_process import (
    Backoff,
    EngineSupervisor,
    StopRequested,
    StopSignals,
    describe_exit,
)
from tests.fakes import fake_engine
from tests.fakes.server import free_port

STARTUP_TIMEOUT = 120
EXIT_TIMEOUT = 60
TOKEN = "rasa-token-Zq8wX3vT5nLk2pR9"


@dataclass
class RunningStack:
    process: subprocess.Popen
    base_url: str
    app_port: int
    rasa_port: int
    log: Path

    def health(self) -> dict:
        return httpx.get(f"{self.base_url}/health", timeout=5).json()

    def engine(self) -> dict:
        return self.health()["rasa"]["process"]

    def output(self) -> str:
        return self.log.read_text()


def start_stack(workdir: Path, **extra_env: str) -> RunningStack:
    app_port, rasa_port = free_port(), free_port()
    (workdir / "models").mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "RASA_BIN": str(fake_engine.install(workdir / "engine")),
        "RASA_MODEL_DIR": str(workdir / "models"),
        "DATABASE_URL": f"sqlite:///{workdir / 'aduan.db'}",
        "RASA_TRACKER_DB": str(workdir / "tracker.db"),
        "APP_PORT": str(app_port),
        "RASA_PORT": str(rasa_port),
        "RASA_TOKEN": TOKEN,
        "ACTIONS_TOKEN": "actions-token-for-these-tests",
        "LOG_LEVEL": "INFO",
        **extra_env,
    }
    for name in ("RASA_URL", "PUBLIC_BASE_URL", "ACTION_ENDPOINT_URL"):
        env.pop(name, None)
    log = workdir / "stack.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(ROOT / ".venv" / "app" / "bin" / "aduan"), "run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    stack = RunningStack(process, f"http://127.0.0.1:{app_port}", app_port, rasa_port, log)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"`aduan run` exited with {process.returncode}:\n{stack.output()[-4000:]}")
        try:
            if stack.health()["rasa"]["state"] == "ok":
                return stack
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    stop(stack)
    pytest.fail(f"the stack was not ready after {STARTUP_TIMEOUT} s:\n{stack.output()[-4000:]}")


def stop(stack: RunningStack) -> None:
    if stack.process.poll() is None:
        stack.process.send_signal(signal.SIGINT)
        try:
            stack.process.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            stack.process.kill()
            stack.process.wait()


def gone(pid: int) -> bool:
    """No such process, or only its zombie (reaped by whoever is its parent now)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


def wait_until_gone(pid: int, timeout: float = EXIT_TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.2)
    return False


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@pytest.fixture
def workdir(tmp_path) -> Path:
    return tmp_path


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory) -> RunningStack:
    stack = start_stack(tmp_path_factory.mktemp("engine-stack"))
    yield stack
    stop(stack)


# ---------------------------------------------------------------- stopping


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_stops_the_app_then_the_engine_and_exits_0(workdir, stop_signal):
    stack = start_stack(workdir)
    engine_pid = stack.engine()["pid"]
    try:
        stack.process.send_signal(stop_signal)
        returncode = stack.process.wait(timeout=EXIT_TIMEOUT)
    finally:
        stop(stack)
        if not gone(engine_pid):  # don't leave an orphan behind a failed assertion
            os.kill(engine_pid, signal.SIGKILL)
    output = stack.output()
    assert returncode == 0, output[-3000:]
    assert wait_until_gone(engine_pid, timeout=5), "the engine outlived `aduan run`"
    assert port_is_free(stack.rasa_port) and port_is_free(stack.app_port)
    # in order: the app stops accepting and shuts down (its lifespan stops the gateway), then the engine
    assert output.index("Application shutdown complete") < output.index("stopping the Rasa engine")
    assert "the Rasa engine stopped" in output


def test_a_stop_signal_before_the_app_serves_unwinds_aduan_run_to_its_clean_up():
    with StopSignals() as signals:
        with pytest.raises(StopRequested):
            signal.raise_signal(signal.SIGTERM)
        signal.raise_signal(signal.SIGINT)  # a second one must not interrupt the clean-up
    assert signals.received == signal.SIGTERM


def test_a_stop_signal_that_reaches_us_while_serving_asks_the_server_to_exit():
    # uvicorn raises the signal again into our handler after its shutdown; before uvicorn has
    # installed its own handlers, ours is the one that must stop it
    server = SimpleNamespace(should_exit=False)
    with StopSignals() as signals:
        signals.serving(server)
        signal.raise_signal(signal.SIGTERM)
    assert server.should_exit is True and signals.received == signal.SIGTERM


def test_a_killed_aduan_run_takes_its_engine_with_it(workdir):
    stack = start_stack(workdir)
    engine_pid = stack.engine()["pid"]
    try:
        stack.process.kill()
        stack.process.wait(timeout=EXIT_TIMEOUT)
        assert wait_until_gone(engine_pid), "a SIGKILLed `aduan run` left its engine running"
    finally:
        if not gone(engine_pid):
            os.kill(engine_pid, signal.SIGKILL)
    assert port_is_free(stack.rasa_port)


def supervise_fake_engine(directory: Path, token: str, **env: str) -> EngineSupervisor:
    """The fake engine through the real launcher, supervised, until it answers /status."""
    rasa_bin = fake_engine.install(directory)
    port = free_port()
    supervisor = EngineSupervisor(
        [str(rasa_bin.parent / "python"), str(ROOT / "scripts" / "rasa_launcher.py"), "run", "--port", str(port)],
        env={**os.environ, "RASA_TOKEN": token, **env},
        cwd=ROOT,
        status_url=f"http://127.0.0.1:{port}/status",
        token=token,
        stop_timeout=1,
    )
    supervisor.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while supervisor.describe()["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    return supervisor


def test_an_engine_that_ignores_sigterm_is_killed_after_the_stop_timeout(tmp_path):
    supervisor = supervise_fake_engine(tmp_path, TOKEN, FAKE_ENGINE_IGNORES_SIGTERM="1")
    process = supervisor.process
    try:
        assert supervisor.describe()["state"] == "running"
    finally:
        supervisor.stop()
    assert process.returncode == -signal.SIGKILL
    assert supervisor.describe() == {"state": "stopped", "pid": None, "restarts": 0, "last_exit": None}


def test_a_token_that_begins_with_a_dash_reaches_the_engine(tmp_path):
    # secrets.token_urlsafe() begins with "-" once in 64 runs; "--auth-token -x..." would not parse
    supervisor = supervise_fake_engine(tmp_path, "-dash-first-token-4Yp2")
    try:
        assert supervisor.describe()["state"] == "running"  # the fake answered /status with this token
    finally:
        supervisor.stop()


# ---------------------------------------------------------------- supervision


def test_an_engine_that_dies_is_started_again_and_health_says_so(shared_stack):
    stack = shared_stack
    first = stack.engine()
    assert first["state"] == "running" and first["restarts"] == 0
    os.kill(first["pid"], signal.SIGKILL)  # what the OOM killer does
    deadline = time.monotonic() + STARTUP_TIMEOUT
    engine = first
    while time.monotonic() < deadline:
        engine = stack.engine()
        if engine["restarts"] == 1 and engine["state"] == "running" and stack.health()["rasa"]["state"] == "ok":
            break
        time.sleep(0.3)
    assert engine["state"] == "running" and engine["restarts"] == 1, engine
    assert engine["pid"] != first["pid"]
    assert engine["last_exit"]["signal"] == "SIGKILL"
    output = stack.output()
    assert "ERROR   aduan.engine: the Rasa engine died (killed by SIGKILL)" in output
    assert "INFO    aduan.engine: the Rasa engine is back (restart 1)" in output
    # the app reaches the new engine: a turn through the simulator is answered by it
    replies = httpx.post(
        f"{stack.base_url}/simulator/messages",
        json={"channel": "telegram", "sender": "4242", "text": "halo"},
        timeout=30,
    ).json()["replies"]
    assert replies == ["balasan palsu: halo"]


def test_restarts_back_off_doubling_up_to_a_cap_and_start_over_after_a_long_run():
    backoff = Backoff(initial=1, cap=60, stable_after=120)
    delays, previous = [], None
    for _ in range(8):
        previous = backoff.next(previous, uptime=5)
        delays.append(previous)
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    assert backoff.next(60, uptime=600) == 1  # it ran a while: the next death is a fresh one


def test_an_engine_exit_is_described_by_its_signal_or_its_code():
    assert describe_exit(-signal.SIGKILL) == {"signal": "SIGKILL", "exit_code": None}
    assert describe_exit(1) == {"signal": None, "exit_code": 1}


# ---------------------------------------------------------------- output and token


def test_the_engine_token_is_not_on_the_engine_command_line(shared_stack):
    pid = shared_stack.engine()["pid"]
    command_line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "rasa_launcher.py run" in command_line
    assert TOKEN not in command_line and "--auth-token" not in command_line
    # and yet the engine has it: the fake answers /status only with the right token
    assert shared_stack.health()["rasa"]["state"] == "ok"


def test_a_phone_number_the_engine_prints_does_not_reach_the_output(shared_stack):
    output = shared_stack.output()
    assert "INFO    rasa: rasa.fake  - fake engine up; operator on call: [PHONE_1]" in output
    assert "081234567890" not in output
