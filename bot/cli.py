"""``aduan``: the operator's command line.

    aduan run                 migrate, train if needed, start Rasa + the app (Ctrl-C stops both)
    aduan migrate             apply the store's migrations
    aduan train [--force]     train the Rasa model unless one for this data exists
    aduan seed                load the pilot areas' agencies and routing rules (idempotent)
    aduan agency add|list     register or list agencies
    aduan route set|list      route a category in a place to an agency; list the rules
    aduan officer add ...     register an officer (with the addresses they work on: --urn)
    aduan officer list        officers, their addresses, PIN and tokens (prefixes only)
    aduan officer urn ...     add (--urn) or remove (--remove) an address an officer works on
    aduan officer token ...   issue an API token for an officer (printed once), or --revoke them
    aduan officer pin ...     set the PIN for commands over SMS (read from a prompt or stdin)
    aduan officer deactivate|reactivate --officer N   an inactive officer's tokens are revoked
    aduan telegram set-webhook  register the Telegram webhook (PUBLIC_BASE_URL, secret token)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from bot.config import Settings, get_settings
from bot.engine_process import EngineSupervisor, StopRequested, StopSignals
from bot.logs import configure_logging
from storage import agencies as agency_store
from storage import officers as officer_store
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import OfficerRole

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
    # Read by scripts/rasa_launcher.py, which hands them to Rasa in-process: never on a command line
    env[ENGINE_TOKEN_VARIABLE] = settings.rasa_token
    env[ENGINE_PARENT_VARIABLE] = str(os.getpid())  # the engine ends with us, even if we are SIGKILLed
    return quiet_engine_environment(env)


def engine_command(settings: Settings, model: Path) -> list[str]:
    """``rasa run`` through the launcher, in the engine's Python: the token comes from the
    environment (Rasa 3.6 reads it only from --auth-token, which ``ps`` shows to every user)."""
    engine_python = Path(rasa_binary()).parent / "python"
    return [
        str(engine_python), str(ENGINE_LAUNCHER), "run",
        "--enable-api",
        "--model", str(model),
        "--endpoints", "endpoints.yml",
        "--credentials", "credentials.yml",
        "--interface", "127.0.0.1",  # channel endpoints take no token: never expose Rasa
        "--port", str(settings.rasa_port),
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


# ---------------------------------------------------------------- officers and agencies


def _session(settings: Settings):
    return session_scope(make_engine(settings.database_url))


def seed(settings: Settings) -> None:
    from bot import seed as pilot

    with _session(settings) as session:
        report = pilot.load(session)
    print(
        f"pilot areas loaded: {report.agencies_created} agencies created, {report.agencies_updated} updated, "
        f"{report.rules} routing rules"
    )


def _seed_if_empty(settings: Settings) -> None:
    """A store without routing rules gets the pilot areas, so complaints reach agencies from the start."""
    with _session(settings) as session:
        if agency_store.routing_rules(session):
            return
    log.info("no routing rules yet: loading the pilot areas (aduan seed)")
    seed(settings)


def agency_list(settings: Settings, args: argparse.Namespace) -> None:
    with _session(settings) as session:
        for agency in agency_store.list_agencies(session):
            if args.region and agency.region_code != args.region:
                continue
            print(f"{agency.code:<20} {agency.region_code or '-':<6} {agency.name}")


def route_set(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import ANY, Category

    category = ANY if args.category == ANY else Category(args.category).value
    with _session(settings) as session:
        agency = agency_store.get_agency_by_code(session, args.agency)
        if agency is None:
            raise SystemExit(f"no agency with code {args.agency}; see `aduan agency list`")
        agency_store.set_routing_rule(session, agency_id=agency.id, category=category, region_code=args.region)
    print(f"{category} in {args.region} -> {args.agency}")


def route_list(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import Agency

    with _session(settings) as session:
        for rule in agency_store.routing_rules(session):
            if args.region and rule.region_code != args.region:
                continue
            print(f"{rule.region_code:<6} {rule.category:<24} {session.get(Agency, rule.agency_id).code}")


def _officer_urns(urns: list[str], settings: Settings) -> list[str]:
    from channels.urns import InvalidAddress, make_urn

    out = []
    for raw in urns:
        scheme, _, address = raw.partition(":")
        if scheme.startswith("sim-") and not settings.simulator_enabled:
            raise SystemExit(
                f"{raw!r} is a simulator address, and the simulator is off (PUBLIC_BASE_URL is set or "
                "SIMULATOR_ENABLED=false): give the officer's real address (sms:, whatsapp:, telegram:)"
            )
        try:
            out.append(make_urn(scheme, address))
        except InvalidAddress as exc:
            raise SystemExit(f"{raw!r} is not an address (sms:+62..., whatsapp:+62..., telegram:<chat id>): {exc}")
    return out


def _officer(session, officer_id: int):
    from storage.models import Officer

    officer = session.get(Officer, officer_id)
    if officer is None:
        raise SystemExit(f"no officer with id {officer_id}")
    return officer


def officer_urn(settings: Settings, args: argparse.Namespace) -> None:
    if not args.urn and not args.remove:
        raise SystemExit("give --urn ADDRESS to add an address or --remove ADDRESS to remove one")
    urns = _officer_urns(args.urn or [], settings)
    with _session(settings) as session:
        _officer(session, args.officer)
        for raw in args.remove or []:
            if not officer_store.remove_officer_urn(session, args.officer, raw.strip()):
                raise SystemExit(f"officer {args.officer} does not work on {raw}; see `aduan officer list`")
        for urn in urns:
            if officer_store.officer_urn_taken(session, urn):
                raise SystemExit(f"{urn} is already an officer's address")
            officer_store.add_officer_urn(session, args.officer, urn)
    if urns:
        print(f"officer {args.officer} now works on {', '.join(urns)}")
    for raw in args.remove or []:
        print(f"officer {args.officer} no longer works on {raw.strip()}")


def agency_add(settings: Settings, args: argparse.Namespace) -> None:
    with _session(settings) as session:
        if agency_store.get_agency_by_code(session, args.code):
            raise SystemExit(f"agency {args.code} exists already")
        agency = agency_store.create_agency(
            session, code=args.code, name=args.name, region_code=args.region, short_name=args.short
        )
        print(f"agency {agency.code} created (id {agency.id})")


def officer_add(settings: Settings, args: argparse.Namespace) -> None:
    with _session(settings) as session:
        agency = agency_store.get_agency_by_code(session, args.agency)
        if agency is None:
            raise SystemExit(f"no agency with code {args.agency}; see `aduan agency add`")
        urns = _officer_urns(args.urn or [], settings)
        officer = officer_store.create_officer(session, name=args.name, agency_id=agency.id, role=OfficerRole(args.role))
        for urn in urns:
            if officer_store.officer_urn_taken(session, urn):
                raise SystemExit(f"{urn} is already an officer's address")
            officer_store.add_officer_urn(session, officer.id, urn)
        print(f"officer {officer.id} created ({officer.role} at {agency.code})")


REVOKE_ALL = "all"
MIN_TOKEN_PREFIX = 6


def officer_token(settings: Settings, args: argparse.Namespace) -> None:
    if args.revoke is not None:
        officer_token_revoke(settings, args)
        return
    with _session(settings) as session:
        officer = _officer(session, args.officer)
        if not officer.active:
            raise SystemExit(f"officer {args.officer} is deactivated: `aduan officer reactivate` first")
        token = officer_store.issue_token(session, args.officer, label=args.label)
    # The only time the token is shown: it is stored hashed.
    print(token)


def officer_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    prefix = None if args.revoke == REVOKE_ALL else args.revoke.strip()
    if prefix is not None and len(prefix) < MIN_TOKEN_PREFIX:
        raise SystemExit(f"give at least {MIN_TOKEN_PREFIX} characters of the token (see `aduan officer list`)")
    with _session(settings) as session:
        _officer(session, args.officer)
        revoked = officer_store.revoke_tokens(session, args.officer, prefix)
    if prefix is not None and not revoked:
        raise SystemExit(f"officer {args.officer} has no active token starting with {prefix}")
    print(f"{revoked} token(s) of officer {args.officer} revoked")


def officer_list(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import Agency

    with _session(settings) as session:
        for officer in officer_store.list_officers(session):
            agency = session.get(Agency, officer.agency_id)
            state = "active" if officer.active else "INACTIVE"
            pin = "PIN set" if officer.pin_hash else "no PIN"
            print(f"{officer.id:>4} {officer.name} ({officer.role} at {agency.code}, {state}, {pin})")
            for row in officer_store.urns_of_officer(session, officer.id):
                print(f"       address {row.urn}")
            for token in officer_store.tokens_of_officer(session, officer.id):
                if token.revoked_at is None:
                    print(f"       token   {token.prefix}... {token.label or ''}".rstrip())


def officer_active(settings: Settings, args: argparse.Namespace) -> None:
    active = args.action == "reactivate"
    with _session(settings) as session:
        _officer(session, args.officer)
        revoked = officer_store.set_officer_active(session, args.officer, active)
    if active:
        print(f"officer {args.officer} reactivated (issue a new token if they need the API)")
    else:
        print(f"officer {args.officer} deactivated: their addresses are no longer officers', {revoked} token(s) revoked")


def _read_pin() -> str:
    """The new PIN from a prompt (asked twice, not echoed), or the first line of stdin when it is not a terminal."""
    import getpass

    if not sys.stdin.isatty():
        return sys.stdin.readline().strip()
    pin = getpass.getpass("New PIN (6-12 digits): ").strip()
    if getpass.getpass("Again: ").strip() != pin:
        raise SystemExit("the two PINs differ; nothing changed")
    return pin


def officer_pin(settings: Settings, args: argparse.Namespace) -> None:
    """Set an officer's PIN for commands over SMS; never from the command line (shell history, ``ps``)."""
    from bot import pins

    with _session(settings) as session:
        _officer(session, args.officer)
    if args.clear:
        pin = None
    else:
        try:
            pin = pins.check_strength(_read_pin())
        except pins.WeakPin as exc:
            raise SystemExit(f"PIN refused: {exc}; nothing changed") from None
    with _session(settings) as session:
        officer_store.set_officer_pin(session, args.officer, pins.hash_pin(pin) if pin is not None else None)
    print(f"PIN of officer {args.officer} {'removed' if pin is None else 'set'}; wrong-PIN count and lock cleared")


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


