"""Deadlines: complaints with a running deadline, the reminders and breaches recorded once each.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from storage.models import (
    Complaint,
    DeadlineAlert,
    Status,
)
from storage.rows import insert_unless_exists


def complaints_with_running_deadlines(
    session: Session, due_by: date, running_in: Mapping[str, Collection[str]]
) -> list[Complaint]:
    """Open complaints with a running deadline on or before ``due_by`` whose breach is not yet recorded.

    ``running_in`` maps a deadline to the statuses in which it runs (``bot.deadlines.OPEN_DEADLINES``).

    The candidates for a reminder or a breach. A breached deadline is done with (its breach was told
    once), so a backlog of overdue complaints is not read again on every tick of the clock.
    """
    due_columns = {"verify": Complaint.verify_due, "followup": Complaint.followup_due, "resolve": Complaint.resolve_due}
    pending = []
    for deadline, statuses in running_in.items():
        due = due_columns[deadline]
        breached = (
            select(DeadlineAlert.id)
            .where(
                DeadlineAlert.complaint_id == Complaint.id,
                DeadlineAlert.deadline == deadline,
                DeadlineAlert.kind == "breach",
                DeadlineAlert.due == due,
            )
            .exists()
        )
        condition = and_(col(Complaint.status).in_(sorted(statuses)), col(due) <= due_by, ~breached)
        if deadline == "followup":
            condition = and_(condition, col(Complaint.followed_up_at).is_(None))
        pending.append(condition)
    return list(session.exec(select(Complaint).where(or_(*pending)).order_by(col(Complaint.id))).all())


def record_alert(session: Session, complaint_id: int, deadline: str, kind: str, due: date) -> bool:
    """Record a reminder or breach; False when it was recorded before (each is sent once per due date).

    One ``INSERT ... ON CONFLICT DO NOTHING`` on the once-per-due-date constraint: of two clocks (two
    app instances) recording the same alert at the same moment, the second waits for the first and
    gets False, instead of failing its whole tick on the unique index.
    """
    alert = DeadlineAlert(complaint_id=complaint_id, deadline=deadline, kind=kind, due=due)
    return insert_unless_exists(session, alert, ("complaint_id", "deadline", "kind", "due")) is not None


def breaches_of(session: Session, complaint_id: int) -> list[DeadlineAlert]:
    return list(
        session.exec(
            select(DeadlineAlert)
            .where(DeadlineAlert.complaint_id == complaint_id, DeadlineAlert.kind == "breach")
            .order_by(col(DeadlineAlert.id))
        ).all()
    )


def complaints_awaiting_confirmation(session: Session, resolved_before: datetime) -> list[Complaint]:
    """``selesai`` complaints whose citizen has not answered since ``resolved_before``, locked (to close them).

    Locked like ``lock_complaint``: a citizen's answer or an officer's change in the same moment
    waits, and on PostgreSQL a row changed meanwhile is checked again (one reopened is not closed).
    """
    return list(
        session.exec(
            select(Complaint)
            .where(Complaint.status == Status.selesai.value, col(Complaint.resolved_at) <= resolved_before)
            .order_by(col(Complaint.id))  # rows locked in one order: two clocks never deadlock
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    )
