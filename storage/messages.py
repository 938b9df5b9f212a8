"""Messages in and out: inbound rows and their media, the turn queue of a conversation, delivery receipts.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.contacts import get_or_create_urn, get_urn, mark_urn_reachable
from storage.models import (
    Attachment,
    ContactUrn,
    Direction,
    Message,
    MessageStatus,
    utcnow,
)
from storage.redaction import error_text
from storage.rows import NotFound


class IncomingMedia(Protocol):
    """What the store keeps of a medium a message carried (``channels.base.MediaItem`` has this shape)."""

    kind: str
    url: str | None
    content_type: str | None
    latitude: float | None
    longitude: float | None


def _inbound_by_external_id(session: Session, provider: str, external_id: str | None) -> Message | None:
    return session.exec(
        select(Message).where(
            Message.provider == provider,
            Message.direction == Direction.inbound.value,
            Message.external_id == external_id,
        )
    ).first()


def _outbound_id(session: Session, provider: str, external_id: str | None, urn_id: int) -> int | None:
    if not external_id:
        return None
    return session.exec(
        select(Message.id).where(
            Message.provider == provider,
            Message.direction == Direction.outbound.value,
            Message.external_id == external_id,
            Message.urn_id == urn_id,
        )
    ).first()


def record_inbound(
    session: Session,
    *,
    urn: str,
    channel: str,
    provider: str,
    text: str,
    external_id: str | None = None,
    attachments: Sequence[IncomingMedia] = (),
    quoted_external_id: str | None = None,
    pin_check: str | None = None,
    written_by_the_address: bool = True,
) -> tuple[Message, bool]:
    """Store an incoming message and its media; returns (message, created). A provider retry is not stored twice.

    ``text`` is stored as given: an officer's PIN must already be replaced (bot/pins.py ``screen``),
    with the result of its check in ``pin_check``.

    ``quoted_external_id`` names the bot message this one replies to; it is kept as ``reply_to_id``
    (an officer replying to a notification answers about that notification's complaint).

    ``written_by_the_address=False``: a record of what another system sent for this address (an
    Open311 request naming the reporter's phone), which does not make an address that opted out
    (STOP) reachable again.
    """
    contact = get_or_create_urn(session, urn)
    if external_id is not None:
        existing = _inbound_by_external_id(session, provider, external_id)
        if existing:
            return existing, False
    message = Message(
        direction=Direction.inbound.value,
        urn_id=contact.id,
        channel=channel,
        provider=provider,
        external_id=external_id,
        text=text,
        pin_check=pin_check,
        status=MessageStatus.pending.value,
        reply_to_id=_outbound_id(session, provider, quoted_external_id, contact.id),
    )
    try:
        with session.begin_nested():
            session.add(message)
            session.flush()
    except IntegrityError:  # the same provider id stored by a concurrent request
        existing = _inbound_by_external_id(session, provider, external_id)
        if existing is None:
            raise
        return existing, False
    for item in attachments:
        session.add(
            Attachment(
                message_id=message.id,
                urn_id=contact.id,
                kind=item.kind,
                url=item.url,
                content_type=item.content_type,
                latitude=item.latitude,
                longitude=item.longitude,
            )
        )
    if contact.unreachable_at is not None and written_by_the_address:  # they wrote: unblocked the bot, sent START
        mark_urn_reachable(session, urn)
    session.flush()
    return message, True


def attachments_of_message(session: Session, message_id: int) -> list[Attachment]:
    return list(session.exec(select(Attachment).where(Attachment.message_id == message_id)).all())


def attachments_of_complaint(session: Session, complaint_id: int) -> list[Attachment]:
    return list(
        session.exec(select(Attachment).where(Attachment.complaint_id == complaint_id).order_by(col(Attachment.id))).all()
    )


def addresses_sent(session: Session, complaint_id: int, kind: str) -> set[int]:
    """The addresses (urn ids) that were sent a message of this kind about this complaint."""
    return set(
        session.exec(
            select(Message.urn_id).where(
                Message.complaint_id == complaint_id, Message.kind == kind, Message.direction == Direction.outbound.value
            )
        ).all()
    )


def last_inbound_at(session: Session, urn_id: int) -> datetime | None:
    return session.exec(
        select(func.max(Message.created_at)).where(
            Message.urn_id == urn_id, Message.direction == Direction.inbound.value
        )
    ).one()


# Delivery statuses only move forward; a late "sent" callback never overwrites "delivered".
_DELIVERY_RANK = {
    "queued": 0, "accepted": 1, "sending": 1, "sent": 2, "delivered": 3, "read": 4, "undelivered": 5, "failed": 5,
}


def update_delivery_status(
    session: Session, *, provider: str, external_id: str, status: str, error: str | None = None
) -> Message | None:
    """Apply a provider's delivery callback to the outgoing message it names."""
    message = session.exec(
        select(Message).where(
            Message.provider == provider,
            Message.external_id == external_id,
            Message.direction == Direction.outbound.value,
        )
    ).first()
    if message is None:
        return None
    if _DELIVERY_RANK.get(status, -1) >= _DELIVERY_RANK.get(message.status, -1):
        message.status = MessageStatus.failed.value if status == "undelivered" else status
        message.error = error_text(error) if error else message.error
        message.updated_at = utcnow()
        session.add(message)
        session.flush()
    return message


def failed_deliveries(session: Session, limit: int = 50) -> list[tuple[Message, ContactUrn]]:
    """Outgoing messages that never arrived, newest first, for operators."""
    rows = session.exec(
        select(Message, ContactUrn)
        .join(ContactUrn, col(ContactUrn.id) == col(Message.urn_id))
        .where(Message.direction == Direction.outbound.value, Message.status == MessageStatus.failed.value)
        .order_by(col(Message.id).desc())
        .limit(limit)
    ).all()
    return [(message, contact) for message, contact in rows]


def next_pending_inbound(session: Session, urn_id: int, now: datetime | None = None) -> Message | None:
    """The oldest inbound message of a conversation whose turn has not run yet.

    Returns it even when its retry time has not come: turns run in order, so a later message
    must wait for it.
    """
    return session.exec(
        select(Message)
        .where(
            Message.urn_id == urn_id,
            Message.direction == Direction.inbound.value,
            Message.status == MessageStatus.pending.value,
        )
        .order_by(col(Message.id))
    ).first()


STALE_PENDING = timedelta(seconds=30)


def urns_with_due_inbound(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Conversations whose oldest pending inbound message is due (its retry time has come), oldest first.

    Only the oldest counts: the later messages wait behind it, so a conversation whose first
    message waits for its retry is not picked again and again for a later one, and does not take
    the place of conversations that are due. A fresh message is left to the request that stored it;
    one still pending after STALE_PENDING (its process died before the turn ran) is picked up here.
    """
    earlier = aliased(Message)
    older = (
        select(earlier.id)
        .where(
            earlier.urn_id == Message.urn_id,
            earlier.direction == Direction.inbound.value,
            earlier.status == MessageStatus.pending.value,
            col(earlier.id) < col(Message.id),
        )
        .exists()
    )
    rows = session.exec(
        select(Message.urn_id)
        .where(
            Message.direction == Direction.inbound.value,
            Message.status == MessageStatus.pending.value,
            or_(
                col(Message.next_attempt_at) <= now,
                and_(col(Message.next_attempt_at).is_(None), col(Message.created_at) <= now - STALE_PENDING),
            ),
            ~older,
        )
        .order_by(col(Message.id))
        .limit(limit)
    ).all()
    return list(rows)


def mark_inbound_handled(session: Session, message_id: int) -> bool:
    """Close a pending inbound message; False when it was closed already (its answer is stored).

    The answer to a message is written in the same transaction as this mark, and only when it
    returns True: two instances that both ran (or recovered) one turn store its answer once.
    """
    result = session.execute(
        update(Message)
        .where(col(Message.id) == message_id, Message.status == MessageStatus.pending.value)
        .values(status=MessageStatus.handled.value, error=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def mark_sent_to_engine(session: Session, message_id: int, now: datetime) -> None:
    """Written before a message goes to Rasa: if its answer is lost, Rasa may have processed it."""
    session.execute(
        update(Message)
        .where(col(Message.id) == message_id)
        .values(sent_to_engine_at=now)
        .execution_options(synchronize_session=False)
    )


def mark_inbound_retry(session: Session, message_id: int, error: str, delay: timedelta) -> int:
    """Record a failed turn; it will be retried after ``delay``. Returns the attempt count."""
    message = session.get(Message, message_id)
    if message is None:
        raise NotFound(message_id)
    message.attempts += 1
    message.error = error_text(error)
    message.next_attempt_at = utcnow() + delay
    message.updated_at = utcnow()
    session.add(message)
    session.flush()
    return message.attempts


def messages_for_urn(session: Session, urn: str, direction: Direction | None = None) -> list[Message]:
    contact = get_urn(session, urn)
    if contact is None:
        return []
    query = select(Message).where(Message.urn_id == contact.id)
    if direction is not None:
        query = query.where(Message.direction == direction.value)
    return list(session.exec(query.order_by(col(Message.id))).all())
