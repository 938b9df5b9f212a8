"""Deliveries under /api/v1/deliveries (admins): the outgoing messages that never arrived, and why.

The address is shown redacted and the provider's error masked (rows stored before errors were
masked are masked here too), so an operator can see what failed without seeing whom it was for.
"""

from __future__ import annotations

from fastapi import APIRouter, Query

from bot.api.deps import AdminDep, SessionDep
from bot.api.schemas import FailedDelivery
from channels.urns import redact_urn
from storage import messages as message_store
from storage.models import Complaint
from storage.redaction import error_text

router = APIRouter(prefix="/deliveries", tags=["operations"])


@router.get("/failed", response_model=list[FailedDelivery])
def failed_deliveries(session: SessionDep, admin: AdminDep, limit: int = Query(default=50, ge=1, le=500)) -> list[FailedDelivery]:
    """Outgoing messages that never arrived (permanent errors, undelivered, too many attempts). Admins only."""
    failed = []
    for message, contact in message_store.failed_deliveries(session, limit=limit):
        complaint = session.get(Complaint, message.complaint_id) if message.complaint_id else None
        failed.append(
            FailedDelivery(
                message_id=message.id,
                channel=message.channel,
                provider=message.provider,
                address=redact_urn(contact.urn),
                error=error_text(message.error),
                attempts=message.attempts,
                ticket=complaint.ticket if complaint else None,
                updated_at=message.updated_at,
            )
        )
    return failed
