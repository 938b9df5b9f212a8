"""``aduan``: the operator's command line.

    aduan run                 migrate, train if needed, start Rasa + the app (Ctrl-C stops both)
    aduan run --apps N --engines M   the same, scaled out on one machine (bot/cluster.py; PostgreSQL, Redis)
    aduan serve               one app instance only: no migrations, no engine (systemd, Kubernetes)
    aduan migrate             apply the store's migrations
    aduan train [--force]     train the Rasa model unless one for this data exists
    aduan evaluate [--show-errors]  NLU, category and place accuracy on the held-out set (results/)
    aduan seed                load the pilot areas' agencies and routing rules (idempotent)
    aduan agency add ...      register an agency (--code, --name, --region, --short)
    aduan agency list         the agencies (--region: of one place)
    aduan route set ...       route a category in a place to an agency (replaces the rule there)
    aduan route list          the routing rules (--region: of one place)
    aduan officer add ...     register an officer (with the addresses they work on: --urn)
    aduan officer list        officers, their addresses, PIN and tokens (prefixes only)
    aduan officer urn ...     add (--urn) or remove (--remove) an address an officer works on
    aduan officer token ...   issue an API token for an officer (printed once), or --revoke them
    aduan officer pin ...     set the PIN for commands over SMS (read from a prompt or stdin)
    aduan officer deactivate --officer N   an officer who left: addresses ignored, tokens revoked
    aduan officer reactivate --officer N   undo deactivate (revoked tokens stay revoked)
    aduan open311 key add --name NAME [--agency CODE] [--region CODE]   an integration's api_key (printed once)
    aduan open311 key revoke --name NAME | list   revoke a key; the keys (names, prefixes, bindings, never keys)
    aduan telegram set-webhook  register the Telegram webhook (PUBLIC_BASE_URL, secret token)

This module has the parser, the stack (run, migrate, train, evaluate, seed) and Telegram's set-up;
bot/cli_agencies.py the agency and route commands, bot/cli_officers.py the officer commands,
bot/cli_open311.py the Open311 key commands.
Each subcommand names its function (``set_defaults(func=...)``), called as ``func(settings, args)``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import subprocess
import time
from pathlib import Path

from bot import cli_agencies, cli_officers, cli_open311
from bot.cli_common import store_session
from bot.config import Settings, get_settings
from bot.engine_process import EngineSupervisor, StopRequested, StopSignals
from bot.logs import configure_logging
from storage import agencies as agency_store
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parent.parent
TRAINING_INPUTS = ("domain.yml", "config.yml")
TRAINING_DIRS = ("nlu_data",)
MODELS_KEPT = 3
ENGINE_LAUNCHER = ROOT / "scripts" / "rasa_launcher.py"  # "rasa ... run" on a command line: how bench/ finds the engine
ENGINE_TOKEN_VARIABLE = "RASA_TOKEN"  # the names scripts/rasa_launcher.py reads
ENGINE_PARENT_VARIABLE = "ADUAN_PARENT_PID"
ENGINE_STOP_TIMEOUT = 15.0  # seconds between SIGTERM and SIGKILL

log = logging.getLogger("aduan")


# ---------------------------------------------------------------- training


def training_fingerprint(root: Path = ROOT) -> str:
    """A hash of everything training reads; a model is reused while this stays the same."""
    digest = hashlib.sha256()
    files = [root / name for name in TRAINING_INPUTS]
    for directory in TRAINING_DIRS:
        files += sorted((root / directory).rglob("*.yml"))
    for path in files:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def quiet_engine_environment(env: dict[str, str]) -> dict[str, str]:
    """Rasa must never phone home (telemetry and its Sentry error reports): no traffic leaves loopback."""
    env["RASA_TELEMETRY_ENABLED"] = "false"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    env.setdefault("PYTHONWARNINGS", "ignore")  # rasa 3.6's dependencies warn a lot; keep the log readable
    return env


def rasa_binary() -> str:
    configured = os.environ.get("RASA_BIN")
    candidate = Path(configured) if configured else ROOT / ".venv" / "engine" / "bin" / "rasa"
    if not candidate.exists():
        raise SystemExit(
            f"The Rasa engine is not installed ({candidate} is missing). Run `make install` (or set RASA_BIN)."
        )
    return str(candidate)


def model_path(settings: Settings) -> Path:
    return ROOT / settings.model_dir / f"aduan-{training_fingerprint()}.tar.gz"


def train(settings: Settings, *, force: bool = False) -> Path:
    """Train the Rasa model unless one exists for the current training data; returns its path."""
    target = model_path(settings)
    if target.exists() and not force:
        log.info("model up to date: %s", target.relative_to(ROOT))
        return target
    log.info("training the Rasa model (a few minutes on 2 cores): %s", target.name)
    started = time.monotonic()
    subprocess.run(
        [
            rasa_binary(), "train",
            "--data", "nlu_data",
            "--domain", "domain.yml",
            "--config", "config.yml",
            "--out", str(target.parent),
            "--fixed-model-name", target.name.removesuffix(".tar.gz"),
        ],
        cwd=ROOT,
        check=True,
        env=quiet_engine_environment(dict(os.environ)),
    )
    log.info("model trained in %.0f s", time.monotonic() - started)
    old = sorted(target.parent.glob("aduan-*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in old[MODELS_KEPT:]:
        stale.unlink()
    return target


# ---------------------------------------------------------------- running the stack


def engine_environment(settings: Settings) -> dict[str, str]:
    """What endpoints.yml reads: where the actions are, and the tracker store."""
    env = dict(os.environ)
    env["ACTION_ENDPOINT_URL"] = settings.action_endpoint_url
    env["ACTIONS_TOKEN"] = settings.actions_token
    env["RASA_TRACKER_DIALECT"] = settings.rasa_tracker_dialect
    env["RASA_TRACKER_HOST"] = settings.rasa_tracker_host
    tracker_db = Path(settings.rasa_tracker_db)
    if settings.rasa_tracker_dialect == "sqlite" and not tracker_db.is_absolute():
        tracker_db = ROOT / tracker_db
    env["RASA_TRACKER_DB"] = str(tracker_db)
    env["RASA_TRACKER_USER"] = settings.rasa_tracker_user
    env["RASA_TRACKER_PASSWORD"] = settings.rasa_tracker_password
    env["RASA_TRACKER_LOGIN_DB"] = settings.rasa_tracker_login_db
    env.update(lock_store_environment(settings.redis_url))
    # Read by scripts/rasa_launcher.py, which hands them to Rasa in-process: never on a command line
    env[ENGINE_TOKEN_VARIABLE] = settings.rasa_token
    env[ENGINE_PARENT_VARIABLE] = str(os.getpid())  # the engine ends with us, even if we are SIGKILLed
    # Rasa's conversation locks outlive a killed server by this long (its default: 60 s), holding that
    # conversation up on every other server; the app's claim already keeps a conversation to one turn
    env.setdefault("TICKET_LOCK_LIFETIME", "20")
    return quiet_engine_environment(env)


def lock_store_environment(redis_url: str) -> dict[str, str]:
    """What endpoints.cluster.yml reads for Rasa's Redis lock store, from REDIS_URL (redis://[:password@]host[:port][/db])."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(redis_url) if redis_url else None
    return {
        "RASA_LOCK_STORE_HOST": (parts.hostname if parts else None) or "127.0.0.1",
        "RASA_LOCK_STORE_PORT": str((parts.port if parts else None) or 6379),
        "RASA_LOCK_STORE_DB": ((parts.path if parts else "").strip("/") or "0"),
        "RASA_LOCK_STORE_PASSWORD": unquote(parts.password) if parts and parts.password else "",
    }


