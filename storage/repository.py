"""Repository functions: plain functions taking a session, one per thing the app does.

Callers own the transaction (``storage.db.session_scope``); these functions flush but never commit,
so that a change and the outbox rows it causes land together or not at all.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import and_, delete, func, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, make_transient_to_detached
from sqlmodel import Session, col, select

from channels.base import MediaItem
from channels.redaction import error_text
from channels.urns import split_urn
from storage import tickets
from storage.models import (
    ANY,
    Agency,
    Attachment,
    ApiToken,
    Category,
    Citizen,
    Complaint,
    ComplaintEvent,
    ContactUrn,
    DeadlineAlert,
    DialoguePush,
    Direction,
    Message,
    MessageStatus,
    Officer,
    OfficerRole,
    OfficerUrn,
    OutboxItem,
    RoutingRule,
    Status,
    utcnow,
)
from storage.workdays import add_working_days

NATIONAL_QUEUE_CODE = "NASIONAL"
VERIFY_WORKING_DAYS = 3


class NotFound(LookupError):
    pass


# ---------------------------------------------------------------- citizens and URNs


def get_urn(session: Session, urn: str) -> ContactUrn | None:
    return session.exec(select(ContactUrn).where(ContactUrn.urn == urn)).first()


def _insert(session: Session, model):
    """``INSERT`` for ``model`` in the session's SQL dialect, to use ``ON CONFLICT`` (PostgreSQL, SQLite)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no ON CONFLICT insert for {dialect}")


def _insert_unless_exists(session: Session, row, unique: str):
    """Insert a new model object unless a row with the same ``unique`` column exists; None if one does.

    One ``INSERT ... ON CONFLICT DO NOTHING RETURNING id`` statement: a unique clash (another writer
    got there first) needs no savepoint around the insert, and the transaction stays usable. On
    success ``row`` gets its id and joins the session as a persistent object, as if it had been
    added and flushed (a Core insert: cheaper than the ORM's INSERT ... RETURNING of an entity).
    """
    session.flush()  # what the row refers to is written first, as a flush would order it
    table = type(row).__table__
    values = {column.key: getattr(row, column.key) for column in table.columns if not column.primary_key}
    statement = (
        _insert(session, table).values(**values).on_conflict_do_nothing(index_elements=[unique]).returning(table.c.id)
    )
    new_id = session.exec(statement).scalar()
    if new_id is None:
        return None
    row.id = new_id
    make_transient_to_detached(row)
    session.add(row)
    return row


def get_or_create_urn(session: Session, urn: str) -> ContactUrn:
    """The URN's row, creating it (and a new citizen) on first contact."""
    existing = get_urn(session, urn)
    if existing:
        return existing
    scheme, _ = split_urn(urn)
    citizen = Citizen()
    session.add(citizen)
    session.flush()
    contact = _insert_unless_exists(session, ContactUrn(urn=urn, scheme=scheme, citizen_id=citizen.id), "urn")
    if contact is not None:
        return contact
    # Another writer created it between our read and our insert: theirs stands, our citizen goes.
    session.expunge(citizen)
    session.exec(delete(Citizen).where(col(Citizen.id) == citizen.id))
    found = get_urn(session, urn)
    if found is None:
        raise IntegrityError("INSERT INTO contact_urn", {"urn": urn}, Exception("the URN vanished after a clash"))
    return found


def citizen_language(session: Session, urn_id: int) -> str:
    contact = session.get(ContactUrn, urn_id)
    citizen = session.get(Citizen, contact.citizen_id)
    return citizen.language


def set_citizen_language(session: Session, urn_id: int, language: str) -> None:
    contact = session.get(ContactUrn, urn_id)
    citizen = session.get(Citizen, contact.citizen_id)
    citizen.language = language
    session.add(citizen)
    session.flush()


