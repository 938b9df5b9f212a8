"""Filing a complaint, end to end: routed, dated, numbered, stored, and announced to its agency.

Every front door that files (the chat's form, and the API, console and Open311 as they come) calls
``file_and_announce`` in its transaction, so a complaint is filed by the same rules whichever way
it came.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from bot import casework, routing
from bot.deadlines import VERIFY_WORKING_DAYS
from bot.workdays import add_working_days
from storage import complaints
from storage.complaints import NewComplaint
from storage.models import Complaint


def file_complaint(session: Session, new: NewComplaint, *, today: date) -> Complaint:
    """Store a new complaint with its agency and its verification deadline (``today`` in its province)."""
    agency = routing.route(
        session, category=new.category, region_code=new.region_code, province_code=new.province_code
    )
    verify_due = add_working_days(today, VERIFY_WORKING_DAYS)
    return complaints.insert_complaint(session, new, agency_id=agency.id, verify_due=verify_due)


def file_and_announce(session: Session, new: NewComplaint, *, today: date) -> Complaint:
    """File it, and tell the agency's officers at once (in the same transaction: both or neither).

    A confirmation filed already (its turn run again: Rasa died after our action filed it but
    before it saved the turn) gets the complaint it filed, not a second one.
    """
    if new.filed_by_message_id is not None:
        earlier = complaints.complaint_filed_by(session, new.filed_by_message_id)
        if earlier is not None:
            return earlier
    filed = file_complaint(session, new, today=today)
    casework.announce_new_complaint(session, filed)
    return filed
