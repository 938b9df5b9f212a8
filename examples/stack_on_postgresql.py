"""Run the stack on PostgreSQL, then check that it is up: the settings to use, and ``/health``.

Shows the production set-up of the store: the app's complaints, messages and outbox in one
PostgreSQL database (``DATABASE_URL``), Rasa's conversation trackers in another (the
``RASA_TRACKER_*`` variables, read by endpoints.yml). The script prints the commands for the
databases and settings given, then reads ``GET /health`` and ``GET /health/ready`` of the running
app and says whether the store and the engine answer.

    # 1. the databases (once), on the PostgreSQL server:
    createdb -h db.internal -U aduan aduan
    createdb -h db.internal -U aduan rasa
    # 2. print the settings and commands for them:
    .venv/app/bin/python examples/stack_on_postgresql.py --db-host db.internal --db-user aduan --db-password secret
    # 3. in another terminal, start the stack with those settings (as printed), e.g.
    #    DATABASE_URL=postgresql+psycopg://aduan:secret@db.internal:5432/aduan \\
    #    RASA_TRACKER_DIALECT=postgresql RASA_TRACKER_HOST=db.internal RASA_TRACKER_DB=rasa make run
    # 4. check it, waiting until the engine has loaded its model:
    .venv/app/bin/python examples/stack_on_postgresql.py --check --wait 300

Rasa's tracker store connects with the user and password in endpoints.yml (``username``,
``password``, as ``${VARIABLES}``): add them there when the server needs them (docs/operations.md).
"""

from __future__ import annotations

import argparse
import sys
import time
from urllib.parse import quote

import httpx


def settings(args: argparse.Namespace) -> dict[str, str]:
    credentials = quote(args.db_user, safe="")
    if args.db_password:
        credentials += ":" + quote(args.db_password, safe="")
    return {
        "DATABASE_URL": f"postgresql+psycopg://{credentials}@{args.db_host}:{args.db_port}/{args.app_db}",
        "RASA_TRACKER_DIALECT": "postgresql",
        "RASA_TRACKER_HOST": args.db_host,
        "RASA_TRACKER_DB": args.tracker_db,
    }


def print_steps(args: argparse.Namespace) -> None:
    values = settings(args)
    exports = "\n".join(f"export {name}='{value}'" for name, value in values.items())
    print(f"""# the two databases, once (the app migrates its own; Rasa creates its table):
createdb -h {args.db_host} -p {args.db_port} -U {args.db_user} {args.app_db}
createdb -h {args.db_host} -p {args.db_port} -U {args.db_user} {args.tracker_db}

# the settings (or put them in .env, see .env.example):
{exports}

# migrate the store and start the stack (make run migrates too):
.venv/app/bin/aduan migrate
make run

# then check it:
.venv/app/bin/python examples/stack_on_postgresql.py --check --base-url {args.base_url}""")


def health(http: httpx.Client) -> tuple[dict, dict]:
    ready = http.get("/health/ready")
    return http.get("/health").json(), {"status": ready.status_code, **ready.json()}


def check(args: argparse.Namespace) -> None:
    deadline = time.monotonic() + args.wait
    with httpx.Client(base_url=args.base_url, timeout=10) as http:
        while True:
            try:
                state, ready = health(http)
            except httpx.ConnectError:
                state, ready = None, None
            if ready and ready["ready"]:
                break
            if time.monotonic() >= deadline:
                break
            time.sleep(3)
    if state is None:
        sys.exit(f"nothing answers at {args.base_url}: is the stack running (make run)?")
    print(f"store:    {state['store']}")
    print(f"rasa:     {state['rasa']}")
    print(f"channels: {state['channels']}")
    print(f"counters: {state['counters'] or 'none'}")
    print(f"ready:    {ready['ready']} (GET /health/ready answered {ready['status']})")
    if state["store"] != "ok":
        sys.exit("the store does not answer: check DATABASE_URL and that `aduan migrate` ran")
    if not ready["ready"]:
        sys.exit("the engine is not ready yet (loading its model?): try again with --wait 300")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8000", help="the app (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="check the running app instead of printing the steps")
    parser.add_argument("--wait", type=float, default=0, help="with --check: seconds to wait for readiness")
    parser.add_argument("--db-host", default="127.0.0.1")
    parser.add_argument("--db-port", type=int, default=5432)
    parser.add_argument("--db-user", default="aduan")
    parser.add_argument("--db-password", default="", help="better in ~/.pgpass or the environment than here")
    parser.add_argument("--app-db", default="aduan", help="the app's database (default: %(default)s)")
    parser.add_argument("--tracker-db", default="rasa", help="Rasa's tracker database (default: %(default)s)")
    args = parser.parse_args()
    if args.check:
        check(args)
    else:
        print_steps(args)


if __name__ == "__main__":
    main()
