"""The administrators' rules: agencies, routing rules, officers' addresses, tokens and activation.

Two front doors change these: the CLI (``aduan agency|route|officer``) and the REST API (admins,
under /api/v1). Both call these functions, so a rule (an agency code is new, a routing rule names
an existing agency, an admin cannot deactivate themselves) is written once. Plain functions taking
a session, in the caller's transaction; a refusal is an ``AdministrationError`` raised before
anything changes (or in a transaction the caller then rolls back): the API answers it with a 4xx,
the CLI prints its message.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from storage import agencies as agency_store
from storage import officers as officer_store
from storage.models import ANY, Agency, Category, Officer, OfficerRole, RoutingRule

# The shapes both doors accept (the API's schemas use the same patterns, so its OpenAPI shows them)
AGENCY_CODE_PATTERN = r"^[A-Z0-9][A-Z0-9_\-]{1,63}$"
AGENCY_REGION_PATTERN = r"^\d{2}(\.\d{2})?$"  # a province (34) or a kab/kota (34.04)
ROUTE_PLACE_PATTERN = r"^(\*|\d{2}|\d{2}\.\d{2})$"  # a province, a kab/kota, or * for anywhere
AGENCY_NAME_LENGTH = (3, 255)
SHORT_NAME_MAX_LENGTH = 64  # within one SMS beside the push's text
MIN_TOKEN_PREFIX = 6  # fewer characters could name several officers' tokens at once
LARGEST_ROW_ID = 2**31 - 1  # ids are PostgreSQL integers: a larger one names no one (and would fail the query)


class AdministrationError(Exception):
    """A refused change: ``code`` says which rule refused it (the API maps it to a status), ``message`` why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------- agencies and routing rules


def add_agency(
    session: Session, *, code: str, name: str, region_code: str | None = None, short_name: str | None = None
) -> Agency:
    """Register an agency; its code must be new."""
    if not re.fullmatch(AGENCY_CODE_PATTERN, code):
        raise AdministrationError("invalid", f"{code!r} is not an agency code (capitals, digits, - and _, e.g. BPBD-3404)")
    low, high = AGENCY_NAME_LENGTH
    if not low <= len(name) <= high:
        raise AdministrationError("invalid", f"an agency's name has {low} to {high} characters")
    if short_name is not None and len(short_name) > SHORT_NAME_MAX_LENGTH:
        raise AdministrationError("invalid", f"a short name has at most {SHORT_NAME_MAX_LENGTH} characters")
    if region_code is not None and not re.fullmatch(AGENCY_REGION_PATTERN, region_code):
        raise AdministrationError("invalid", f"{region_code!r} is not a province (34) or kab/kota (34.04) code")
    if agency_store.get_agency_by_code(session, code):
        raise AdministrationError("agency_exists", f"agency {code} exists already")
    return agency_store.create_agency(session, code=code, name=name, region_code=region_code, short_name=short_name)


def set_route(session: Session, *, agency_code: str, category: str, region_code: str) -> RoutingRule:
    """Route a category (or *) in a place (kab/kota, province or *) to an agency; replaces the rule there."""
    if category != ANY and category not in {c.value for c in Category}:
        raise AdministrationError("invalid", f"{category!r} is not a category slug (or * for any)")
    if not re.fullmatch(ROUTE_PLACE_PATTERN, region_code):
        raise AdministrationError("invalid", f"{region_code!r} is not a kab/kota (34.04), province (34) or *")
    agency = agency_store.get_agency_by_code(session, agency_code)
    if agency is None:
        raise AdministrationError("unknown_agency", f"no agency with code {agency_code}")
    return agency_store.set_routing_rule(session, agency_id=agency.id, category=category, region_code=region_code)


# ---------------------------------------------------------------- officers


def officer_by_id(session: Session, officer_id: int) -> Officer:
    if not 0 < officer_id <= LARGEST_ROW_ID:
        raise AdministrationError("no_officer", "no such officer")
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise AdministrationError("no_officer", "no such officer")
    return officer


def add_officer(session: Session, *, name: str, agency_code: str, role: OfficerRole, urns: list[str]) -> Officer:
    """Register an officer of an agency with the addresses they work on (``urns``, already normalised)."""
    agency = agency_store.get_agency_by_code(session, agency_code)
    if agency is None:
        raise AdministrationError("unknown_agency", f"no agency with code {agency_code}")
    officer = officer_store.create_officer(session, name=name, agency_id=agency.id, role=role)
    for urn in urns:
        add_officer_address(session, officer.id, urn)
    return officer


def add_officer_address(session: Session, officer_id: int, urn: str) -> None:
    """An address belongs to one officer (messages from it are that officer's commands)."""
    officer_by_id(session, officer_id)
    if officer_store.officer_urn_taken(session, urn):
        raise AdministrationError("address_taken", f"{urn} is already an officer's address")
    officer_store.add_officer_urn(session, officer_id, urn)


def remove_officer_address(session: Session, officer_id: int, *, address_id: int | None = None, urn: str | None = None) -> str:
    """The officer no longer works on an address, named by its id (the API's listing) or as written (the CLI's).

    Returns the address removed; messages from it go to the citizens' dialogue again.
    """
    officer_by_id(session, officer_id)
    rows = officer_store.urns_of_officer(session, officer_id)
    row = next((r for r in rows if r.id == address_id or (urn is not None and r.urn == urn.strip())), None)
    if row is None:
        missing = f"officer {officer_id} does not work on {urn}" if urn is not None else "the officer has no such address"
        raise AdministrationError("no_address", missing)
    officer_store.remove_officer_urn(session, officer_id, row.urn)
    return row.urn


def set_officer_active(session: Session, officer_id: int, active: bool, *, by: Officer | None = None) -> int:
    """Deactivate an officer who left (addresses ignored, tokens revoked) or undo it; returns the tokens revoked.

    ``by`` is the admin acting through the API, who cannot deactivate themselves (and lock everyone out).
    """
    if by is not None and by.id == officer_id and not active:
        raise AdministrationError("self_deactivation", "an admin cannot deactivate themselves")
    officer_by_id(session, officer_id)
    return officer_store.set_officer_active(session, officer_id, active)


def issue_token(session: Session, officer_id: int, *, label: str | None = None) -> str:
    """A bearer token for an active officer; the plain text is returned once (it is stored hashed)."""
    if not officer_by_id(session, officer_id).active:
        raise AdministrationError("officer_inactive", f"officer {officer_id} is deactivated")
    return officer_store.issue_token(session, officer_id, label=label)


def revoke_tokens(session: Session, officer_id: int, prefix: str | None = None) -> int:
    """Revoke every active token of the officer, or the one starting with ``prefix``; returns how many."""
    if prefix is not None and len(prefix) < MIN_TOKEN_PREFIX:
        raise AdministrationError("invalid", f"give at least {MIN_TOKEN_PREFIX} characters of the token")
    officer_by_id(session, officer_id)
    revoked = officer_store.revoke_tokens(session, officer_id, prefix)
    if prefix is not None and not revoked:
        raise AdministrationError("no_token", "no active token with that prefix")
    return revoked