# ---------------------------------------------------------------- messages and the outbox


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
    attachments: Sequence[MediaItem] = (),
    quoted_external_id: str | None = None,
    pin_check: str | None = None,
) -> tuple[Message, bool]:
    """Store an incoming message and its media; returns (message, created). A provider retry is not stored twice.

    ``text`` is stored as given: an officer's PIN must already be replaced (bot/pins.py ``screen``),
    with the result of its check in ``pin_check``.

    ``quoted_external_id`` names the bot message this one replies to; it is kept as ``reply_to_id``
    (an officer replying to a notification answers about that notification's complaint).
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
    if contact.unreachable_at is not None:  # they wrote to us: unblocked the bot, sent START
        mark_urn_reachable(session, urn)
    session.flush()
    return message, True


def attachments_of_message(session: Session, message_id: int) -> list[Attachment]:
    return list(session.exec(select(Attachment).where(Attachment.message_id == message_id)).all())


def attachments_of_complaint(session: Session, complaint_id: int) -> list[Attachment]:
    return list(
        session.exec(select(Attachment).where(Attachment.complaint_id == complaint_id).order_by(col(Attachment.id))).all()
    )


def last_inbound_at(session: Session, urn_id: int) -> datetime | None:
    return session.exec(
        select(func.max(Message.created_at)).where(
            Message.urn_id == urn_id, Message.direction == Direction.inbound.value
        )
    ).one()


def mark_urn_unreachable(session: Session, urn: str) -> None:
    """The provider says this address is gone (blocked the bot, replied STOP): stop sending to it.

    Until the address is heard from again (``mark_urn_reachable``).
    """
    session.execute(
        update(ContactUrn).where(col(ContactUrn.urn) == urn, col(ContactUrn.unreachable_at).is_(None)).values(
            unreachable_at=utcnow()
        )
    )


def mark_urn_reachable(session: Session, urn: str) -> bool:
    """The address is back (a new message from it, START, a Telegram user who unblocked the bot); True if it was gone.

    Should it still be gone, the provider says so on the next send and it is marked again.
    """
    result = session.execute(
        update(ContactUrn)
        .where(col(ContactUrn.urn) == urn, col(ContactUrn.unreachable_at).is_not(None))
        .values(unreachable_at=None)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount > 0


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


def mark_inbound_handled(session: Session, message_id: int) -> None:
    session.execute(
        update(Message)
        .where(col(Message.id) == message_id)
        .values(status=MessageStatus.handled.value, error=None, updated_at=utcnow())
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
    session: Session, *, now: datetime, lease: timedelta, limit: int = 50, message_ids: list[int] | None = None
) -> list[tuple[OutboxItem, Message, ContactUrn]]:
    """Take due outbox items for sending, with a lease so that two dispatchers never send one twice."""
    earlier, earlier_message = aliased(OutboxItem), aliased(Message)
    # A message waiting to be retried holds back the later messages of its conversation.
    waiting_before = (
        select(earlier.id)
        .join(earlier_message, col(earlier_message.id) == col(earlier.message_id))
        .where(
            earlier.state == "pending",
            col(earlier.id) < col(OutboxItem.id),
            earlier_message.urn_id == Message.urn_id,
            col(earlier.available_at) > now,
        )
        .exists()
    )
    query = (
        select(OutboxItem.id)
        .join(Message, col(Message.id) == col(OutboxItem.message_id))
        .where(
            OutboxItem.state == "pending",
            col(OutboxItem.available_at) <= now,
            or_(col(OutboxItem.locked_until).is_(None), col(OutboxItem.locked_until) < now),
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
                or_(col(OutboxItem.locked_until).is_(None), col(OutboxItem.locked_until) < now),
            )
            .values(locked_until=now + lease)
        )
        if result.rowcount == 1:
            item = session.get(OutboxItem, item_id)
            message = session.get(Message, item.message_id)
            contact = session.get(ContactUrn, message.urn_id)
            claimed.append((item, message, contact))
    session.flush()
    return claimed


def release_claim(session: Session, item_id: int) -> None:
    """Give a claimed item back untouched (it waits behind an earlier failed message)."""
    session.execute(update(OutboxItem).where(col(OutboxItem.id) == item_id).values(locked_until=None))


def mark_sent(session: Session, item_id: int, *, external_id: str | None, status: str) -> None:
    item = session.get(OutboxItem, item_id)
    item.state = "done"
    item.attempts += 1
    item.locked_until = None
    item.last_error = None
    message = session.get(Message, item.message_id)
    message.status = status
    message.external_id = external_id
    message.attempts = item.attempts
    message.updated_at = utcnow()
    session.add_all([item, message])
    session.flush()


def mark_send_failed(
    session: Session, item_id: int, *, error: str, retry_in: timedelta | None
) -> None:
    """A failed send: retried after ``retry_in``, or given up for good when it is None."""
    item = session.get(OutboxItem, item_id)
    item.attempts += 1
    item.locked_until = None
    item.last_error = error_text(error)
    message = session.get(Message, item.message_id)
    message.attempts = item.attempts
    message.error = item.last_error
    message.updated_at = utcnow()
    if retry_in is None:
        item.state = "failed"
        message.status = MessageStatus.failed.value
    else:
        item.available_at = utcnow() + retry_in
    session.add_all([item, message])
    session.flush()


def messages_for_urn(session: Session, urn: str, direction: Direction | None = None) -> list[Message]:
    contact = get_urn(session, urn)
    if contact is None:
        return []
    query = select(Message).where(Message.urn_id == contact.id)
    if direction is not None:
        query = query.where(Message.direction == direction.value)
    return list(session.exec(query.order_by(col(Message.id))).all())


# ---------------------------------------------------------------- agencies, officers, tokens


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


def create_officer(session: Session, *, name: str, agency_id: int, role: OfficerRole) -> Officer:
    officer = Officer(name=name, agency_id=agency_id, role=role.value)
    session.add(officer)
    session.flush()
    return officer


def add_officer_urn(session: Session, officer_id: int, urn: str) -> OfficerUrn:
    """Let an officer work on an address; an address belongs to one officer, and never to a citizen's dialogue."""
    row = OfficerUrn(officer_id=officer_id, urn=urn)
    session.add(row)
    session.flush()
    return row


