"""Provider errors are kept and shown without phone numbers (issue #10).

Twilio's 21211 and 21408 texts name the "To" number, an anonymous reporter's among them; every
error column (message.error, outbox.last_error, dialogue_push.last_error) is masked and cut to
its length by one helper (storage/redaction.py, the same masking as the log filter), and
``GET /api/v1/deliveries/failed`` masks what it shows, rows stored before included.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from twilio.base.exceptions import TwilioRestException

from bot import logs
from bot.app import create_app
from bot.config import Settings
from bot.dispatcher import Dispatcher
from channels.base import OutgoingMessage, SendResult
from channels.registry import AdapterRegistry
from channels.twilio import classify_error
from storage import agencies as agency_store
from storage import contacts as contact_store
from storage import messages as message_store
from storage import officers as officer_store
from storage import outbox as outbox_store
from storage import pushes as push_store
from storage import redaction
from storage.db import session_scope
from storage.models import DialoguePush, Message, OfficerRole, OutboxItem

NUMBER_DIGITS = "81234567890"
TWILIO_21211 = "The 'To' number +6281234567890 is not a valid phone number."
TWILIO_21408 = "Permission to send an SMS has not been enabled for the region indicated by the 'To' number: +6281234567890."


@pytest.mark.parametrize(
    "text",
    [
        TWILIO_21211,
        "Unable to create record: The 'To' number whatsapp:+6281234567890 is not a valid phone number",
        "no route to 081234567890",
        "no route to 6281234567890",
        "no route to +62 812-3456-7890",
    ],
)
def test_phone_numbers_in_any_writing_are_masked_in_error_texts(text):
    masked = redaction.error_text(text)
    assert NUMBER_DIGITS not in masked.replace(" ", "").replace("-", "")
    assert "[PHONE_" in masked
    assert "7890" not in masked and "0812" not in masked  # no part of an anonymous reporter's number


def test_an_error_is_cut_to_its_column_after_masking():
    masked = redaction.error_text("x" * 2000 + TWILIO_21211)
    assert len(masked) == redaction.ERROR_LIMIT
    assert redaction.error_text(None) is None


def outbox_item(session, message_id: int) -> OutboxItem:
    return session.exec(select(OutboxItem).where(OutboxItem.message_id == message_id)).one()


class RefusingAdapter:
    """Answers every send as Twilio's client does for 21211, through our classification."""

    provider = "simulator"

    def handles(self, scheme: str) -> bool:
        return scheme.startswith("sim-")

    async def send(self, message: OutgoingMessage) -> SendResult:
        return classify_error(TwilioRestException(400, "https://api.twilio.com/x", msg=TWILIO_21211, code=21211))


def test_a_refused_send_is_stored_without_the_recipients_number(store):
    with session_scope(store) as session:
        contact = contact_store.get_or_create_urn(session, "sim-sms:+6281234567890")
        [message] = outbox_store.queue_outbound(session, urn_id=contact.id, channel="sms", provider="simulator", texts=["x"])
    asyncio.run(Dispatcher(store, AdapterRegistry([RefusingAdapter()])).dispatch_due())
    with session_scope(store) as session:
        stored = session.get(Message, message.id)
        item = outbox_item(session, message.id)
        assert stored.status == "failed" and "21211" in stored.error
        assert NUMBER_DIGITS not in stored.error and NUMBER_DIGITS not in item.last_error


def test_every_error_column_is_masked_when_stored(engine):
    with session_scope(engine) as session:
        contact = contact_store.get_or_create_urn(session, "sms:+6281234567890")
        inbound, _ = message_store.record_inbound(session, urn=contact.urn, channel="sms", provider="twilio", text="halo")
        message_store.mark_inbound_retry(session, inbound.id, TWILIO_21408, timedelta(seconds=2))
        [outbound] = outbox_store.queue_outbound(session, urn_id=contact.id, channel="sms", provider="twilio", texts=["x"])
        [(claimed, _, _)] = outbox_store.claim_outbox(
            session, owner="dispatcher", now=datetime.now(timezone.utc), lease=timedelta(seconds=60)
        )
        outbox_store.mark_sent(session, claimed.id, owner="dispatcher", external_id="SM1", status="accepted")
        message_store.update_delivery_status(session, provider="twilio", external_id="SM1", status="failed", error=TWILIO_21211)
        retried = push_store.queue_dialogue_push(session, contact.id, "EXTERNAL_status_changed", {"ticket": "12345678"})
        refused = push_store.queue_dialogue_push(session, contact.id, "EXTERNAL_status_changed", {"ticket": "12345678"})
        push_store.mark_push_retry(session, retried.id, TWILIO_21211, timedelta(seconds=2))
        push_store.mark_push_failed(session, refused.id, TWILIO_21211)
    with session_scope(engine) as session:
        texts = [
            session.get(Message, inbound.id).error,
            session.get(Message, outbound.id).error,
            session.get(DialoguePush, retried.id).last_error,
            session.get(DialoguePush, refused.id).last_error,
        ]
    assert all(text and NUMBER_DIGITS not in text for text in texts), texts


def test_failed_deliveries_show_errors_without_numbers_even_when_stored_unmasked(sqlite_url, store):
    with session_scope(store) as session:
        contact = contact_store.get_or_create_urn(session, "sms:+6281234567890")
        [message] = outbox_store.queue_outbound(session, urn_id=contact.id, channel="sms", provider="twilio", texts=["x"])
        stored = session.get(Message, message.id)
        stored.status, stored.error = "failed", "21211: " + TWILIO_21211  # as rows written before this fix hold it
        item = outbox_item(session, message.id)
        item.state = "failed"  # given up: the app's dispatcher leaves it alone
        session.add_all([stored, item])
        admin = officer_store.create_officer(
            session, name="Admin", agency_id=agency_store.national_queue(session).id, role=OfficerRole.admin
        )
        token = officer_store.issue_token(session, admin.id)
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        [row] = client.get("/api/v1/deliveries/failed", headers={"Authorization": f"Bearer {token}"}).json()
    assert "21211" in row["error"] and NUMBER_DIGITS not in row["error"]


def test_log_lines_are_masked_as_the_stored_errors_are(capsys):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        logs.configure_logging("INFO")
        logging.getLogger("aduan.test").warning("send failed: %s", TWILIO_21211)
        logs.flush()
    finally:
        root.handlers[:], root.level = handlers, level
    line = capsys.readouterr().err
    assert redaction.error_text(TWILIO_21211) in line and NUMBER_DIGITS not in line