# ---------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aduan", description="Aduan: public-service complaint bot")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="migrate, train if needed, and run Rasa + the app")
    commands.add_parser("migrate", help="apply the store's migrations")
    train_cmd = commands.add_parser("train", help="train the Rasa model unless it is up to date")
    train_cmd.add_argument("--force", action="store_true")

    agency = commands.add_parser("agency", help="agencies").add_subparsers(dest="action", required=True)
    add = agency.add_parser("add")
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--region", help="Kemendagri kab/kota code, e.g. 34.04")
    add.add_argument("--short", help="the name citizens read in pushes, within one SMS (Dinas PUPR Kab. Sleman)")
    listing = agency.add_parser("list")
    listing.add_argument("--region", help="only this kab/kota or province code")

    commands.add_parser("seed", help="load the pilot areas' agencies and routing rules")
    route = commands.add_parser("route", help="routing rules").add_subparsers(dest="action", required=True)
    route_add = route.add_parser("set", help="route a category in a place to an agency (replaces the old rule)")
    route_add.add_argument("--category", required=True, help="category slug, or * for any")
    route_add.add_argument("--region", required=True, help="kab/kota (34.04), province (34) or * for anywhere")
    route_add.add_argument("--agency", required=True, help="agency code")
    route_listing = route.add_parser("list")
    route_listing.add_argument("--region")

    officer = commands.add_parser("officer", help="officers and their API tokens").add_subparsers(
        dest="action", required=True
    )
    add = officer.add_parser("add")
    add.add_argument("--name", required=True)
    add.add_argument("--agency", required=True, help="agency code (NASIONAL: the national queue)")
    add.add_argument("--role", choices=[r.value for r in OfficerRole], default=OfficerRole.officer.value)
    add.add_argument("--urn", action="append", help="an address they work on: telegram:<chat id>, whatsapp:+62..., sms:+62...")
    officer.add_parser("list", help="officers, their addresses, PIN and active tokens (prefixes)")
    urn = officer.add_parser("urn", help="add or remove an address an officer works on")
    urn.add_argument("--officer", type=int, required=True, help="officer id")
    urn.add_argument("--urn", action="append", help="an address to add")
    urn.add_argument("--remove", action="append", metavar="URN", help="an address to remove, as `officer list` shows it")
    token = officer.add_parser("token", help="issue a bearer token (printed once), or revoke tokens")
    token.add_argument("--officer", type=int, required=True, help="officer id")
    token.add_argument("--label")
    token.add_argument(
        "--revoke", nargs="?", const=REVOKE_ALL, metavar="PREFIX",
        help="revoke every token of the officer, or the one starting with PREFIX (see `officer list`)",
    )
    pin = officer.add_parser("pin", help="set the PIN for commands over SMS (asked at a prompt, or read from stdin)")
    pin.add_argument("--officer", type=int, required=True, help="officer id")
    pin.add_argument("--clear", action="store_true", help="remove the PIN")
    for action, what in (
        ("deactivate", "an officer who left: addresses ignored, tokens revoked"),
        ("reactivate", "undo deactivate"),
    ):
        toggle = officer.add_parser(action, help=what)
        toggle.add_argument("--officer", type=int, required=True, help="officer id")

    evaluate = commands.add_parser("evaluate", help="NLU, category and place accuracy on the held-out set")
    evaluate.add_argument("--show-errors", action="store_true", help="list every miss")

    telegram = commands.add_parser("telegram", help="Telegram bot set-up").add_subparsers(dest="action", required=True)
    telegram.add_parser("set-webhook", help="register PUBLIC_BASE_URL/webhooks/telegram with the secret token")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    if args.command == "run":
        run(settings)
    elif args.command == "migrate":
        upgrade(settings.database_url)
        print("migrations applied")
    elif args.command == "train":
        train(settings, force=args.force)
    elif args.command == "seed":
        upgrade(settings.database_url)
        seed(settings)
    elif args.command == "agency":
        upgrade(settings.database_url)
        {"add": agency_add, "list": agency_list}[args.action](settings, args)
    elif args.command == "route":
        upgrade(settings.database_url)
        {"set": route_set, "list": route_list}[args.action](settings, args)
    elif args.command == "officer":
        upgrade(settings.database_url)
        {
            "add": officer_add, "list": officer_list, "token": officer_token, "urn": officer_urn, "pin": officer_pin,
            "deactivate": officer_active, "reactivate": officer_active,
        }[args.action](settings, args)
    elif args.command == "telegram":
        telegram_set_webhook(settings)
    elif args.command == "evaluate":
        evaluate_command(settings, args)


if __name__ == "__main__":
    main()