def officer_urn_taken(session: Session, urn: str) -> bool:
    return session.exec(select(OfficerUrn.id).where(OfficerUrn.urn == urn)).first() is not None


def remove_officer_urn(session: Session, officer_id: int, urn: str) -> bool:
    """The officer no longer works on this address (its messages go to the citizens' dialogue again)."""
    result = session.execute(
        delete(OfficerUrn).where(col(OfficerUrn.officer_id) == officer_id, col(OfficerUrn.urn) == urn)
    )
    return result.rowcount > 0


def urns_of_officer(session: Session, officer_id: int) -> list[OfficerUrn]:
    return list(
        session.exec(select(OfficerUrn).where(OfficerUrn.officer_id == officer_id).order_by(col(OfficerUrn.urn))).all()
    )


def list_officers(session: Session) -> list[Officer]:
    return list(session.exec(select(Officer).order_by(col(Officer.id))).all())


def set_officer_active(session: Session, officer_id: int, active: bool) -> int:
    """Deactivate (or reactivate) an officer; deactivating revokes every token. Returns the tokens revoked.

    An inactive officer's addresses are no longer officers' (officer_of_urn) and get no notifications.
    """
    officer = session.get(Officer, officer_id)
    if officer is None:
        raise NotFound(f"no officer with id {officer_id}")
    officer.active = active
    session.add(officer)
    session.flush()
    return 0 if active else revoke_tokens(session, officer_id)


def _active_officer_on(session: Session, urn: str) -> Officer | None:
    return session.exec(
        select(Officer)
        .join(OfficerUrn, col(OfficerUrn.officer_id) == col(Officer.id))
        .where(OfficerUrn.urn == urn, col(Officer.active).is_(True))
    ).first()


def officer_of_address(session: Session, urn: str) -> Officer | None:
    """The officer (active or not) who works on this address, if any."""
    return session.exec(
        select(Officer).join(OfficerUrn, col(OfficerUrn.officer_id) == col(Officer.id)).where(OfficerUrn.urn == urn)
    ).first()


def _aware(moment: datetime) -> datetime:
    # SQLite hands datetimes back without their zone; they are stored in UTC
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def set_officer_pin(session: Session, officer_id: int, pin_hash: str | None) -> None:
    """Set (or, with None, remove) an officer's PIN hash; wrong PINs counted so far and any lock are cleared."""
    session.execute(
        update(Officer)
        .where(col(Officer.id) == officer_id)
        .values(pin_hash=pin_hash, pin_failures=0, pin_locked_until=None)
    )


def pin_locked(officer: Officer, now: datetime) -> bool:
    return officer.pin_locked_until is not None and _aware(officer.pin_locked_until) > now


