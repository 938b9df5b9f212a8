"""What the dialogue must be told of pushes sent outside it (Rasa ``trigger_intent``), in order, retried.

Plain functions taking a session; callers own the transaction (``storage.db.session_scope``).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from storage.models import (
    DialoguePush,
    Direction,
    Message,
    MessageStatus,
    PushState,
    utcnow,
)
from storage.redaction import error_text


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
            .where(DialoguePush.urn_id == urn_id, DialoguePush.state == PushState.pending.value)
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
        .where(
            earlier.urn_id == DialoguePush.urn_id,
            earlier.state == PushState.pending.value,
            col(earlier.id) < col(DialoguePush.id),
        )
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
        .where(DialoguePush.state == PushState.pending.value, col(DialoguePush.available_at) <= now, ~older_push, ~older_message)
        .order_by(col(DialoguePush.id))
        .limit(limit)
    ).all()
    return list(rows)


def next_pending_push(session: Session, urn_id: int) -> DialoguePush | None:
    """The oldest push this conversation's dialogue has not been told of (later ones wait behind it)."""
    return session.exec(
        select(DialoguePush)
        .where(DialoguePush.urn_id == urn_id, DialoguePush.state == PushState.pending.value)
        .order_by(col(DialoguePush.id))
    ).first()


def mark_push_told(session: Session, push_id: int) -> None:
    session.execute(
        update(DialoguePush).where(col(DialoguePush.id) == push_id).values(state=PushState.done.value, last_error=None)
    )


def mark_push_retry(session: Session, push_id: int, error: str, delay: timedelta) -> None:
    push = session.get(DialoguePush, push_id)
    push.attempts += 1
    push.last_error = error_text(error)
    push.available_at = utcnow() + delay
    session.add(push)
    session.flush()


def mark_push_failed(session: Session, push_id: int, error: str) -> None:
    session.execute(
        update(DialoguePush)
        .where(col(DialoguePush.id) == push_id)
        .values(state=PushState.failed.value, last_error=error_text(error))
    )
