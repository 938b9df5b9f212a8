"""SMS and WhatsApp through Twilio: signed webhooks, de-duplication, media, delivery callbacks, the
WhatsApp 24-hour window, failure classes; the real `twilio` client against a fake Twilio API."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlmodel import func, select, update

from channels import gsm7
from channels.twilio import parse_incoming
from storage import agencies as agency_store
from storage import contacts as contact_store
from storage import messages as message_store
from storage import officers as officer_store
from storage import outbox as outbox_store
from storage.db import session_scope
from storage.models import Attachment, ContactUrn, Message
from tests.channels_support import app_client, channel_settings, post_twilio, wait_for

RECORDED = json.loads((Path(__file__).parents[1] / "data" / "twilio_incoming.json").read_text())
CITIZEN = "+6281234567890"


@pytest.fixture
def client(sqlite_url, fakes):
    with app_client(channel_settings(sqlite_url, *fakes)) as client:
        yield client


def sms(body: str, sid: str, sender: str = CITIZEN, **extra) -> dict[str, str]:
    return {
        "MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": sender,
        "To": "+6281100001708", "Body": body, "NumMedia": "0", **extra,
    }


def count(store, model) -> int:
    with session_scope(store) as session:
        return session.exec(select(func.count()).select_from(model)).one()


@pytest.mark.parametrize("case", RECORDED, ids=[case["name"] for case in RECORDED])
def test_recorded_payloads_become_the_expected_neutral_message(case):
    message = parse_incoming(case["form"])
    expected = case["expected"]
    assert (message.urn, message.channel, message.text, message.external_id) == (
        expected["urn"], expected["channel"], expected["text"], expected["external_id"],
    )
    assert [a.kind for a in message.attachments] == expected["attachment_kinds"]


def test_a_signed_sms_is_acknowledged_with_empty_twiml_and_answered_through_the_api(client, fakes, store):
    rasa, twilio, _ = fakes
    response = post_twilio(client, twilio.auth_token, sms("halo pak", "SM0001"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/xml")
    assert "<Response></Response>" in response.text
    [sent] = wait_for(lambda: twilio.sent, what="the reply at the fake Twilio")
    assert (sent["To"], sent["From"], sent["Body"]) == (CITIZEN, "+6281100001708", "balasan: halo pak")
    # the callback names our message, so a send nobody recorded is known by its first callback
    callback, ours = sent["StatusCallback"].split("?m=")
    assert callback == "http://testserver/webhooks/twilio/status"
    with session_scope(store) as session:
        assert session.get(Message, int(ours)).text == "balasan: halo pak"
    assert rasa.turns[0]["sender"] == "sms:+6281234567890"


def test_long_sms_replies_are_gsm7_and_split_into_single_segments(client, fakes):
    _, twilio, _ = fakes
    post_twilio(client, twilio.auth_token, sms("panjang", "SM0002"))
    wait_for(lambda: len(twilio.sent) >= 2, what="a split reply")
    for body in twilio.bodies_to(CITIZEN):
        assert gsm7.to_gsm7(body) == body and gsm7.septets(body) <= 160


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU="])
def test_unsigned_or_wrongly_signed_webhooks_are_refused_and_store_nothing(client, fakes, store, signature):
    _, twilio, _ = fakes
    assert post_twilio(client, twilio.auth_token, sms("halo", "SM0003"), signature=signature).status_code == 403
    assert count(store, Message) == 0


def test_a_signature_over_other_parameters_is_refused(client, fakes, store):
    _, twilio, _ = fakes
    params = sms("halo", "SM0004")
    from tests.channels_support import sign

    forged = sign(twilio.auth_token, "/webhooks/twilio", {**params, "Body": "lain"})
    assert post_twilio(client, twilio.auth_token, params, signature=forged).status_code == 403
    assert count(store, Message) == 0


def test_a_retried_webhook_is_stored_and_answered_once(client, fakes, store):
    rasa, twilio, _ = fakes
    for _ in range(3):
        assert post_twilio(client, twilio.auth_token, sms("halo", "SM0005")).status_code == 200
    wait_for(lambda: twilio.sent, what="the reply")
    with session_scope(store) as session:
        inbound = session.exec(select(Message).where(Message.direction == "in")).all()
    assert len(inbound) == 1 and len(rasa.turns) == 1
    assert len(twilio.sent) == 1


def test_media_and_a_whatsapp_location_are_kept_and_acknowledged_without_a_turn(client, fakes, store):
    rasa, twilio, _ = fakes
    photo = sms("", "SM0006", sender="whatsapp:" + CITIZEN, NumMedia="1",
                MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC0/Messages/MM1/Media/ME1",
                MediaContentType0="image/jpeg")
    pin = sms("", "SM0007", sender="whatsapp:" + CITIZEN, Latitude="-7.7326", Longitude="110.3553")
    assert post_twilio(client, twilio.auth_token, photo).status_code == 200
    assert post_twilio(client, twilio.auth_token, pin).status_code == 200
    wait_for(lambda: len(twilio.sent) >= 2, what="two acknowledgements")
    assert rasa.turns == []  # nothing for the dialogue to read
    bodies = [m["Body"] for m in twilio.sent]
    assert "Berkas diterima" in bodies[0] and "Titik lokasi diterima" in bodies[1]
    assert twilio.sent[0]["To"] == "whatsapp:" + CITIZEN
    with session_scope(store) as session:
        kinds = {(a.kind, a.latitude) for a in session.exec(select(Attachment)).all()}
    assert kinds == {("image", None), ("location", -7.7326)}


@pytest.mark.parametrize(
    "params, status",
    [
        ({"Body": "halo", "MessageSid": "SM1"}, 400),  # no From
        ({"From": CITIZEN, "Body": "halo"}, 400),  # no MessageSid
        ({"From": "bukan-nomor", "MessageSid": "SM2", "Body": "halo"}, 400),
        ({"From": CITIZEN, "MessageSid": "SM3", "NumMedia": "banyak"}, 400),
        ({"From": CITIZEN, "MessageSid": "SM4", "Latitude": "999", "Longitude": "0"}, 400),
    ],
)
def test_signed_but_incomplete_webhooks_are_refused(client, fakes, store, params, status):
    _, twilio, _ = fakes
    assert post_twilio(client, twilio.auth_token, params).status_code == status
    assert count(store, Message) == 0


def test_a_huge_body_and_invalid_utf8_are_refused(client, fakes, store):
    _, twilio, _ = fakes
    huge = post_twilio(client, twilio.auth_token, sms("x" * 20_000, "SM0008"))
    assert huge.status_code == 413
    broken = client.post(
        "/webhooks/twilio", content=b"From=%2B62812&Body=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "x"},
    )
    assert broken.status_code == 400
    assert count(store, Message) == 0


def test_status_callbacks_move_the_delivery_status_forward_only(client, fakes, store):
    _, twilio, _ = fakes
    post_twilio(client, twilio.auth_token, sms("halo", "SM0009"))
    [sent] = wait_for(lambda: twilio.sent, what="the reply")
    path = "/webhooks/twilio/status"
    for status in ("sent", "delivered", "sent"):
        response = post_twilio(client, twilio.auth_token, {"MessageSid": sent["sid"], "MessageStatus": status}, path)
        assert response.status_code == 204
    with session_scope(store) as session:
        outbound = session.exec(select(Message).where(Message.external_id == sent["sid"])).one()
    assert outbound.status == "delivered"
    assert post_twilio(client, twilio.auth_token, {"MessageSid": sent["sid"]}, path).status_code == 400
    assert post_twilio(client, twilio.auth_token, {"MessageSid": "x", "MessageStatus": "sent"}, path, "bad").status_code == 403


def test_a_send_whose_sender_died_before_recording_it_is_recorded_by_its_callback_not_sent_again(client, fakes, store):
    from storage import outbox as outbox_store
    from storage.models import OutboxItem

    _, twilio, _ = fakes
    with session_scope(store) as session:  # a dispatcher claimed it, Twilio accepted it, the instance died
        contact = contact_store.get_or_create_urn(session, "sms:" + CITIZEN)
        [queued] = outbox_store.queue_outbound(session, urn_id=contact.id, channel="sms", provider="twilio", texts=["Tiket 1234-5678: DIPROSES"])
        now = datetime.now(timezone.utc)  # claimed in the same transaction: the app's own dispatcher never sees it free
        assert outbox_store.claim_outbox(session, owner="killed", now=now, lease=timedelta(seconds=60), message_ids=[queued.id])
    callback = {"MessageSid": "SM" + "d" * 32, "MessageStatus": "sent"}
    assert post_twilio(client, twilio.auth_token, callback, f"/webhooks/twilio/status?m={queued.id}").status_code == 204
    with session_scope(store) as session:
        assert session.get(Message, queued.id).external_id == "SM" + "d" * 32
        assert session.exec(select(OutboxItem).where(OutboxItem.message_id == queued.id)).one().state == "done"
        # the lease ran out: the instance taking rows over finds nothing left to send
        assert outbox_store.claim_outbox(session, owner="survivor", now=now + timedelta(minutes=2), lease=timedelta(seconds=60)) == []
    # a callback naming a message that was recorded already (or is not ours) changes nothing
    other = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "sent"}
    assert post_twilio(client, twilio.auth_token, other, f"/webhooks/twilio/status?m={queued.id}").status_code == 204
    with session_scope(store) as session:
        assert session.get(Message, queued.id).external_id == "SM" + "d" * 32


def test_an_undelivered_message_is_visible_to_operators(client, fakes, store):
    _, twilio, _ = fakes
    post_twilio(client, twilio.auth_token, sms("halo", "SM0010"))
    [sent] = wait_for(lambda: twilio.sent, what="the reply")
    post_twilio(
        client, twilio.auth_token,
        {"MessageSid": sent["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003"}, "/webhooks/twilio/status",
    )

    with session_scope(store) as session:
        [(message, contact)] = message_store.failed_deliveries(session)
    assert message.external_id == sent["sid"] and "30003" in message.error
    assert contact.urn == "sms:" + CITIZEN


def _age_last_inbound(store, hours: int) -> None:
    with session_scope(store) as session:
        session.execute(
            update(Message).where(Message.direction == "in")
            .values(created_at=datetime.now(timezone.utc) - timedelta(hours=hours))
        )


def test_whatsapp_free_form_within_24_hours_and_a_template_after(sqlite_url, fakes, store):
    rasa, twilio, telegram = fakes
    settings = channel_settings(sqlite_url, rasa, twilio, telegram, TWILIO_WHATSAPP_TEMPLATE_SID="HX" + "1" * 32)
    with app_client(settings) as client:
        post_twilio(client, twilio.auth_token, sms("halo", "SM0011", sender="whatsapp:" + CITIZEN))
        [first] = wait_for(lambda: twilio.sent, what="a free-form reply")
        assert first["Body"] == "balasan: halo" and "ContentSid" not in first
        _age_last_inbound(store, hours=25)
        _queue_push(store, "Status laporan 1234-5678: DIPROSES")
        second = wait_for(lambda: twilio.sent[1:], what="the push")[0]
    assert second["ContentSid"] == "HX" + "1" * 32 and "Body" not in second
    assert json.loads(second["ContentVariables"]) == {"1": "Status laporan 1234-5678: DIPROSES"}


def test_whatsapp_outside_24_hours_without_a_template_fails_clearly(client, fakes, store):
    _, twilio, _ = fakes
    post_twilio(client, twilio.auth_token, sms("halo", "SM0012", sender="whatsapp:" + CITIZEN))
    wait_for(lambda: twilio.sent, what="the reply")
    _age_last_inbound(store, hours=30)
    push_id = _queue_push(store, "kabar baru")
    message = wait_for(lambda: _failed(store, push_id), what="the push marked failed")
    assert "TWILIO_WHATSAPP_TEMPLATE_SID" in message.error and len(twilio.sent) == 1


def test_error_63016_falls_back_to_the_template(sqlite_url, fakes, store):
    rasa, twilio, telegram = fakes
    settings = channel_settings(sqlite_url, rasa, twilio, telegram, TWILIO_WHATSAPP_TEMPLATE_SID="HX" + "2" * 32)
    twilio.errors.append((400, 63016))
    with app_client(settings) as client:
        post_twilio(client, twilio.auth_token, sms("halo", "SM0013", sender="whatsapp:" + CITIZEN))
        [sent] = wait_for(lambda: twilio.sent, what="the template")
    assert sent["ContentSid"] == "HX" + "2" * 32


def test_a_citizen_who_replied_stop_is_marked_unreachable_and_not_retried(client, fakes, store):
    _, twilio, _ = fakes
    twilio.errors.append((400, 21610))
    post_twilio(client, twilio.auth_token, sms("halo", "SM0014"))
    wait_for(lambda: _unreachable(store), what="the URN marked unreachable")
    requests = twilio.requests
    _queue_push(store, "kabar baru", urn="sms:" + CITIZEN)
    wait_for(lambda: len(_all_failed(store)) == 2, what="the push failed without a send")
    assert twilio.requests == requests


def test_a_provider_outage_is_retried_and_delivers_once(client, fakes, store):
    _, twilio, _ = fakes
    twilio.errors.append((503, 20500))
    post_twilio(client, twilio.auth_token, sms("halo", "SM0015"))
    [sent] = wait_for(lambda: twilio.sent, timeout=20, what="the retried reply")
    assert sent["Body"] == "balasan: halo" and twilio.requests == 2


# ---------------------------------------------------------------- helpers


def _queue_push(store, text: str, urn: str = "whatsapp:" + CITIZEN) -> int:

    with session_scope(store) as session:
        contact = contact_store.get_urn(session, urn)
        [message] = outbox_store.queue_outbound(
            session, urn_id=contact.id, channel=urn.split(":")[0], provider="twilio", texts=[text]
        )
        return message.id


def _failed(store, message_id: int):
    with session_scope(store) as session:
        message = session.get(Message, message_id)
        return message if message.status == "failed" else None


def _all_failed(store) -> list[Message]:
    with session_scope(store) as session:
        return list(session.exec(select(Message).where(Message.status == "failed")).all())


def _unreachable(store) -> bool:
    with session_scope(store) as session:
        return session.exec(select(ContactUrn).where(ContactUrn.urn == "sms:" + CITIZEN)).one().unreachable_at is not None


def test_failed_deliveries_are_listed_for_admins_only(client, fakes, store):
    from storage.models import OfficerRole

    _, twilio, _ = fakes
    twilio.errors.append((400, 21211))  # invalid 'To' number: permanent
    post_twilio(client, twilio.auth_token, sms("halo", "SM0016"))
    wait_for(lambda: _all_failed(store), what="the failed reply")
    with session_scope(store) as session:
        agency = agency_store.national_queue(session)
        admin = officer_store.create_officer(session, name="Admin", agency_id=agency.id, role=OfficerRole.admin)
        officer = officer_store.create_officer(session, name="Petugas", agency_id=agency.id, role=OfficerRole.officer)
        admin_token, officer_token = officer_store.issue_token(session, admin.id), officer_store.issue_token(session, officer.id)
    listed = client.get("/api/v1/deliveries/failed", headers={"Authorization": f"Bearer {admin_token}"})
    assert listed.status_code == 200
    [row] = listed.json()
    assert row["provider"] == "twilio" and "21211" in row["error"]
    assert "1234567890" not in row["address"]
    assert client.get("/api/v1/deliveries/failed", headers={"Authorization": f"Bearer {officer_token}"}).status_code == 403


MALFORMED_STATUS = json.loads((Path(__file__).parents[1] / "data" / "malformed_webhooks.json").read_text())[
    "twilio_status_callback"
]


def test_malformed_status_callbacks_get_a_clear_4xx_on_sqlite_and_postgresql(database_url, fakes):
    """The table in tests/data/malformed_webhooks.json: signed, but missing or malformed fields."""
    from fastapi.testclient import TestClient

    from bot.app import create_app

    _, twilio, _ = fakes
    with TestClient(create_app(channel_settings(database_url, *fakes)), raise_server_exceptions=False) as client:
        answers = {
            case["name"]: post_twilio(client, twilio.auth_token, case["form"], "/webhooks/twilio/status")
            for case in MALFORMED_STATUS
        }
    wrong = {name: (r.status_code, r.text) for name, r in answers.items()
             if r.status_code != next(c["status"] for c in MALFORMED_STATUS if c["name"] == name)}
    assert wrong == {}


def test_a_message_sid_longer_than_twilios_is_refused(client, fakes, store):
    _, twilio, _ = fakes
    assert post_twilio(client, twilio.auth_token, sms("halo", "SM" + "a" * 200)).status_code == 400
    assert count(store, Message) == 0


@pytest.mark.parametrize("signature", ["é" * 28, "подпись", "bm90IHRoZSBzaWduYXR1cmU=ü"])
def test_a_signature_with_non_ascii_characters_is_refused_not_an_error(client, fakes, store, signature):
    from urllib.parse import urlencode

    _, twilio, _ = fakes
    params = sms("halo", "SM0030")
    response = client.post(
        "/webhooks/twilio", content=urlencode(params),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature.encode("utf-8")},
    )
    assert response.status_code == 403
    assert count(store, Message) == 0