def record_pin_failure(session: Session, officer_id: int, now: datetime, *, limit: int, lock: timedelta) -> int:
    """Count a wrong PIN; returns how many more are allowed. At ``limit`` in a row (0 left) the officer
    is locked out for ``lock`` and the count starts again.

    The count is one atomic UPDATE, so wrong PINs arriving together on two app instances are all counted.
    """
    failures = session.execute(
        update(Officer)
        .where(col(Officer.id) == officer_id)
        .values(pin_failures=col(Officer.pin_failures) + 1)
        .returning(col(Officer.pin_failures))
    ).scalar_one()
    if failures < limit:
        return limit - failures
    session.execute(
        update(Officer).where(col(Officer.id) == officer_id).values(pin_failures=0, pin_locked_until=now + lock)
    )
    return 0


def clear_pin_failures(session: Session, officer_id: int) -> None:
    session.execute(
        update(Officer).where(col(Officer.id) == officer_id, col(Officer.pin_failures) > 0).values(pin_failures=0)
    )


def officer_of_urn(session: Session, urn_id: int) -> Officer | None:
    """The active officer who works on this address (by its contact row), if any."""
    contact = session.get(ContactUrn, urn_id)
    return None if contact is None else _active_officer_on(session, contact.urn)


def officer_contacts(session: Session, agency_id: int, roles: Sequence[OfficerRole] | None = None) -> list[ContactUrn]:
    """The addresses of an agency's active officers (of these roles), as contact rows, by address.

    One query for the addresses and their rows; a row is made for an address that has none yet.
    """
    query = (
        select(OfficerUrn.urn, ContactUrn)
        .join(Officer, col(Officer.id) == col(OfficerUrn.officer_id))
        .outerjoin(ContactUrn, col(ContactUrn.urn) == col(OfficerUrn.urn))
        .where(Officer.agency_id == agency_id, col(Officer.active).is_(True))
    )
    if roles is not None:
        query = query.where(col(Officer.role).in_([r.value for r in roles]))
    found = dict(session.exec(query).all())
    return [found[urn] if found[urn] is not None else get_or_create_urn(session, urn) for urn in sorted(found)]


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


def _hash_token(token: str) -> str:
    # Tokens are 256-bit random secrets, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, officer_id: int, label: str | None = None) -> str:
    """A new bearer token for an officer; the plain text is returned once and never stored."""
    token = "adn_" + secrets.token_urlsafe(32)
    session.add(ApiToken(officer_id=officer_id, token_hash=_hash_token(token), prefix=token[:10], label=label))
    session.flush()
    return token


def authenticate_token(session: Session, token: str) -> Officer | None:
    api_token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == _hash_token(token), col(ApiToken.revoked_at).is_(None))
    ).first()
    if api_token is None:
        return None
    officer = session.get(Officer, api_token.officer_id)
    if officer is None or not officer.active:
        return None
    api_token.last_used_at = utcnow()
    session.add(api_token)
    return officer


def revoke_tokens(session: Session, officer_id: int, prefix: str | None = None) -> int:
    """Revoke an officer's tokens (those whose prefix starts with ``prefix``, or all); returns how many."""
    query = update(ApiToken).where(col(ApiToken.officer_id) == officer_id, col(ApiToken.revoked_at).is_(None))
    if prefix is not None:
        query = query.where(col(ApiToken.prefix).startswith(prefix, autoescape=True))
    return session.execute(query.values(revoked_at=utcnow())).rowcount


def tokens_of_officer(session: Session, officer_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.officer_id == officer_id).order_by(col(ApiToken.id))).all())


# ---------------------------------------------------------------- complaints


@dataclass(frozen=True)
class NewComplaint:
    urn: str
    channel: str
    description: str
    category: Category
    province_code: str | None = None
    region_code: str | None = None
    district_code: str | None = None
    address: str | None = None
    anonymous: bool = False
    confidential: bool = False
    language: str = "id"
    secondary_category: Category | None = None


def _specificity(rule: RoutingRule) -> tuple[int, int]:
    # a kab/kota beats a province beats anywhere; then a named category beats any category
    place = {5: 2, 2: 1}.get(len(rule.region_code), 0) if rule.region_code != ANY else 0
    return place, 0 if rule.category == ANY else 1


def route(session: Session, *, category: str, region_code: str | None, province_code: str | None) -> Agency:
    """The agency for a category in a place: the most specific rule, or the national queue when none matches."""
    places = [code for code in (region_code, province_code) if code] + [ANY]
    # the matching rules with their agencies, in one query
    matches = session.exec(
        select(RoutingRule, Agency)
        .join(Agency, col(Agency.id) == col(RoutingRule.agency_id))
        .where(col(RoutingRule.category).in_([category, ANY]), col(RoutingRule.region_code).in_(places))
    ).all()
    if not matches:
        return national_queue(session)
    _, agency = max(matches, key=lambda match: _specificity(match[0]))
    return agency


