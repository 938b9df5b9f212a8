"""End to end, officers in the loop: a citizen files by SMS (simulator) in Sleman; the complaint is
routed to the Dinas PUPR of Sleman (pilot seed data, loaded by `aduan run`); its officer, on
Telegram (fake Bot API), is notified, asks the citizen a question by replying to the notification,
gets the citizen's answer relayed, moves the status on; the citizen hears each step on SMS and
answers "selesai" with a confirmation and a rating, which closes the complaint. Against the real
Rasa engine: the pushes are told to the dialogue with trigger_intent, so the citizen can simply answer.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.channels_support import wait_for
from tests.e2e.conftest import TELEGRAM_SECRET

pytestmark = pytest.mark.e2e

TICKET = re.compile(r"\b(\d{4}-\d{4})\b")
CITIZEN = "081277771234"
OFFICER_CHAT, OTHER_AGENCY_CHAT = 700100200, 700100300


class TelegramOfficer:
    """An officer typing in Telegram: updates posted to our webhook, answers read at the fake Bot API."""

    update_ids = iter(range(900000, 999999))

    def __init__(self, stack, fake_telegram, chat_id: int) -> None:
        self.stack, self.fake, self.chat_id = stack, fake_telegram, chat_id

    def received(self) -> list[dict]:
        return [m for m in self.fake.sent if int(m["chat_id"]) == self.chat_id]

    def send(self, text: str, reply_to: int | None = None) -> list[str]:
        before = len(self.received())
        update_id = next(self.update_ids)
        message = {
            "message_id": update_id, "date": int(time.time()), "text": text,
            "from": {"id": self.chat_id, "is_bot": False, "first_name": "Petugas"},
            "chat": {"id": self.chat_id, "type": "private", "first_name": "Petugas"},
        }
        if reply_to is not None:
            message["reply_to_message"] = {
                "message_id": reply_to, "date": int(time.time()), "text": "...",
                "chat": {"id": self.chat_id, "type": "private"},
                "from": {"id": 4242, "is_bot": True, "first_name": "Aduan"},
            }
        response = httpx.post(
            f"{self.stack.base_url}/webhooks/telegram", json={"update_id": update_id, "message": message},
            headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}, timeout=10,
        )
        assert response.status_code == 200, response.text
        wait_for(lambda: len(self.received()) > before, what=f"the answer to {text!r}")
        return [m["text"] for m in self.received()[before:]]


def citizen_inbox(stack, sender: str = CITIZEN) -> list[str]:
    """Everything delivered to a simulated SMS citizen, pushes included."""
    response = httpx.get(f"{stack.base_url}/simulator/messages", params={"channel": "sms", "sender": sender}, timeout=10)
    return [m["text"] for m in response.json()["messages"]]


def wait_for_push(stack, count_before: int, what: str) -> list[str]:
    return wait_for(lambda: citizen_inbox(stack)[count_before:], what=what)


def api(stack, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    return httpx.request(
        method, f"{stack.base_url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10, **kwargs
    )


@pytest.fixture(scope="module")
def officers(stack, fake_telegram):
    stack.cli("officer", "add", "--name", "Petugas PUPR", "--agency", "PUPR-3404", "--urn", f"telegram:{OFFICER_CHAT}")
    stack.cli("officer", "add", "--name", "Petugas DLH", "--agency", "DLH-3404", "--urn", f"telegram:{OTHER_AGENCY_CHAT}")
    return TelegramOfficer(stack, fake_telegram, OFFICER_CHAT), TelegramOfficer(stack, fake_telegram, OTHER_AGENCY_CHAT)


def test_an_officer_answers_the_citizen_through_the_bot_from_filing_to_closing(stack, officers, admin_token):
    officer, other = officers
    asked = stack.say(CITIZEN, "lapor jalan berlubang besar di depan SD Mlati, Sleman, sudah 3 bulan")
    assert any("Rahasiakan identitas" in r for r in asked), asked
    stack.say(CITIZEN, "2")  # anonymous: the officer must never see the number
    ticket = TICKET.search("\n".join(stack.say(CITIZEN, "ya"))).group(1)
    digits = ticket.replace("-", "")

    # routed to the Dinas PUPR of Sleman; its officer is notified at once, without the number
    notification = wait_for(lambda: officer.received(), what="the officer's notification")[-1]
    assert ticket in notification["text"] and "Laporan baru" in notification["text"]
    assert "Mlati" in notification["text"] and "anonim" in notification["text"]
    assert "1277771234" not in notification["text"]
    body = api(stack, admin_token, "GET", f"/complaints/{ticket}").json()
    assert body["agency"]["code"] == "PUPR-3404" and body["reporter"] is None

    # the officer asks a question by replying to the notification; the citizen gets it on SMS
    seen = len(citizen_inbox(stack))
    ack = officer.send("Mohon kirim ukuran lubangnya, Pak/Bu.", reply_to=notification["message_id"])
    assert any("sudah dikirim" in a for a in ack), ack
    [question] = wait_for_push(stack, seen, "the officer's question at the citizen")
    assert ticket in question and "Dinas PUPR Kab. Sleman" in question and "ukuran lubangnya" in question

    # the citizen simply answers (the dialogue knows what was pushed); the officer gets it
    before = len(officer.received())
    relayed = stack.say(CITIZEN, "kira2 1 meter, dalam 20 cm")
    assert any("diteruskan" in r for r in relayed), relayed
    answer = wait_for(lambda: [m["text"] for m in officer.received()[before:]], what="the relayed answer")
    assert any("kira2 1 meter" in a and ticket in a for a in answer), answer

    # another agency's officer can neither read nor change it
    assert any("tidak ada di antrean" in a for a in other.send(f"/tiket {ticket}"))
    assert any("tidak ada di antrean" in a for a in other.send(f"/status {ticket} selesai"))
    assert api(stack, admin_token, "GET", f"/complaints/{ticket}").json()["status"] == "diterima"

    # status steps, forgiving of case and spacing; each is pushed to the citizen
    seen = len(citizen_inbox(stack))
    assert any("DIPROSES" in a for a in officer.send(f"/STATUS  {digits[:4]} {digits[4:]} proses"))
    [working] = wait_for_push(stack, seen, "the diproses push")
    assert "DIPROSES" in working and ticket in working
    seen = len(citizen_inbox(stack))
    officer.send(f"/status {ticket} selesai Lubang sudah ditambal")
    resolved = "\n".join(wait_for_push(stack, seen, "the selesai push"))
    assert "SELESAI" in resolved and "ditambal" in resolved and "YA" in resolved

    # the citizen confirms and rates in one SMS; the complaint closes and the officer hears of it
    before = len(officer.received())
    thanks = stack.say(CITIZEN, "ya sudah beres 5")
    assert any("5/5" in t for t in thanks), thanks
    body = api(stack, admin_token, "GET", f"/complaints/{ticket}").json()
    assert (body["status"], body["rating"]) == ("ditutup", 5)
    kinds = [(e["kind"], e["actor_type"]) for e in body["history"]]
    assert ("reply", "officer") in kinds and ("citizen_reply", "citizen") in kinds and ("feedback", "citizen") in kinds
    assert wait_for(lambda: any("DITUTUP" in m["text"] for m in officer.received()[before:]), what="closing notice")

    # after the thread, the citizen's words are a dialogue again
    assert any("LAPOR" in r for r in stack.say(CITIZEN, "halo"))

    # the officer's /tiket shows who did what; no log line of the whole run holds the anonymous number
    detail = "\n".join(officer.send(f"/tiket {ticket}"))
    assert "Petugas PUPR" in detail and "pelapor" in detail and "DITUTUP" in detail
    assert "1277771234" not in stack.log.read_text()


def test_belum_reopens_and_what_is_still_wrong_reaches_the_agency(stack, officers, admin_token):
    officer, _ = officers
    citizen = "081277775678"
    stack.say(citizen, "lapor jalan rusak parah di Mlati, Sleman, banyak lubang")
    stack.say(citizen, "1")
    ticket = TICKET.search("\n".join(stack.say(citizen, "ya"))).group(1)
    wait_for(lambda: any(ticket in m["text"] for m in officer.received()), what="the notification")
    for status in ("diproses", "selesai"):
        token_answer = officer.send(f"/status {ticket} {status}")
        assert any(status.upper() in a for a in token_answer), token_answer
    wait_for(lambda: any("SELESAI" in t for t in citizen_inbox(stack, citizen)), what="the selesai push")

    reopened = stack.say(citizen, "belum, masih berlubang")
    assert any("dibuka kembali" in r for r in reopened), reopened
    assert api(stack, admin_token, "GET", f"/complaints/{ticket}").json()["status"] == "diproses"
    before = len(officer.received())
    stack.say(citizen, "lubang di sisi utara belum ditambal")
    relayed = wait_for(lambda: [m["text"] for m in officer.received()[before:]], what="the relayed detail")
    assert any("sisi utara" in r for r in relayed), relayed



def test_after_an_old_thread_a_new_complaint_starts_as_usual(stack, officers):
    """A thread that got old hands the message on: here a new complaint, whose form starts prefilled."""
    officer, _ = officers
    citizen = "081277779012"
    stack.say(citizen, "lapor lampu jalan mati di Mlati, Sleman, sudah 2 minggu")
    stack.say(citizen, "1")
    ticket = TICKET.search("\n".join(stack.say(citizen, "ya"))).group(1)
    notification = wait_for(lambda: [m for m in officer.received() if ticket in m["text"]], what="the notification")[-1]
    seen = len(citizen_inbox(stack, citizen))
    officer.send("Lampu sudah kami catat.", reply_to=notification["message_id"])
    wait_for(lambda: citizen_inbox(stack, citizen)[seen:], what="the officer's message")
    stack.say(citizen, "STATUS " + ticket)  # the officer's push is told to the dialogue before this turn

    # eight days later (the thread's clock is in its slots: set back through Rasa's HTTP API)
    urn = "sim-sms:+62" + citizen[1:]
    rasa = f"http://127.0.0.1:{stack.env['RASA_PORT']}"
    response = httpx.post(
        f"{rasa}/conversations/{urn}/tracker/events", params={"token": stack.env["RASA_TOKEN"]},
        json=[{"event": "slot", "name": "thread_opened_at", "value": time.time() - 8 * 24 * 3600}], timeout=10,
    )
    assert response.status_code == 200, response.text
    asked = stack.say(citizen, "lapor sampah menumpuk di pasar Mlati, Sleman, sudah seminggu")
    assert any("Rahasiakan identitas" in r for r in asked), asked  # what, where and category prefilled
    assert not any("diteruskan ke" in r for r in asked)
    summary = "\n".join(stack.say(citizen, "1"))
    assert "sampah" in summary.lower() and "Mlati" in summary, summary
    assert TICKET.search("\n".join(stack.say(citizen, "ya")))
