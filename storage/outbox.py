"""The outbox: texts waiting to be sent, claimed by a sender under a lease, then marked sent or failed.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import (
    ContactUrn,
    Direction,
    Message,
    MessageStatus,
    OutboxItem,
    OutboxState,
    utcnow,
)
from storage.redaction import error_text
from storage.rows import database_now


def queue_outbound(
    session: Session,
    *,
    urn_id: int,
    channel: str,
    provider: str,
    texts: list[str],
    reply_to_id: int | None = None,
    complaint_id: int | None = None,
) -> list[Message]:
    """Write outgoing messages and their outbox items in the caller's transaction."""
    return queue_outbound_many(
        session,
        [OutboundText(urn_id=urn_id, channel=channel, provider=provider, text=text) for text in texts],
        reply_to_id=reply_to_id,
        complaint_id=complaint_id,
    )


@dataclass(frozen=True)
class OutboundText:
    urn_id: int
    channel: str
    provider: str
    text: str


def queue_outbound_many(
    session: Session,
    outbound: Sequence[OutboundText],
    *,
    reply_to_id: int | None = None,
    complaint_id: int | None = None,
    kind: str | None = None,
) -> list[Message]:
    """Write outgoing messages (to one or several addresses) and their outbox items, in this order.

    Two flushes whatever the number of messages: the messages (one multi-row INSERT), then their
    outbox items, which need the messages' ids.
    """
    messages = [
        Message(
            direction=Direction.outbound.value,
            urn_id=item.urn_id,
            channel=item.channel,
            provider=item.provider,
            text=item.text,
            status=MessageStatus.queued.value,
            reply_to_id=reply_to_id,
            complaint_id=complaint_id,
            kind=kind,
        )
        for item in outbound
    ]
    if not messages:
        session.flush()
        return messages
    session.add_all(messages)
    session.flush()
    session.add_all([OutboxItem(message_id=message.id) for message in messages])
    session.flush()
    return messages


