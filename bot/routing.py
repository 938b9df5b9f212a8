"""Which agency answers a complaint: the most specific routing rule, else the national queue.

A kab/kota beats a province beats anywhere; then a named category beats any category. With no rule
for the place and category the complaint goes to ``NASIONAL``, whose admins verify and forward it
(DESIGN.md section 4).
"""

from __future__ import annotations

from sqlmodel import Session

from storage import agencies
from storage.models import ANY, Agency, Category, RoutingRule


def _specificity(rule: RoutingRule) -> tuple[int, int]:
    place = {5: 2, 2: 1}.get(len(rule.region_code), 0) if rule.region_code != ANY else 0
    return place, 0 if rule.category == ANY else 1


def route(session: Session, *, category: str, region_code: str | None, province_code: str | None) -> Agency:
    """The agency for a category in a place."""
    places = [code for code in (region_code, province_code) if code] + [ANY]
    matches = agencies.rules_matching(session, category=Category(category).value, places=places)
    if not matches:
        return agencies.national_queue(session)
    _, agency = max(matches, key=lambda match: _specificity(match[0]))
    return agency