def route_agency(session: Session, complaint: NewComplaint) -> Agency:
    """The agency a new complaint goes to."""
    return route(
        session,
        category=Category(complaint.category).value,
        region_code=complaint.region_code,
        province_code=complaint.province_code,
    )


def file_complaint(session: Session, new: NewComplaint, *, today: date, max_ticket_tries: int = 10) -> Complaint:
    """File a complaint with a fresh random ticket, its first event and its verification deadline."""
    contact = get_or_create_urn(session, new.urn)
    agency = route_agency(session, new)
    for _ in range(max_ticket_tries):
        drawn = Complaint(
            ticket=tickets.new_ticket(),
            citizen_id=contact.citizen_id,
            urn_id=contact.id,
            channel=new.channel,
            description=new.description,
            category=Category(new.category).value,
            secondary_category=Category(new.secondary_category).value if new.secondary_category else None,
            province_code=new.province_code,
            region_code=new.region_code,
            district_code=new.district_code,
            address=new.address,
            anonymous=new.anonymous,
            confidential=new.confidential,
            status=Status.diterima.value,
            agency_id=agency.id,
            language=new.language,
            verify_due=add_working_days(today, VERIFY_WORKING_DAYS),
        )
        # The unique index on ticket decides: a drawn number already taken inserts nothing.
        complaint = _insert_unless_exists(session, drawn, "ticket")
        if complaint is None:
            continue
        _link_attachments(session, complaint)
        session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                kind="filed",
                to_status=Status.diterima.value,
                actor_type="citizen",
                note=None,
            )
        )
        session.flush()
        return complaint
    raise RuntimeError("could not draw a free ticket number")


ATTACHMENT_WINDOW = timedelta(hours=24)


def _link_attachments(session: Session, complaint: Complaint) -> None:
    """Media and pins the citizen sent while filing (the last 24 h, not yet on a complaint) belong to it."""
    since = utcnow() - ATTACHMENT_WINDOW
    pending = session.exec(
        select(Attachment).where(
            Attachment.urn_id == complaint.urn_id,
            col(Attachment.complaint_id).is_(None),
            col(Attachment.created_at) >= since,
        ).order_by(col(Attachment.id))
    ).all()
    for attachment in pending:
        attachment.complaint_id = complaint.id
        if attachment.kind == "location":
            complaint.latitude, complaint.longitude = attachment.latitude, attachment.longitude
        session.add(attachment)
    session.add(complaint)  # flushed by the caller, with the complaint's first event


def get_complaint(session: Session, ticket: str) -> Complaint | None:
    return session.exec(select(Complaint).where(Complaint.ticket == ticket)).first()