def engine_command(settings: Settings, model: Path, *, port: int | None = None, endpoints: str = "endpoints.yml") -> list[str]:
    """``rasa run`` through the launcher, in the engine's Python: the token comes from the
    environment (Rasa 3.6 reads it only from --auth-token, which ``ps`` shows to every user)."""
    engine_python = Path(rasa_binary()).parent / "python"
    return [
        str(engine_python), str(ENGINE_LAUNCHER), "run",
        "--enable-api",
        "--model", str(model),
        "--endpoints", endpoints,
        "--credentials", "credentials.yml",
        "--interface", "127.0.0.1",  # channel endpoints take no token: never expose Rasa
        "--port", str(port or settings.rasa_port),
    ]


def start_engine(settings: Settings, model: Path) -> EngineSupervisor:
    """The engine, supervised: restarted with backoff when it dies, stopped by ``stop()``."""
    (ROOT / "var").mkdir(exist_ok=True)
    supervisor = EngineSupervisor(
        engine_command(settings, model),
        env=engine_environment(settings),
        cwd=ROOT,
        status_url=f"http://127.0.0.1:{settings.rasa_port}/status",
        token=settings.rasa_token,
        stop_timeout=ENGINE_STOP_TIMEOUT,
        on_first_ready=lambda: _announce_ready(settings),
    )
    supervisor.start()
    return supervisor


