"""Agencies and their routing rules (which agency answers which category where).

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import (
    ANY,
    Agency,
    NATIONAL_QUEUE_CODE,
    RoutingRule,
)
from storage.rows import NotFound


def national_queue(session: Session) -> Agency:
    agency = session.exec(select(Agency).where(Agency.code == NATIONAL_QUEUE_CODE)).first()
    if agency is None:
        raise NotFound("the national queue agency is missing: run the migrations")
    return agency


def get_agency_by_code(session: Session, code: str) -> Agency | None:
    return session.exec(select(Agency).where(Agency.code == code)).first()


def create_agency(
    session: Session, *, code: str, name: str, region_code: str | None = None, short_name: str | None = None
) -> Agency:
    agency = Agency(code=code, name=name, region_code=region_code, short_name=short_name)
    session.add(agency)
    session.flush()
    return agency


def list_agencies(session: Session) -> list[Agency]:
    return list(session.exec(select(Agency).order_by(col(Agency.code))).all())


def set_routing_rule(session: Session, *, agency_id: int, category: str = ANY, region_code: str = ANY) -> RoutingRule:
    """Route a category (or ANY) in a place (kab/kota, province or ANY) to an agency; replaces the old rule."""
    rule = session.exec(
        select(RoutingRule).where(RoutingRule.category == category, RoutingRule.region_code == region_code)
    ).first()
    if rule is None:
        rule = RoutingRule(category=category, region_code=region_code, agency_id=agency_id)
    rule.agency_id = agency_id
    session.add(rule)
    session.flush()
    return rule


def routing_rules(session: Session, agency_id: int | None = None) -> list[RoutingRule]:
    query = select(RoutingRule)
    if agency_id is not None:
        query = query.where(RoutingRule.agency_id == agency_id)
    return list(session.exec(query.order_by(col(RoutingRule.region_code), col(RoutingRule.category))).all())


def rules_matching(session: Session, *, category: str, places: Sequence[str]) -> list[tuple[RoutingRule, Agency]]:
    """The routing rules for ``category`` (or any) in one of ``places`` (codes, or ANY), with their agencies."""
    return list(
        session.exec(
            select(RoutingRule, Agency)
            .join(Agency, col(Agency.id) == col(RoutingRule.agency_id))
            .where(col(RoutingRule.category).in_([category, ANY]), col(RoutingRule.region_code).in_(places))
        ).all()
    )