def lock_complaint(session: Session, complaint: Complaint) -> Complaint:
    """The complaint as it is now, its row locked until the transaction ends (``SELECT ... FOR UPDATE``).

    Every change to a complaint checks what it may do after this, so of two changes at the same
    moment (an API call and a chat command, a citizen's answer and the clock) the second waits for
    the first and sees its result. ``complaint`` itself is refreshed (it is the session's object).
    On SQLite, where FOR UPDATE does not exist, every write transaction begins IMMEDIATE
    (storage/db.py): the second writer cannot even read before the first is done.
    """
    return session.exec(
        select(Complaint)
        .where(col(Complaint.id) == complaint.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def get_complaint_of_urn(session: Session, ticket: str, urn: str) -> Complaint | None:
    """The complaint only if it belongs to the citizen who owns this URN (no leaking to others)."""
    contact = get_urn(session, urn)
    if contact is None:
        return None
    return session.exec(
        select(Complaint).where(Complaint.ticket == ticket, Complaint.citizen_id == contact.citizen_id)
    ).first()


def complaints_of_urn(session: Session, urn: str, limit: int = 5) -> list[Complaint]:
    contact = get_urn(session, urn)
    if contact is None:
        return []
    return list(
        session.exec(
            select(Complaint)
            .where(Complaint.citizen_id == contact.citizen_id)
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .limit(limit)
        ).all()
    )


def complaint_history(session: Session, complaint_id: int) -> list[ComplaintEvent]:
    return list(
        session.exec(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(col(ComplaintEvent.id))
        ).all()
    )


@dataclass(frozen=True)
class ComplaintFilter:
    status: str | None = None
    agency_code: str | None = None
    category: str | None = None
    region_code: str | None = None


# How far the officers' list counts its matches: beyond this (or the end of the page asked for,
# whichever is further) its total says "at least" (the API's `total_capped`).
LIST_COUNT_LIMIT = 1000


@dataclass(frozen=True)
class ComplaintPage:
    items: list[Complaint]
    total: int  # exact, or when ``total_capped`` the bound where counting stopped: "total or more"
    total_capped: bool


def list_complaints(
    session: Session,
    filters: ComplaintFilter,
    *,
    agency_scope: int | None,
    page: int = 1,
    page_size: int = 20,
) -> tuple[list[Complaint], int]:
    """A page of complaints, newest first; ``agency_scope`` limits to one agency (None: all). Exact total."""
    found = page_of_complaints(session, filters, agency_scope=agency_scope, page=page, page_size=page_size)
    return found.items, found.total


def page_of_complaints(
    session: Session,
    filters: ComplaintFilter,
    *,
    agency_scope: int | None,
    page: int = 1,
    page_size: int = 20,
    count_limit: int | None = None,
) -> ComplaintPage:
    """A page of complaints, newest first, and how many match.

    With ``count_limit`` the count stops after max(count_limit, the end of this page) rows, so that
    a long list costs what a short one does: a total at that bound is ``total_capped`` (it means
    "this many or more"). Without it every match is counted.
    """
    conditions = []
    if agency_scope is not None:
        conditions.append(col(Complaint.agency_id) == agency_scope)
    if filters.status:
        conditions.append(col(Complaint.status) == filters.status)
    if filters.category:
        conditions.append(col(Complaint.category) == filters.category)
    if filters.region_code:
        conditions.append(col(Complaint.region_code) == filters.region_code)

    def matching(query):
        if filters.agency_code:
            query = query.join(Agency, col(Agency.id) == col(Complaint.agency_id)).where(
                Agency.code == filters.agency_code
            )
        return query.where(*conditions)

    offset = (page - 1) * page_size
    items = list(
        session.exec(
            matching(select(Complaint))
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .offset(offset)
            .limit(page_size)
        ).all()
    )
    if items and len(items) < page_size:  # the last page: the total is known without counting
        return ComplaintPage(items, offset + len(items), False)
    # Only the ids are counted, so that the (agency_id, status, created_at, id) index answers alone.
    counted = matching(select(Complaint.id))
    bound = None if count_limit is None else max(count_limit, page * page_size)
    if bound is not None:
        counted = counted.limit(bound + 1)
    total = session.exec(select(func.count()).select_from(counted.subquery())).one()
    if bound is not None and total > bound:
        return ComplaintPage(items, bound, True)
    return ComplaintPage(items, total, False)


def open_complaints_of_agency(session: Session, agency_id: int, limit: int = 20) -> list[Complaint]:
    """An agency's complaints that still need work, nearest deadline first (no deadline last).

    The nearest ``limit`` of each running deadline, and the newest without one, are read (the
    database sorts, a queue of 40,000 is not loaded), then merged.
    """
    due_columns = {"verify": Complaint.verify_due, "followup": Complaint.followup_due, "resolve": Complaint.resolve_due}
    candidates: dict[int, Complaint] = {}
    for deadline, statuses in OPEN_DEADLINES.items():
        due = due_columns[deadline]
        query = select(Complaint).where(
            Complaint.agency_id == agency_id, col(Complaint.status).in_(sorted(statuses)), col(due).is_not(None)
        )
        if deadline == "followup":
            query = query.where(col(Complaint.followed_up_at).is_(None))
        for complaint in session.exec(query.order_by(col(due), col(Complaint.id)).limit(limit)).all():
            candidates[complaint.id] = complaint
    if len(candidates) < limit:  # fill up with open complaints that have no running deadline
        open_statuses = sorted(set().union(*OPEN_DEADLINES.values()))
        rest = session.exec(
            select(Complaint)
            .where(Complaint.agency_id == agency_id, col(Complaint.status).in_(open_statuses))
            .order_by(col(Complaint.created_at).desc(), col(Complaint.id).desc())
            .limit(limit * 2)
        ).all()
        for complaint in rest:
            candidates.setdefault(complaint.id, complaint)
    ordered = sorted(candidates.values(), key=lambda c: (next_deadline(c) or (date.max, ""), c.id))
    return ordered[:limit]


# ---------------------------------------------------------------- deadlines

OPEN_DEADLINES = {
    # deadline -> the statuses in which it still runs
    "verify": {Status.diterima.value},
    "followup": {Status.diteruskan.value},
    "resolve": {Status.diterima.value, Status.diteruskan.value, Status.diproses.value},
}


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


def complaints_with_running_deadlines(session: Session, due_by: date) -> list[Complaint]:
    """Open complaints with a running deadline on or before ``due_by`` whose breach is not yet recorded.

    The candidates for a reminder or a breach. A breached deadline is done with (its breach was told
    once), so a backlog of overdue complaints is not read again on every tick of the clock.
    """
    due_columns = {"verify": Complaint.verify_due, "followup": Complaint.followup_due, "resolve": Complaint.resolve_due}
    pending = []
    for deadline, statuses in OPEN_DEADLINES.items():
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
    """Record a reminder or breach; False when it was recorded before (each is sent once per due date)."""
    exists = session.exec(
        select(DeadlineAlert.id).where(
            DeadlineAlert.complaint_id == complaint_id,
            DeadlineAlert.deadline == deadline,
            DeadlineAlert.kind == kind,
            DeadlineAlert.due == due,
        )
    ).first()
    if exists is not None:
        return False
    session.add(DeadlineAlert(complaint_id=complaint_id, deadline=deadline, kind=kind, due=due))
    session.flush()
    return True


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


# ---------------------------------------------------------------- telling the dialogue what was pushed


def queue_dialogue_push(session: Session, urn_id: int, intent: str, entities: dict, *, flush: bool = True) -> DialoguePush:
    """Record what the dialogue must be told; ``flush=False`` leaves the INSERT to the caller's next flush."""
    push = DialoguePush(urn_id=urn_id, intent=intent, entities=json.dumps(entities, ensure_ascii=False))
    session.add(push)
    if flush:
        session.flush()
    return push


def pending_dialogue_pushes(session: Session, urn_id: int) -> list[DialoguePush]:
    return list(
        session.exec(
            select(DialoguePush)
            .where(DialoguePush.urn_id == urn_id, DialoguePush.state == "pending")
            .order_by(col(DialoguePush.id))
        ).all()
    )


def urns_with_due_pushes(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Conversations whose next thing to do is telling a push that is due, oldest first.

    Only a conversation's first pending push counts, and only when no pending inbound message is
    older than it: that message goes first, and its retry time decides (urns_with_due_inbound).
    """
    earlier, message = aliased(DialoguePush), aliased(Message)
    older_push = (
        select(earlier.id)
        .where(earlier.urn_id == DialoguePush.urn_id, earlier.state == "pending", col(earlier.id) < col(DialoguePush.id))
        .exists()
    )
    older_message = (
        select(message.id)
        .where(
            message.urn_id == DialoguePush.urn_id,
            message.direction == Direction.inbound.value,
            message.status == MessageStatus.pending.value,
            col(message.created_at) < col(DialoguePush.created_at),
        )
        .exists()
    )
    rows = session.exec(
        select(DialoguePush.urn_id)
        .where(DialoguePush.state == "pending", col(DialoguePush.available_at) <= now, ~older_push, ~older_message)
        .order_by(col(DialoguePush.id))
        .limit(limit)
    ).all()
    return list(rows)


def next_pending_push(session: Session, urn_id: int) -> DialoguePush | None:
    """The oldest push this conversation's dialogue has not been told of (later ones wait behind it)."""
    return session.exec(
        select(DialoguePush)
        .where(DialoguePush.urn_id == urn_id, DialoguePush.state == "pending")
        .order_by(col(DialoguePush.id))
    ).first()


def mark_push_told(session: Session, push_id: int) -> None:
    session.execute(update(DialoguePush).where(col(DialoguePush.id) == push_id).values(state="done", last_error=None))


def mark_push_retry(session: Session, push_id: int, error: str, delay: timedelta) -> None:
    push = session.get(DialoguePush, push_id)
    push.attempts += 1
    push.last_error = error_text(error)
    push.available_at = utcnow() + delay
    session.add(push)
    session.flush()


def mark_push_failed(session: Session, push_id: int, error: str) -> None:
    session.execute(
        update(DialoguePush).where(col(DialoguePush.id) == push_id).values(state="failed", last_error=error_text(error))
    )