def _announce_ready(settings: Settings) -> None:
    base = f"http://{settings.app_host}:{settings.app_port}"
    log.info(
        "ready.\n  simulator: POST %s/simulator/messages  (GET lists what was delivered)\n"
        "  REST API:  %s/api/v1  (OpenAPI: %s/docs)\n  health:    %s/health",
        base, base, base, base,
    )


def run(settings: Settings) -> None:
    """Migrate, train if needed, start the engine and serve the app until SIGTERM or SIGINT.

    The stop is in order: uvicorn stops accepting, the app's lifespan stops the gateway, then the
    engine is stopped (SIGTERM, SIGKILL after ENGINE_STOP_TIMEOUT); a requested stop exits 0.
    """
    import uvicorn

    from bot.app import create_app

    # Secrets shared between the app and its engine; fresh for each run unless configured.
    settings.rasa_token = settings.rasa_token or secrets.token_urlsafe(24)
    settings.actions_token = settings.actions_token or secrets.token_urlsafe(24)
    server = None
    supervisor = None
    with StopSignals() as signals:
        try:
            upgrade(settings.database_url)
            log.info("store ready: %s", _safe_url(settings.database_url))
            _seed_if_empty(settings)
            model = train(settings)
            supervisor = start_engine(settings, model)
            app = create_app(settings)
            app.state.engine_supervisor = supervisor  # /health shows its describe()
            server = uvicorn.Server(
                uvicorn.Config(
                    app,
                    host=settings.app_host,
                    port=settings.app_port,
                    log_level=settings.log_level.lower(),
                    log_config=None,  # uvicorn's loggers go through our handler and its PII filter
                )
            )
            signals.serving(server)
            server.run()  # returns after uvicorn's graceful shutdown, also on SIGTERM (see StopSignals)
        except StopRequested:
            pass
        finally:
            signals.serving(server)  # a second signal must not interrupt the clean-up
            if supervisor is not None:
                supervisor.stop()
    if signals.received is None and server is not None and not server.started:
        raise SystemExit(3)  # uvicorn could not start (port taken, the app's start-up failed)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


# ---------------------------------------------------------------- the pilot areas


def seed(settings: Settings) -> None:
    from bot import seed as pilot

    with store_session(settings) as session:
        report = pilot.load(session)
    print(
        f"pilot areas loaded: {report.agencies_created} agencies created, {report.agencies_updated} updated, "
        f"{report.rules} routing rules"
    )


def _seed_if_empty(settings: Settings) -> None:
    """A store without routing rules gets the pilot areas, so complaints reach agencies from the start."""
    with store_session(settings) as session:
        if agency_store.routing_rules(session):
            return
    log.info("no routing rules yet: loading the pilot areas (aduan seed)")
    seed(settings)


# ---------------------------------------------------------------- evaluation and Telegram


