"""``aduan officer ...``: officers, the addresses they work on, their API tokens, PINs and activation.

The rules (an address belongs to one officer, a deactivated officer gets no token, a revoked
token stays revoked) are bot/administration.py's, which the REST API's admins obey too. What is
the CLI's own: addresses are read as written (``sms:0812...``) and checked against the simulator
switch, a PIN is read from a prompt or stdin (never from the command line), tokens are printed once.
"""

from __future__ import annotations

import argparse
import sys

from bot import administration
from bot.cli_common import refusals_exit, store_session
from bot.config import Settings
from storage import officers as officer_store
from storage.models import Agency, OfficerRole

REVOKE_ALL = "all"
SEE_OFFICERS = {"no_address": "; see `aduan officer list`", "invalid": " (see `aduan officer list`)"}


def _officer_urns(urns: list[str], settings: Settings) -> list[str]:
    """The addresses as the store keeps them; simulator ones only while the simulator is on."""
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


def officer_add(settings: Settings, args: argparse.Namespace) -> None:
    urns = _officer_urns(args.urn or [], settings)
    with store_session(settings) as session, refusals_exit({"unknown_agency": "; see `aduan agency add`"}):
        officer = administration.add_officer(
            session, name=args.name, agency_code=args.agency, role=OfficerRole(args.role), urns=urns
        )
    print(f"officer {officer.id} created ({officer.role} at {args.agency})")


def officer_list(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session:
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


def officer_urn(settings: Settings, args: argparse.Namespace) -> None:
    if not args.urn and not args.remove:
        raise SystemExit("give --urn ADDRESS to add an address or --remove ADDRESS to remove one")
    urns = _officer_urns(args.urn or [], settings)
    with store_session(settings) as session, refusals_exit(SEE_OFFICERS):
        administration.officer_by_id(session, args.officer)
        for raw in args.remove or []:
            administration.remove_officer_address(session, args.officer, urn=raw)
        for urn in urns:
            administration.add_officer_address(session, args.officer, urn)
    if urns:
        print(f"officer {args.officer} now works on {', '.join(urns)}")
    for raw in args.remove or []:
        print(f"officer {args.officer} no longer works on {raw.strip()}")


def officer_token(settings: Settings, args: argparse.Namespace) -> None:
    if args.revoke is not None:
        officer_token_revoke(settings, args)
        return
    with store_session(settings) as session, refusals_exit({"officer_inactive": ": `aduan officer reactivate` first"}):
        token = administration.issue_token(session, args.officer, label=args.label)
    # The only time the token is shown: it is stored hashed.
    print(token)


def officer_token_revoke(settings: Settings, args: argparse.Namespace) -> None:
    prefix = None if args.revoke == REVOKE_ALL else args.revoke.strip()
    with store_session(settings) as session, refusals_exit(SEE_OFFICERS):
        revoked = administration.revoke_tokens(session, args.officer, prefix)
    print(f"{revoked} token(s) of officer {args.officer} revoked")


def officer_active(settings: Settings, args: argparse.Namespace) -> None:
    active = args.action == "reactivate"
    with store_session(settings) as session, refusals_exit():
        revoked = administration.set_officer_active(session, args.officer, active)
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

    with store_session(settings) as session, refusals_exit():
        administration.officer_by_id(session, args.officer)  # before asking for a PIN nobody can use
    if args.clear:
        pin = None
    else:
        try:
            pin = pins.check_strength(_read_pin())
        except pins.WeakPin as exc:
            raise SystemExit(f"PIN refused: {exc}; nothing changed") from None
    with store_session(settings) as session:
        officer_store.set_officer_pin(session, args.officer, pins.hash_pin(pin) if pin is not None else None)
    print(f"PIN of officer {args.officer} {'removed' if pin is None else 'set'}; wrong-PIN count and lock cleared")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """``officer`` with its actions, each dispatching to its function (``func``) on a migrated store."""
    officer_parser = commands.add_parser("officer", help="officers and their API tokens")
    officer_parser.set_defaults(migrate_first=True)
    officer = officer_parser.add_subparsers(dest="action", required=True)
    add = officer.add_parser("add")
    add.add_argument("--name", required=True)
    add.add_argument("--agency", required=True, help="agency code (NASIONAL: the national queue)")
    add.add_argument("--role", choices=[r.value for r in OfficerRole], default=OfficerRole.officer.value)
    add.add_argument("--urn", action="append", help="an address they work on: telegram:<chat id>, whatsapp:+62..., sms:+62...")
    add.set_defaults(func=officer_add)
    officer.add_parser("list", help="officers, their addresses, PIN and active tokens (prefixes)").set_defaults(
        func=officer_list
    )
    urn = officer.add_parser("urn", help="add or remove an address an officer works on")
    urn.add_argument("--officer", type=int, required=True, help="officer id")
    urn.add_argument("--urn", action="append", help="an address to add")
    urn.add_argument("--remove", action="append", metavar="URN", help="an address to remove, as `officer list` shows it")
    urn.set_defaults(func=officer_urn)
    token = officer.add_parser("token", help="issue a bearer token (printed once), or revoke tokens")
    token.add_argument("--officer", type=int, required=True, help="officer id")
    token.add_argument("--label")
    token.add_argument(
        "--revoke", nargs="?", const=REVOKE_ALL, metavar="PREFIX",
        help="revoke every token of the officer, or the one starting with PREFIX (see `officer list`)",
    )
    token.set_defaults(func=officer_token)
    pin = officer.add_parser("pin", help="set the PIN for commands over SMS (asked at a prompt, or read from stdin)")
    pin.add_argument("--officer", type=int, required=True, help="officer id")
    pin.add_argument("--clear", action="store_true", help="remove the PIN")
    pin.set_defaults(func=officer_pin)
    for action, what in (
        ("deactivate", "an officer who left: addresses ignored, tokens revoked"),
        ("reactivate", "undo deactivate"),
    ):
        toggle = officer.add_parser(action, help=what)
        toggle.add_argument("--officer", type=int, required=True, help="officer id")
        toggle.set_defaults(func=officer_active)
