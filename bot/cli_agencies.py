"""``aduan agency add|list`` and ``aduan route set|list``: the agencies and the routing rules.

The rules of a change are bot/administration.py's, which the REST API's admins obey too.
"""

from __future__ import annotations

import argparse

from bot import administration
from bot.cli_common import refusals_exit, store_session
from bot.config import Settings
from storage import agencies as agency_store
from storage.models import Agency

SEE_AGENCIES = {"unknown_agency": "; see `aduan agency list`"}


def agency_add(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session, refusals_exit():
        agency = administration.add_agency(
            session, code=args.code, name=args.name, region_code=args.region, short_name=args.short
        )
    print(f"agency {agency.code} created (id {agency.id})")


def agency_list(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session:
        for agency in agency_store.list_agencies(session):
            if args.region and agency.region_code != args.region:
                continue
            print(f"{agency.code:<20} {agency.region_code or '-':<6} {agency.name}")


def route_set(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session, refusals_exit(SEE_AGENCIES):
        rule = administration.set_route(session, agency_code=args.agency, category=args.category, region_code=args.region)
    print(f"{rule.category} in {rule.region_code} -> {args.agency}")


def route_list(settings: Settings, args: argparse.Namespace) -> None:
    with store_session(settings) as session:
        for rule in agency_store.routing_rules(session):
            if args.region and rule.region_code != args.region:
                continue
            print(f"{rule.region_code:<6} {rule.category:<24} {session.get(Agency, rule.agency_id).code}")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """``agency`` and ``route`` with their actions, each dispatching to its function (``func``) on a migrated store."""
    agency_parser = commands.add_parser("agency", help="agencies")
    agency_parser.set_defaults(migrate_first=True)
    agency = agency_parser.add_subparsers(dest="action", required=True)
    add = agency.add_parser("add")
    add.add_argument("--code", required=True)
    add.add_argument("--name", required=True)
    add.add_argument("--region", help="Kemendagri kab/kota code, e.g. 34.04")
    add.add_argument("--short", help="the name citizens read in pushes, within one SMS (Dinas PUPR Kab. Sleman)")
    add.set_defaults(func=agency_add)
    listing = agency.add_parser("list")
    listing.add_argument("--region", help="only this kab/kota or province code")
    listing.set_defaults(func=agency_list)

    route_parser = commands.add_parser("route", help="routing rules")
    route_parser.set_defaults(migrate_first=True)
    route = route_parser.add_subparsers(dest="action", required=True)
    route_add = route.add_parser("set", help="route a category in a place to an agency (replaces the old rule)")
    route_add.add_argument("--category", required=True, help="category slug, or * for any")
    route_add.add_argument("--region", required=True, help="kab/kota (34.04), province (34) or * for anywhere")
    route_add.add_argument("--agency", required=True, help="agency code")
    route_add.set_defaults(func=route_set)
    route_listing = route.add_parser("list")
    route_listing.add_argument("--region")
    route_listing.set_defaults(func=route_list)
