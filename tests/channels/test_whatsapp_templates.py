"""WhatsApp pushes after the 24-hour window go as the approved template (issue #10).

Their delivery is reported like any other send: the template asks Twilio for status callbacks,
so a template WhatsApp refuses later ends up "failed" (visible to operators), not "accepted"
for ever. The push becomes the template's one variable on one line: WhatsApp refuses variables
with new lines, tabs or more than four spaces in a row.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import pytest
from sqlmodel import update

from channels.twilio import TEMPLATE_VARIABLE_LIMIT, template_variable
from storage import contacts as contact_store
from storage import messages as message_store
from storage import outbox as outbox_store
from storage.db import session_scope
from storage.models import Message
from tests.channels_support import app_client, channel_settings, post_twilio, wait_for

CITIZEN = "+6281234567890"
TEMPLATE = "HX" + "3" * 32


@pytest.fixture
def client(sqlite_url, fakes):
    rasa, twilio, telegram = fakes
    with app_client(channel_settings(sqlite_url, rasa, twilio, telegram, TWILIO_WHATSAPP_TEMPLATE_SID=TEMPLATE)) as client:
        yield client


def whatsapp(body: str, sid: str) -> dict[str, str]:
    return {
        "MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": "whatsapp:" + CITIZEN,
        "To": "whatsapp:+6281100001709", "Body": body, "NumMedia": "0",
    }


def citizen_wrote_hours_ago(client, twilio, store, hours: int) -> None:
    post_twilio(client, twilio.auth_token, whatsapp("halo", "SM" + "9" * 32))
    wait_for(lambda: twilio.sent, what="the free-form reply")
    with session_scope(store) as session:
        session.execute(
            update(Message).where(Message.direction == "in")
            .values(created_at=datetime.now(timezone.utc) - timedelta(hours=hours))
        )


def queue_push(store, text: str) -> int:
    with session_scope(store) as session:
        contact = contact_store.get_urn(session, "whatsapp:" + CITIZEN)
        [message] = outbox_store.queue_outbound(
            session, urn_id=contact.id, channel="whatsapp", provider="twilio", texts=[text]
        )
        return message.id


def status_of(store, message_id: int) -> Message:
    with session_scope(store) as session:
        return session.get(Message, message_id)


def test_a_template_push_asks_for_status_callbacks_and_its_failure_is_recorded(client, fakes, store):
    _, twilio, _ = fakes
    citizen_wrote_hours_ago(client, twilio, store, hours=30)
    push_id = queue_push(store, "Status laporan 1234-5678: DIPROSES")
    template = wait_for(lambda: [m for m in twilio.sent if m.get("ContentSid")], what="the template")[0]
    assert status_of(store, push_id).status == "accepted"
    callback = template.get("StatusCallback")
    # Twilio reports only where it is asked to (naming our message: bot/gateway.py record_delivery)
    assert callback == f"http://testserver/webhooks/twilio/status?m={push_id}"
    # WhatsApp refuses it after Twilio accepted it: Twilio calls back, on the URL it was given
    parts = urlsplit(callback)
    response = post_twilio(
        client, twilio.auth_token,
        {"MessageSid": template["sid"], "MessageStatus": "failed", "ErrorCode": "63049"}, f"{parts.path}?{parts.query}",
    )
    assert response.status_code == 204
    failed = status_of(store, push_id)
    assert failed.status == "failed" and "63049" in failed.error
    with session_scope(store) as session:
        assert [m.id for m, _ in message_store.failed_deliveries(session)] == [push_id]


def test_the_template_fallback_after_error_63016_asks_for_status_callbacks_too(client, fakes, store):
    _, twilio, _ = fakes
    twilio.errors.append((400, 63016))  # our clock said the window was open; Twilio's did not
    post_twilio(client, twilio.auth_token, whatsapp("halo", "SM" + "8" * 32))
    [template] = wait_for(lambda: [m for m in twilio.sent if m.get("ContentSid")], what="the fallback template")
    assert template["StatusCallback"].startswith("http://testserver/webhooks/twilio/status?m=")


def test_a_push_of_several_lines_is_sent_as_a_one_line_template_variable(client, fakes, store):
    _, twilio, _ = fakes
    citizen_wrote_hours_ago(client, twilio, store, hours=25)
    queue_push(store, "Status laporan 1234-5678: DIPROSES\nCatatan:\tTim     menuju lokasi\r\n\n1. YA\n2. BELUM")
    template = wait_for(lambda: [m for m in twilio.sent if m.get("ContentSid")], what="the template")[0]
    variable = json.loads(template["ContentVariables"])["1"]
    assert variable == "Status laporan 1234-5678: DIPROSES · Catatan: Tim menuju lokasi · 1. YA · 2. BELUM"


@pytest.mark.parametrize(
    "text",
    ["a\nb", "a\r\nb", "a\tb", "a     b", "a\u2028b", " a \n\n\n b ", "kata " * 400],
    ids=["newline", "crlf", "tab", "five spaces", "line separator", "blank lines", "long"],
)
def test_template_variables_hold_no_line_breaks_tabs_or_runs_of_spaces(text):
    variable = template_variable(text)
    assert not any(c in variable for c in "\n\r\t\u2028") and "    " not in variable
    assert variable == variable.strip() and len(variable) <= TEMPLATE_VARIABLE_LIMIT
