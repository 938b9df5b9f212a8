"""The deadlines of a complaint's life (DESIGN.md section 5), in working days.

Verified within 3 working days of filing, followed up within 5 of being forwarded, resolved within
14 (21 for physical works, 30 for an illegal levy). Which deadline runs in which status is said
once here (``OPEN_DEADLINES``); the store's queries are given it.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Session

from storage import complaints as complaint_rows
from storage.models import Complaint, Status

VERIFY_WORKING_DAYS = 3
FOLLOWUP_WORKING_DAYS = 5
RESOLVE_WORKING_DAYS = 14
# Categories whose resolution target differs from 14 working days: physical works need a budget
# line and a contractor; an illegal-levy case goes through the inspectorate's investigation.
RESOLVE_WORKING_DAYS_BY_CATEGORY = {"infrastruktur": 21, "pungli_korupsi": 30}

# A complaint still being worked on: its resolution deadline runs.
OPEN = frozenset({Status.diterima.value, Status.diteruskan.value, Status.diproses.value})
OPEN_DEADLINES = {
    # deadline -> the statuses in which it still runs
    "verify": frozenset({Status.diterima.value}),
    "followup": frozenset({Status.diteruskan.value}),
    "resolve": OPEN,
}


def resolve_days(category: str) -> int:
    return RESOLVE_WORKING_DAYS_BY_CATEGORY.get(category, RESOLVE_WORKING_DAYS)


def running_deadlines(complaint: Complaint) -> list[tuple[str, date]]:
    """The deadlines not yet met: (name, due date)."""
    out = []
    for name, statuses in OPEN_DEADLINES.items():
        due = getattr(complaint, f"{name}_due")
        if due is None or complaint.status not in statuses:
            continue
        if name == "followup" and complaint.followed_up_at is not None:
            continue
        out.append((name, due))
    return out


def next_deadline(complaint: Complaint) -> tuple[date, str] | None:
    running = running_deadlines(complaint)
    return min(((due, name) for name, due in running), default=None)


def agency_queue(session: Session, agency_id: int, limit: int = 20) -> list[Complaint]:
    """An agency's complaints that still need work, nearest deadline first (no deadline last)."""
    candidates = complaint_rows.open_complaints_of_agency(session, agency_id, OPEN_DEADLINES, limit)
    return sorted(candidates, key=lambda c: (next_deadline(c) or (date.max, ""), c.id))[:limit]
