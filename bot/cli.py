"""``aduan``: the operator's command line.

    aduan run                 migrate, train if needed, start Rasa + the app (Ctrl-C stops both)
    aduan migrate             apply the store's migrations
    aduan train [--force]     train the Rasa model unless one for this data exists
    aduan seed                load the pilot areas' agencies and routing rules (idempotent)
    aduan agency add|list     register or list agencies
    aduan route set|list      route a category in a place to an agency; list the rules
    aduan officer add ...     register an officer (with the addresses they work on: --urn)
    aduan officer urn ...     add an address an officer works on
    aduan officer token ...   issue an API token for an officer (printed once)
    aduan telegram set-webhook  register the Telegram webhook (PUBLIC_BASE_URL, secret token)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from bot.config import Settings, get_settings
from bot.logs import configure_logging
from storage import repository
from storage.db import make_engine, session_scope
from storage.migrate import upgrade
from storage.models import OfficerRole

ROOT = Path(__file__).resolve().parent.parent
TRAINING_INPUTS = ("domain.yml", "config.yml")
TRAINING_DIRS = ("nlu_data",)
MODELS_KEPT = 3

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
    return quiet_engine_environment(env)


def start_engine(settings: Settings, model: Path) -> subprocess.Popen:
    (ROOT / "var").mkdir(exist_ok=True)
    command = [
        rasa_binary(), "run",
        "--enable-api",
        "--auth-token", settings.rasa_token,
        "--model", str(model),
        "--endpoints", "endpoints.yml",
        "--credentials", "credentials.yml",
        "--interface", "127.0.0.1",  # channel endpoints take no token: never expose Rasa
        "--port", str(settings.rasa_port),
    ]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=engine_environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # Ctrl-C reaches us; we stop Rasa ourselves, in order
    )
    threading.Thread(target=_prefix_output, args=(process, "rasa"), daemon=True).start()
    return process


def _prefix_output(process: subprocess.Popen, name: str) -> None:
    for line in process.stdout:
        sys.stdout.write(f"{name:>5} | {line}")
        sys.stdout.flush()


def stop_engine(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _announce_when_ready(settings: Settings, process: subprocess.Popen) -> None:
    url = f"http://127.0.0.1:{settings.rasa_port}/status"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(url, params={"token": settings.rasa_token}, timeout=2).status_code == 200:
                base = f"http://{settings.app_host}:{settings.app_port}"
                log.info(
                    "ready.\n  simulator: POST %s/simulator/messages  (GET lists what was delivered)\n"
                    "  REST API:  %s/api/v1  (OpenAPI: %s/docs)\n  health:    %s/health",
                    base, base, base, base,
                )
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    if process.poll() is not None:
        log.error("the Rasa engine exited with code %s", process.returncode)


def run(settings: Settings) -> None:
    import uvicorn

    from bot.app import create_app

    # Secrets shared between the app and its engine; fresh for each run unless configured.
    settings.rasa_token = settings.rasa_token or secrets.token_urlsafe(24)
    settings.actions_token = settings.actions_token or secrets.token_urlsafe(24)
    upgrade(settings.database_url)
    log.info("store ready: %s", _safe_url(settings.database_url))
    _seed_if_empty(settings)
    model = train(settings)
    engine_process = start_engine(settings, model)
    threading.Thread(target=_announce_when_ready, args=(settings, engine_process), daemon=True).start()
    try:
        uvicorn.run(
            create_app(settings),
            host=settings.app_host,
            port=settings.app_port,
            log_level=settings.log_level.lower(),
            log_config=None,  # uvicorn's loggers go through our handler and its PII filter
        )
    finally:
        log.info("stopping the Rasa engine")
        stop_engine(engine_process)


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
        if repository.routing_rules(session):
            return
    log.info("no routing rules yet: loading the pilot areas (aduan seed)")
    seed(settings)


def agency_list(settings: Settings, args: argparse.Namespace) -> None:
    with _session(settings) as session:
        for agency in repository.list_agencies(session):
            if args.region and agency.region_code != args.region:
                continue
            print(f"{agency.code:<20} {agency.region_code or '-':<6} {agency.name}")


def route_set(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import ANY, Category

    category = ANY if args.category == ANY else Category(args.category).value
    with _session(settings) as session:
        agency = repository.get_agency_by_code(session, args.agency)
        if agency is None:
            raise SystemExit(f"no agency with code {args.agency}; see `aduan agency list`")
        repository.set_routing_rule(session, agency_id=agency.id, category=category, region_code=args.region)
    print(f"{category} in {args.region} -> {args.agency}")


def route_list(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import Agency

    with _session(settings) as session:
        for rule in repository.routing_rules(session):
            if args.region and rule.region_code != args.region:
                continue
            print(f"{rule.region_code:<6} {rule.category:<24} {session.get(Agency, rule.agency_id).code}")


def _officer_urns(urns: list[str]) -> list[str]:
    from channels.urns import InvalidAddress, make_urn

    out = []
    for raw in urns:
        scheme, _, address = raw.partition(":")
        try:
            out.append(make_urn(scheme, address))
        except InvalidAddress as exc:
            raise SystemExit(f"{raw!r} is not an address (sms:+62..., whatsapp:+62..., telegram:<chat id>): {exc}")
    return out


def officer_urn(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import Officer

    urns = _officer_urns(args.urn)
    with _session(settings) as session:
        if session.get(Officer, args.officer) is None:
            raise SystemExit(f"no officer with id {args.officer}")
        for urn in urns:
            if repository.officer_urn_taken(session, urn):
                raise SystemExit(f"{urn} is already an officer's address")
            repository.add_officer_urn(session, args.officer, urn)
    print(f"officer {args.officer} now works on {', '.join(urns)}")


def agency_add(settings: Settings, args: argparse.Namespace) -> None:
    with _session(settings) as session:
        if repository.get_agency_by_code(session, args.code):
            raise SystemExit(f"agency {args.code} exists already")
        agency = repository.create_agency(
            session, code=args.code, name=args.name, region_code=args.region, short_name=args.short
        )
        print(f"agency {agency.code} created (id {agency.id})")


def officer_add(settings: Settings, args: argparse.Namespace) -> None:
    with _session(settings) as session:
        agency = repository.get_agency_by_code(session, args.agency)
        if agency is None:
            raise SystemExit(f"no agency with code {args.agency}; see `aduan agency add`")
        officer = repository.create_officer(session, name=args.name, agency_id=agency.id, role=OfficerRole(args.role))
        for urn in _officer_urns(args.urn or []):
            if repository.officer_urn_taken(session, urn):
                raise SystemExit(f"{urn} is already an officer's address")
            repository.add_officer_urn(session, officer.id, urn)
        print(f"officer {officer.id} created ({officer.role} at {agency.code})")


def officer_token(settings: Settings, args: argparse.Namespace) -> None:
    from storage.models import Officer

    with _session(settings) as session:
        if session.get(Officer, args.officer) is None:
            raise SystemExit(f"no officer with id {args.officer}")
        token = repository.issue_token(session, args.officer, label=args.label)
    # The only time the token is shown: it is stored hashed.
    print(token)


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
    urn = officer.add_parser("urn", help="add an address an officer works on")
    urn.add_argument("--officer", type=int, required=True, help="officer id")
    urn.add_argument("--urn", action="append", required=True)
    token = officer.add_parser("token", help="issue a bearer token (printed once)")
    token.add_argument("--officer", type=int, required=True, help="officer id")
    token.add_argument("--label")

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
        {"add": officer_add, "token": officer_token, "urn": officer_urn}[args.action](settings, args)
    elif args.command == "telegram":
        telegram_set_webhook(settings)
    elif args.command == "evaluate":
        evaluate_command(settings, args)


if __name__ == "__main__":
    main()
