"""Agencies and routing rules under /api/v1 (officers read them, admins change them).

The rules of a change (an agency code is new, a rule names an existing agency) are
bot/administration.py's, which ``aduan agency add`` and ``aduan route set`` obey too.
"""

from __future__ import annotations

from fastapi import APIRouter

from bot import administration
from bot.api.deps import AdminDep, OfficerDep, SessionDep, administration_refusals
from bot.api.schemas import AgencyCreate, AgencyPublic, RoutingRulePublic
from storage import agencies as agency_store
from storage.models import Category

router = APIRouter(tags=["routing"])


@router.get("/agencies", response_model=list[AgencyPublic])
def agencies(session: SessionDep, officer: OfficerDep) -> list[AgencyPublic]:
    return [AgencyPublic.of(agency) for agency in agency_store.list_agencies(session)]


@router.post("/agencies", response_model=AgencyPublic, status_code=201)
def add_agency(body: AgencyCreate, session: SessionDep, admin: AdminDep) -> AgencyPublic:
    with administration_refusals():
        agency = administration.add_agency(
            session, code=body.code, name=body.name, region_code=body.region_code, short_name=body.short_name
        )
    return AgencyPublic.of(agency)


@router.get("/routing-rules", response_model=list[RoutingRulePublic])
def rules(session: SessionDep, officer: OfficerDep) -> list[RoutingRulePublic]:
    codes = {agency.id: agency.code for agency in agency_store.list_agencies(session)}
    return [
        RoutingRulePublic(category=rule.category, region_code=rule.region_code, agency=codes[rule.agency_id])
        for rule in agency_store.routing_rules(session)
    ]


@router.put("/routing-rules", response_model=RoutingRulePublic)
def set_rule(body: RoutingRulePublic, session: SessionDep, admin: AdminDep) -> RoutingRulePublic:
    """Route a category (or *) in a place (kab/kota, province or *) to an agency; replaces the rule there."""
    category = body.category.value if isinstance(body.category, Category) else body.category
    with administration_refusals():
        administration.set_route(session, agency_code=body.agency, category=category, region_code=body.region_code)
    return body