def claim_outbox(
    session: Session,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int = 50,
    message_ids: list[int] | None = None,
) -> list[tuple[OutboxItem, Message, ContactUrn]]:
    """Take due outbox items for sending, leased to ``owner`` so that two dispatchers never send one twice.

    The owner renews the lease while it sends (``renew_leases``); only the owner may settle a row
    (``mark_sent``, ``mark_send_failed``, ``release_claim``). A dead owner's rows are taken over once
    their lease has run out.

    Leases are granted and compared by the database's clock (``database_now``), which every
    instance shares; ``now`` (the caller's clock) only says which rows are due (``available_at``).
    """
    db_now = database_now()
    earlier, earlier_message = aliased(OutboxItem), aliased(Message)
    # A message waiting to be retried holds back the later messages of its conversation; so does one
    # still leased (being sent elsewhere, or by a sender that died mid-send: its lease must run out).
    waiting_before = (
        select(earlier.id)
        .join(earlier_message, col(earlier_message.id) == col(earlier.message_id))
        .where(
            earlier.state == OutboxState.pending.value,
            col(earlier.id) < col(OutboxItem.id),
            earlier_message.urn_id == Message.urn_id,
            or_(col(earlier.available_at) > now, col(earlier.locked_until) > db_now),
        )
        .exists()
    )
    query = (
        select(OutboxItem.id)
        .join(Message, col(Message.id) == col(OutboxItem.message_id))
        .where(
            OutboxItem.state == OutboxState.pending.value,
            col(OutboxItem.available_at) <= now,
            or_(col(OutboxItem.locked_until).is_(None), col(OutboxItem.locked_until) < db_now),
            ~waiting_before,
        )
        .order_by(col(OutboxItem.id))
        .limit(limit)
    )
    if message_ids is not None:
        query = query.where(col(OutboxItem.message_id).in_(message_ids))
    claimed = []
    for item_id in session.exec(query).all():
        result = session.execute(
            update(OutboxItem)
            .where(
                col(OutboxItem.id) == item_id,
                or_(col(OutboxItem.locked_until).is_(None), col(OutboxItem.locked_until) < db_now),
            )
            .values(locked_until=database_now(lease), lease_owner=owner)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:
            item = session.get(OutboxItem, item_id)
            message = session.get(Message, item.message_id)
            contact = session.get(ContactUrn, message.urn_id)
            claimed.append((item, message, contact))
    session.flush()
    return claimed


def _owned(item_id: int, owner: str):
    """The row, if ``owner`` still holds its lease (not taken over after it ran out, not settled)."""
    return (
        col(OutboxItem.id) == item_id,
        OutboxItem.lease_owner == owner,
        OutboxItem.state == OutboxState.pending.value,
    )


def renew_leases(session: Session, *, owner: str, item_ids: list[int], lease: timedelta) -> int:
    """Extend the leases ``owner`` still holds on ``item_ids`` (by the database's clock); how many it still holds."""
    if not item_ids:
        return 0
    result = session.execute(
        update(OutboxItem)
        .where(
            col(OutboxItem.id).in_(item_ids),
            OutboxItem.lease_owner == owner,
            OutboxItem.state == OutboxState.pending.value,
            col(OutboxItem.locked_until) >= database_now(),  # one that ran out may be another's already
        )
        .values(locked_until=database_now(lease))
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def release_claim(session: Session, item_id: int, *, owner: str) -> bool:
    """Give a claimed item back untouched (it waits behind an earlier failed message)."""
    result = session.execute(
        update(OutboxItem).where(*_owned(item_id, owner)).values(locked_until=None, lease_owner=None)
    )
    return result.rowcount == 1


def _settle(session: Session, item_id: int, owner: str, **values) -> tuple[int, int] | None:
    """Apply ``values`` (and one more attempt) to the row if ``owner`` holds it: (message id, attempts), or None.

    One ``UPDATE ... RETURNING`` (PostgreSQL, SQLite >= 3.35): the ownership check and the change in
    one statement, with no read of the row before or after it.
    """
    returned = session.execute(
        update(OutboxItem)
        .where(*_owned(item_id, owner))
        .values(attempts=OutboxItem.attempts + 1, locked_until=None, lease_owner=None, **values)
        .returning(OutboxItem.message_id, OutboxItem.attempts)
        .execution_options(synchronize_session=False)
    ).first()
    return (returned.message_id, returned.attempts) if returned is not None else None


def mark_sent(session: Session, item_id: int, *, owner: str, external_id: str | None, status: str) -> bool:
    """Record a send; False (nothing changed) when ``owner`` no longer holds the row's lease."""
    settled = _settle(session, item_id, owner, state=OutboxState.done.value, last_error=None)
    if settled is None:
        return False
    message_id, attempts = settled
    message = session.get(Message, message_id)
    message.status = status
    message.external_id = external_id
    message.attempts = attempts
    message.updated_at = utcnow()
    session.add(message)
    session.flush()
    return True


def recorded_as(session: Session, item_id: int, external_id: str | None) -> bool:
    """Whether the row's message was recorded as sent under ``external_id`` (by its delivery callback)."""
    item = session.get(OutboxItem, item_id)
    message = session.get(Message, item.message_id) if item is not None else None
    return external_id is not None and message is not None and message.external_id == external_id


def settle_unrecorded_send(
    session: Session, message_id: int, *, provider: str, external_id: str, status: str
) -> Message | None:
    """Record a send the provider reports but nobody recorded (its sender died in between): the
    message gets the provider's id, its outbox row is done whoever leases it. None when the message
    is not an unsent outgoing one of that provider (then the callback is of no row of ours)."""
    message = session.get(Message, message_id)
    if (
        message is None
        or message.direction != Direction.outbound.value
        or message.provider != provider
        or message.external_id is not None
    ):
        return None
    settled = session.execute(
        update(OutboxItem)
        .where(col(OutboxItem.message_id) == message_id, OutboxItem.state == OutboxState.pending.value)
        .values(state=OutboxState.done.value, attempts=OutboxItem.attempts + 1, locked_until=None, lease_owner=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
    if settled.rowcount != 1:
        return None
    message.external_id, message.status, message.updated_at = external_id, status, utcnow()
    message.attempts += 1
    session.add(message)
    session.flush()
    return message


def mark_send_failed(
    session: Session, item_id: int, *, owner: str, error: str, retry_in: timedelta | None
) -> bool:
    """A failed send: retried after ``retry_in``, or given up for good when it is None.

    False (nothing changed) when ``owner`` no longer holds the row's lease.
    """
    masked = error_text(error)
    if retry_in is None:
        settled = _settle(session, item_id, owner, state=OutboxState.failed.value, last_error=masked)
    else:
        settled = _settle(session, item_id, owner, last_error=masked, available_at=utcnow() + retry_in)
    if settled is None:
        return False
    message_id, attempts = settled
    message = session.get(Message, message_id)
    message.attempts = attempts
    message.error = masked
    message.updated_at = utcnow()
    if retry_in is None:
        message.status = MessageStatus.failed.value
    session.add(message)
    session.flush()
    return True
