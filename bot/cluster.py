"""``aduan run --apps N --engines M``: the scaled-out stack on one machine (development, tests, benchmarks).

N app instances (``aduan serve``) on consecutive ports from APP_PORT and M Rasa servers on
consecutive ports from RASA_PORT, each a supervised child of this process: started again with a
growing delay when it dies, stopped in order on SIGINT or SIGTERM (the app instances first, then
the engines). The app instances share the store (DATABASE_URL, PostgreSQL); the engines share the
tracker store (RASA_TRACKER_*, PostgreSQL) and Rasa's lock store (REDIS_URL), and call the actions
through the relay (bot/action_relay.py). Production runs the same pieces under systemd or
Kubernetes instead (docs/deployment.md).
"""

from __future__ import annotations

import ctypes
import logging
import os
import secrets
import signal
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from bot import cli
from bot.action_relay import ActionRelay
from bot.config import Settings
from bot.engine_process import ENGINE_LOGGER, EngineSupervisor
from storage.migrate import upgrade

log = logging.getLogger("aduan")

INSTANCE_VARIABLE = "ADUAN_INSTANCE"  # "app-2": in every log line of that instance (bot/logs.py)
PR_SET_PDEATHSIG = 1


def refusals(settings: Settings, apps: int, engines: int) -> list[str]:
    """Why this configuration cannot run as N apps and M engines (empty: it can)."""
    problems = []
    if apps < 1 or engines < 1:
        problems.append("--apps and --engines must be at least 1")
    if apps > 1 and not settings.database_url.startswith("postgresql"):
        problems.append(
            "several app instances need a shared PostgreSQL store: set DATABASE_URL=postgresql+psycopg://... "
            "(SQLite is the store of one process)"
        )
    if engines > 1:
        if settings.rasa_tracker_dialect != "postgresql":
            problems.append(
                "several Rasa servers need a shared tracker store: set RASA_TRACKER_DIALECT=postgresql, "
                "RASA_TRACKER_HOST (host:port), RASA_TRACKER_DB, RASA_TRACKER_USER"
            )
        if not settings.redis_url:
            problems.append("several Rasa servers need a shared lock store: set REDIS_URL=redis://host:6379/0")
    return problems


def run_cluster(settings: Settings, apps: int, engines: int) -> None:
    problems = refusals(settings, apps, engines)
    if problems:
        raise SystemExit("aduan run: " + "\n  ".join(["cannot start this stack:", *problems]))
    settings.rasa_token = settings.rasa_token or secrets.token_urlsafe(24)
    settings.actions_token = settings.actions_token or secrets.token_urlsafe(24)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: (log.info("%s received: stopping", signal.Signals(signum).name), stop.set()))

    upgrade(settings.database_url)
    log.info("store ready: %s", cli._safe_url(settings.database_url))
    cli._seed_if_empty(settings)
    model = cli.train(settings)
    app_ports = [settings.app_port + i for i in range(apps)]
    engine_ports = [settings.rasa_port + i for i in range(engines)]
    relay = ActionRelay([f"http://127.0.0.1:{port}" for port in app_ports]).start()
    settings.action_endpoint_url = relay.url
    waiting = _Countdown(apps + engines, lambda: _announce(app_ports, engine_ports))
    engine_env = cli.engine_environment(settings)
    endpoints = "endpoints.cluster.yml" if engines > 1 else "endpoints.yml"
    children: list[EngineSupervisor] = []
    running_engines: list[EngineSupervisor] = []
    try:
        (cli.ROOT / "var").mkdir(exist_ok=True)
        for n, port in enumerate(engine_ports, start=1):
            engine = EngineSupervisor(
                cli.engine_command(settings, model, port=port, endpoints=endpoints),
                env=engine_env, cwd=cli.ROOT,
                status_url=f"http://127.0.0.1:{port}/status", token=settings.rasa_token,
                stop_timeout=cli.ENGINE_STOP_TIMEOUT, on_first_ready=waiting.one_ready,
                label=f"Rasa engine {n}", output_logger=f"rasa-{n}" if engines > 1 else ENGINE_LOGGER,
            )
            engine.start()
            running_engines.append(engine)
        rasa_urls = ",".join(f"http://127.0.0.1:{port}" for port in engine_ports)
        for n, port in enumerate(app_ports, start=1):
            app = EngineSupervisor(
                [sys.executable, "-m", "bot.cli", "serve"],
                env=_app_environment(settings, port, rasa_urls, f"app-{n}"), cwd=cli.ROOT,
                status_url=f"http://127.0.0.1:{port}/health", token="",
                stop_timeout=cli.ENGINE_STOP_TIMEOUT, on_first_ready=waiting.one_ready,
                label=f"app instance {n}", output_logger=None,  # it writes its own masked, prefixed lines
            )
            app.start()
            children.append(app)
        stop.wait()
    finally:
        _stop_all(children)  # the app instances first: they finish their turns while the engines still answer
        relay.stop()
        _stop_all(running_engines)


def _app_environment(settings: Settings, port: int, rasa_urls: str, name: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "APP_PORT": str(port),
            "RASA_URLS": rasa_urls,
            "RASA_TOKEN": settings.rasa_token,
            "ACTIONS_TOKEN": settings.actions_token,
            INSTANCE_VARIABLE: name,
            cli.ENGINE_PARENT_VARIABLE: str(os.getpid()),
        }
    )
    return env


def _stop_all(supervisors: list[EngineSupervisor]) -> None:
    if supervisors:
        with ThreadPoolExecutor(len(supervisors)) as pool:
            list(pool.map(lambda supervisor: supervisor.stop(), supervisors))


class _Countdown:
    """Calls ``done`` once, when ``count`` children have been ready once."""

    def __init__(self, count: int, done) -> None:
        self._left, self._done, self._lock = count, done, threading.Lock()

    def one_ready(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left == 0:
                self._done()


def _announce(app_ports: list[int], engine_ports: list[int]) -> None:
    apps = ", ".join(f"http://127.0.0.1:{port}" for port in app_ports)
    engines = ", ".join(str(port) for port in engine_ports)
    log.info(
        "ready: %d app instance(s) at %s (each has /health; put a load balancer in front), "
        "%d Rasa server(s) on ports %s",
        len(app_ports), apps, len(engine_ports), engines,
    )


def serve(settings: Settings) -> None:
    """One app instance: no migrations and no engine (run by ``aduan migrate`` and elsewhere)."""
    import uvicorn

    from bot.app import create_app

    parent = os.environ.pop(cli.ENGINE_PARENT_VARIABLE, "")
    if parent and sys.platform.startswith("linux"):  # a child of `aduan run`: end with it, even if it is SIGKILLed
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != int(parent):
            return
    uvicorn.run(
        create_app(settings),
        host=settings.app_host,
        port=settings.app_port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's loggers go through our handler and its PII filter
    )