def evaluate_command(settings: Settings, args: argparse.Namespace) -> None:
    from bot.evaluation import evaluate

    model = train(settings)
    engine_python = Path(rasa_binary()).parent / "python"
    report = evaluate(model, engine_python)
    print(report.table())
    if args.show_errors:
        print("\nerrors (text | expected | got):")
        for text, expected, got in report.confusions:
            print(f"  {text[:90]!r} | {expected} | {got}")
    out = ROOT / "results"
    out.mkdir(exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report.numbers | {"per_intent_f1": report.per_intent_f1}, indent=2))
    (out / "evaluation.md").write_text(report.table() + "\n")
    print(f"\nwritten to {out.relative_to(ROOT)}/evaluation.md and evaluation.json")


def telegram_set_webhook(settings: Settings) -> None:
    """Tell Telegram where to deliver updates: PUBLIC_BASE_URL/webhooks/telegram, with the secret token."""
    import asyncio

    from channels.telegram import TelegramAdapter

    if not (settings.telegram_bot_token and settings.public_base_url and settings.telegram_webhook_secret):
        raise SystemExit("set TELEGRAM_BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET and PUBLIC_BASE_URL first")
    adapter = TelegramAdapter(
        token=settings.telegram_bot_token, webhook_secret=settings.telegram_webhook_secret, api_url=settings.telegram_api_url
    )

    async def register() -> bool:
        try:
            return await adapter.set_webhook(settings.public_base_url)
        finally:
            await adapter.aclose()

    if not asyncio.run(register()):
        raise SystemExit("Telegram refused the webhook")
    print(f"Telegram webhook set to {settings.public_base_url.rstrip('/')}/webhooks/telegram")


# ---------------------------------------------------------------- entry point


def _cluster():
    from bot import cluster

    return cluster


def _run_command(settings: Settings, args: argparse.Namespace) -> None:
    if args.apps == 1 and args.engines == 1:
        run(settings)  # the app in this process, the engine its child
    else:
        _cluster().run_cluster(settings, args.apps, args.engines)


def _migrate_command(settings: Settings, args: argparse.Namespace) -> None:
    upgrade(settings.database_url)
    print("migrations applied")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aduan", description="Aduan: public-service complaint bot")
    commands = parser.add_subparsers(dest="command", required=True)
    # migrate_first: the command reads or writes the store, which is brought to the current schema first
    parser.set_defaults(migrate_first=False)
    run_cmd = commands.add_parser("run", help="migrate, train if needed, and run Rasa + the app")
    run_cmd.add_argument("--apps", type=int, default=1, help="app instances, on ports from APP_PORT (PostgreSQL only)")
    run_cmd.add_argument("--engines", type=int, default=1, help="Rasa servers, on ports from RASA_PORT")
    run_cmd.set_defaults(func=_run_command)
    commands.add_parser("serve", help="one app instance only (no migrations, no engine)").set_defaults(
        func=lambda settings, args: _cluster().serve(settings)
    )
    commands.add_parser("migrate", help="apply the store's migrations").set_defaults(func=_migrate_command)
    train_cmd = commands.add_parser("train", help="train the Rasa model unless it is up to date")
    train_cmd.add_argument("--force", action="store_true")
    train_cmd.set_defaults(func=lambda settings, args: train(settings, force=args.force))

    cli_agencies.add_commands(commands)  # agency, route
    commands.add_parser("seed", help="load the pilot areas' agencies and routing rules").set_defaults(
        func=lambda settings, args: seed(settings), migrate_first=True
    )
    cli_officers.add_commands(commands)  # officer
    cli_open311.add_commands(commands)  # open311 key

    evaluate = commands.add_parser("evaluate", help="NLU, category and place accuracy on the held-out set")
    evaluate.add_argument("--show-errors", action="store_true", help="list every miss")
    evaluate.set_defaults(func=evaluate_command)

    telegram = commands.add_parser("telegram", help="Telegram bot set-up").add_subparsers(dest="action", required=True)
    telegram.add_parser("set-webhook", help="register PUBLIC_BASE_URL/webhooks/telegram with the secret token").set_defaults(
        func=lambda settings, args: telegram_set_webhook(settings)
    )
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    if args.migrate_first:
        upgrade(settings.database_url)
    args.func(settings, args)


if __name__ == "__main__":
    main()
