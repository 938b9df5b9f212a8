"""Officers' open doors (issue 10): a PIN for supervisor and admin commands over SMS, where a sender id
can be spoofed; revocation (tokens, deactivation, addresses) from the CLI; replies to reminders and
alerts that are not relayed to the citizen; simulator addresses only while the simulator is on.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func
from sqlmodel import col, select

from bot import casework, cli, cli_officers, officer_desk, pins
from bot.app import create_app
from bot.config import Settings
from bot.conversation import Conversations
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import messages as message_store
from storage import officers as officer_store
from storage.db import session_scope
from storage.models import (
    ApiToken,
    ComplaintEvent,
    ContactUrn,
    Message,
    MessageKind,
    Officer,
)
from storage.tickets import format_ticket
from tests.casework_support import (
    CITIZEN_URN,
    NATIONAL_ADMIN_URN,
    PUPR_OFFICER_URN,
    PUPR_SUPERVISOR_URN,
    build_world,
    file,
    inbound,
    outbound,
    outbound_text,
    snapshot,
    utc,
)

NOW = utc(2026, 12, 1, 3)  # Tuesday 1 Dec 2026, 10.00 WIB: the complaint's verification is due tomorrow
PIN = "482913"
SUPERVISOR_SMS = "sms:+6281300000002"
ADMIN_SMS = "sms:+6281300000009"
OFFICER_SMS = "sms:+6281300000003"
SUPERVISOR_WHATSAPP = "whatsapp:+6281300000002"


@pytest.fixture
def world(store):
    return _world(store)


@pytest.fixture
def world_on_both(engine):
    return _world(engine)


def _world(engine):
    with session_scope(engine) as session:
        world = build_world(session)
        officer_store.add_officer_urn(session, world.pupr_supervisor_id, SUPERVISOR_SMS)
        officer_store.add_officer_urn(session, world.pupr_supervisor_id, SUPERVISOR_WHATSAPP)
        officer_store.add_officer_urn(session, world.national_admin_id, ADMIN_SMS)
        officer_store.add_officer_urn(session, world.pupr_officer_id, OFFICER_SMS)
        officer_store.set_officer_pin(session, world.pupr_supervisor_id, pins.hash_pin(PIN))
        officer_store.set_officer_pin(session, world.national_admin_id, pins.hash_pin(PIN))
        return world


def say(engine, urn: str, text: str, *, now=NOW, reply_to_id: int | None = None) -> str:
    """An officer's message, stored and handled as the gateway does; returns the answer."""
    with session_scope(engine) as session:
        message = inbound(session, urn, text, reply_to_id)
        officer = officer_store.officer_of_urn(session, message.urn_id)
        assert officer is not None, f"{urn} is not an officer's address"
        return officer_desk.handle(session, officer, message, now)


def filed(engine, announce: bool = True):
    with session_scope(engine) as session:
        complaint = file(session)
        if announce:
            casework.announce_new_complaint(session, complaint)
        return complaint


def status_of(engine, ticket: str) -> str:
    with session_scope(engine) as session:
        return complaint_store.get_complaint(session, ticket).status


def snap(engine, ticket: str) -> dict:
    with session_scope(engine) as session:
        return snapshot(session, ticket)


def officer_row(engine, officer_id: int) -> Officer:
    with session_scope(engine) as session:
        return session.get(Officer, officer_id)


def texts_to(engine, urn: str) -> list[str]:
    with session_scope(engine) as session:
        return [m.text for m in outbound(session, urn)]


# ---------------------------------------------------------------- the PIN over SMS


@pytest.mark.parametrize("urn", [SUPERVISOR_SMS, ADMIN_SMS])
@pytest.mark.parametrize("command", ["/daftar", "/tiket {t}", "/status {t} ditolak spam", "/alihkan {t} DLH-3404"])
def test_a_supervisor_or_admin_command_over_sms_without_a_pin_is_refused_and_changes_nothing(store, world, urn, command):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    answer = say(store, urn, command.format(t=format_ticket(complaint.ticket)))
    assert answer == "Perintah lewat SMS perlu PIN Anda di akhir pesan, contoh: /daftar PIN 123456"
    assert snap(store, complaint.ticket) == before


def test_an_admin_over_sms_acts_on_any_agencys_complaint_with_the_pin_in_the_same_sms(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answer = say(store, ADMIN_SMS, f"/alihkan {d} DLH-3404 PIN {PIN}")
    assert answer.startswith(f"Tiket {d} dialihkan ke Dinas Lingkungan Hidup")
    with session_scope(store) as session:
        event = complaint_store.complaint_history(session, complaint.id)[-1]
        assert (event.kind, event.actor_officer_id) == ("rerouted", world.national_admin_id)
        assert event.note == "dialihkan dari PUPR-3404 ke DLH-3404"


def test_the_pin_may_lead_the_sms_too(store, world):
    complaint = filed(store)
    answer = say(store, SUPERVISOR_SMS, f"pin {PIN} /status {complaint.ticket} diteruskan")
    assert answer.endswith("kini DITERUSKAN. Pelapor sudah diberi tahu.")


def test_a_pin_typed_in_a_message_is_neither_stored_nor_relayed(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answer = say(store, SUPERVISOR_SMS, f"/balas {d} Tim kami datang besok PIN {PIN}")
    assert answer == f"Pesan Anda untuk pelapor {d} sudah dikirim (hanya untuk pelapor, tidak dipublikasikan)."
    with session_scope(store) as session:
        stored = session.exec(select(Message.text).where(col(Message.text).contains(PIN))).all()
        assert stored == []
        [inbound_text] = [m.text for m in message_store.messages_for_urn(session, SUPERVISOR_SMS) if m.direction == "in"]
        assert inbound_text == f"/balas {d} Tim kami datang besok PIN ••••"
        notes = session.exec(select(ComplaintEvent.note).where(ComplaintEvent.complaint_id == complaint.id)).all()
        assert "Tim kami datang besok" in notes and not any(PIN in (n or "") for n in notes)
        assert "Tim kami datang besok" in outbound_text(session, CITIZEN_URN)
        assert "PIN" not in outbound_text(session, CITIZEN_URN)


def test_a_pin_from_a_deactivated_officers_address_is_still_redacted(store, world):
    with session_scope(store) as session:
        officer_store.set_officer_active(session, world.pupr_supervisor_id, False)
        message = inbound(session, SUPERVISOR_SMS, f"/daftar PIN {PIN}")
        assert (message.text, message.pin_check) == ("/daftar PIN ••••", None)
        assert officer_store.officer_of_urn(session, message.urn_id) is None


def test_a_wrong_pin_is_refused_counted_and_changes_nothing(store, world):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    answer = say(store, SUPERVISOR_SMS, f"/status {complaint.ticket} ditolak spam PIN 111222")
    assert answer == "PIN salah; perintah tidak dijalankan. Sisa 4 kali percobaan sebelum dikunci."
    assert snap(store, complaint.ticket) == before
    assert officer_row(store, world.pupr_supervisor_id).pin_failures == 1


def test_the_right_pin_clears_the_count_of_wrong_ones(store, world):
    filed(store)
    for _ in range(3):
        say(store, SUPERVISOR_SMS, "/daftar PIN 111222")
    assert officer_row(store, world.pupr_supervisor_id).pin_failures == 3
    assert say(store, SUPERVISOR_SMS, f"/daftar PIN {PIN}").startswith("Laporan terbuka")
    assert officer_row(store, world.pupr_supervisor_id).pin_failures == 0


def test_five_wrong_pins_lock_pin_commands_and_alert_supervisors_and_admins(engine, world_on_both):
    world = world_on_both
    complaint = filed(engine)
    answers = [say(engine, SUPERVISOR_SMS, f"/daftar PIN 11122{n}") for n in range(5)]
    assert answers[-1] == "PIN salah 5 kali: perintah dengan PIN dikunci 30 menit. Atasan dan admin sudah diberi tahu."
    locked = officer_row(engine, world.pupr_supervisor_id)
    assert locked.pin_locked_until is not None and locked.pin_failures == 0
    # even the right PIN is refused while locked, and nothing it asks is done
    before = snap(engine, complaint.ticket)
    answer = say(engine, SUPERVISOR_SMS, f"/status {complaint.ticket} ditolak spam PIN {PIN}")
    assert answer.startswith("Perintah dengan PIN sedang dikunci")
    assert snap(engine, complaint.ticket) == before
    # the supervisor on their other addresses and the national admin are alerted, once
    with session_scope(engine) as session:
        for urn in (PUPR_SUPERVISOR_URN, SUPERVISOR_WHATSAPP, NATIONAL_ADMIN_URN):
            [alert] = [m for m in outbound(session, urn) if m.kind == MessageKind.security.value]
            assert alert.text.startswith("PERINGATAN KEAMANAN: PIN salah 5 kali dari sms:")
            assert "+6281300000002" not in alert.text  # the address is redacted
        assert [m for m in outbound(session, PUPR_OFFICER_URN) if m.kind == MessageKind.security.value] == []
    # the lock lifts by itself
    with session_scope(engine) as session:
        row = session.get(Officer, world.pupr_supervisor_id)
        row.pin_locked_until = NOW - timedelta(minutes=1)
        session.add(row)
    assert say(engine, SUPERVISOR_SMS, f"/daftar PIN {PIN}").startswith("Laporan terbuka")


# issue 26: a forged SMS "from" an officer's number could write to a reporter in the agency's name,
# reject or reroute. Every write over SMS needs the PIN, whatever the role; reads stay PIN-free.
OFFICER_WRITES = ["/balas {t} Tim kami datang besok", "/status {t} ditolak spam", "/alihkan {t} DLH-3404", "REPLY"]


def _officer_write(engine, complaint, command: str, suffix: str = "") -> str:
    """An officer's write over SMS: a command, or (REPLY) a plain reply to the new-complaint notification."""
    if command == "REPLY":
        notification = _notification(engine, OFFICER_SMS, MessageKind.new_complaint)
        return say(engine, OFFICER_SMS, "Tim kami datang besok" + suffix, reply_to_id=notification)
    return say(engine, OFFICER_SMS, command.format(t=format_ticket(complaint.ticket)) + suffix)


@pytest.mark.parametrize("command", OFFICER_WRITES)
def test_an_officer_without_a_pin_cannot_write_over_sms_and_is_told_how_to_get_one(store, world, command):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    answer = _officer_write(store, complaint, command)
    assert answer == (
        "Perintah ini lewat SMS perlu PIN, dan Anda belum punya PIN: perintah tidak dijalankan. Minta admin "
        f"Aduan membuatkannya (aduan officer pin --officer {world.pupr_officer_id}), lalu tulis PIN di "
        "akhir pesan: /status 1234-5678 diproses PIN 123456. Lewat Telegram atau WhatsApp tanpa PIN."
    )
    assert snap(store, complaint.ticket) == before  # no event, no status, nothing queued for the reporter


@pytest.mark.parametrize("command", OFFICER_WRITES)
def test_an_officers_write_over_sms_needs_the_pin_in_the_same_sms(store, world, command):
    with session_scope(store) as session:
        officer_store.set_officer_pin(session, world.pupr_officer_id, pins.hash_pin(PIN))
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    answer = _officer_write(store, complaint, command)
    assert answer == (
        "Perintah yang mengubah laporan atau menjawab pelapor lewat SMS perlu PIN Anda di akhir pesan, "
        "contoh: /status 1234-5678 diproses PIN 123456"
    )
    assert snap(store, complaint.ticket) == before
    assert _officer_write(store, complaint, command, " PIN 111222").startswith("PIN salah")
    assert snap(store, complaint.ticket) == before
    done = _officer_write(store, complaint, command, f" PIN {PIN}")
    assert done.startswith(f"Tiket {format_ticket(complaint.ticket)}") or done.startswith("Pesan Anda untuk pelapor")
    assert snap(store, complaint.ticket) != before
    with session_scope(store) as session:
        assert PIN not in outbound_text(session, CITIZEN_URN)
    assert officer_row(store, world.pupr_officer_id).pin_failures == 0


@pytest.mark.parametrize("command", ["/daftar", "/tiket {t}", "/bantuan"])
def test_an_officers_reads_over_sms_need_no_pin(store, world, command):
    complaint = filed(store)
    answer = say(store, OFFICER_SMS, command.format(t=format_ticket(complaint.ticket)))
    assert answer.startswith(("Laporan terbuka", f"Tiket {format_ticket(complaint.ticket)}", "Perintah petugas:"))


def test_five_wrong_pins_lock_an_officers_writes_over_sms_and_alert_the_supervisors(store, world):
    with session_scope(store) as session:
        officer_store.set_officer_pin(session, world.pupr_officer_id, pins.hash_pin(PIN))
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answers = [say(store, OFFICER_SMS, f"/status {d} diteruskan PIN 11122{n}") for n in range(5)]
    assert answers[-1].startswith("PIN salah 5 kali: perintah dengan PIN dikunci 30 menit.")
    assert say(store, OFFICER_SMS, f"/status {d} diteruskan PIN {PIN}").startswith("Perintah dengan PIN sedang dikunci")
    assert say(store, OFFICER_SMS, f"/status {d} diteruskan").startswith("Perintah dengan PIN sedang dikunci")
    assert status_of(store, complaint.ticket) == "diterima"
    with session_scope(store) as session:
        [alert] = [m for m in outbound(session, PUPR_SUPERVISOR_URN) if m.kind == MessageKind.security.value]
        assert alert.text.startswith("PERINGATAN KEAMANAN: PIN salah 5 kali dari sms:")
    assert say(store, OFFICER_SMS, "/daftar").startswith("Laporan terbuka")  # reads stay open


@pytest.mark.parametrize("urn", [PUPR_SUPERVISOR_URN, SUPERVISOR_WHATSAPP, NATIONAL_ADMIN_URN])
def test_supervisors_and_admins_need_no_pin_on_telegram_and_whatsapp(store, world, urn):
    complaint = filed(store)
    assert say(store, urn, f"/status {complaint.ticket} diteruskan").endswith("kini DITERUSKAN. Pelapor sudah diberi tahu.")


def test_bantuan_over_sms_needs_no_pin(store, world):
    assert say(store, ADMIN_SMS, "/bantuan").startswith("Perintah petugas:")


def test_a_supervisor_without_a_pin_is_told_to_get_one(store, world):
    with session_scope(store) as session:
        officer_store.set_officer_pin(session, world.pupr_supervisor_id, None)
    expected = (
        "Perintah ini lewat SMS perlu PIN, dan Anda belum punya PIN: perintah tidak dijalankan. Minta admin "
        f"Aduan membuatkannya (aduan officer pin --officer {world.pupr_supervisor_id}), lalu tulis PIN di "
        "akhir pesan: /status 1234-5678 diproses PIN 123456. Lewat Telegram atau WhatsApp tanpa PIN."
    )
    assert say(store, SUPERVISOR_SMS, "/daftar") == expected
    assert say(store, SUPERVISOR_SMS, f"/daftar PIN {PIN}") == expected


def test_a_pin_is_kept_as_a_salted_slow_hash():
    first, second = pins.hash_pin(PIN), pins.hash_pin(PIN)
    assert first != second and first.startswith("scrypt$") and PIN not in first
    assert pins.verify_pin(PIN, first) and not pins.verify_pin("482914", first)


@pytest.mark.parametrize("weak", ["12345", "111111", "123456", "987654", "12 3456", "abcdef", "１２３４５６"])
def test_weak_or_malformed_pins_are_refused(weak):
    with pytest.raises(pins.WeakPin):
        pins.check_strength(weak)


# ---------------------------------------------------------------- replies that are not relayed


def _notification(engine, urn: str, kind: MessageKind) -> int:
    with session_scope(engine) as session:
        return next(m.id for m in outbound(session, urn) if m.kind == kind.value)


def test_a_plain_reply_to_a_reminder_is_not_relayed_to_the_citizen(store, world):
    complaint = filed(store)
    with session_scope(store) as session:
        assert casework.run_clock(session, NOW).reminders == 1
    reminder = _notification(store, PUPR_OFFICER_URN, MessageKind.reminder)
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, "Siap, segera kami verifikasi", reply_to_id=reminder)
    d = format_ticket(complaint.ticket)
    assert answer == f"Balasan ke pesan ini tidak diteruskan ke pelapor. Untuk menjawab pelapor: /balas {d} <pesan>"
    assert snap(store, complaint.ticket) == before


def test_a_plain_reply_to_a_breach_alert_is_not_relayed_to_the_citizen(store, world):
    complaint = filed(store)
    with session_scope(store) as session:
        assert casework.run_clock(session, utc(2026, 12, 3, 3)).breaches == 1
    alert = _notification(store, PUPR_SUPERVISOR_URN, MessageKind.breach)
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_SUPERVISOR_URN, "Akan saya tegur timnya", reply_to_id=alert, now=utc(2026, 12, 3, 3))
    assert answer.startswith("Balasan ke pesan ini tidak diteruskan ke pelapor.")
    assert snap(store, complaint.ticket) == before


def test_a_plain_reply_to_a_commands_answer_is_not_relayed(store, world):
    complaint = filed(store)
    with session_scope(store) as session:  # as the gateway answers a command: the answer replies to it
        message = inbound(session, PUPR_OFFICER_URN, f"/tiket {complaint.ticket}")
        contact = session.get(ContactUrn, message.urn_id)
        officer = officer_store.officer_of_urn(session, contact.id)
        [answered, *_] = Conversations._officer_turn(session, message, contact, officer)
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, "Terima kasih", reply_to_id=answered)
    assert answer == "Balasan ke pesan ini tidak diteruskan ke pelapor. Untuk menjawab pelapor: /balas <tiket> <pesan>"
    assert snap(store, complaint.ticket) == before


def test_a_command_in_reply_to_a_reminder_names_its_ticket(store, world):
    complaint = filed(store)
    with session_scope(store) as session:
        casework.run_clock(session, NOW)
    reminder = _notification(store, PUPR_OFFICER_URN, MessageKind.reminder)
    answer = say(store, PUPR_OFFICER_URN, "/status diteruskan", reply_to_id=reminder)
    assert answer.endswith("kini DITERUSKAN. Pelapor sudah diberi tahu.")
    assert status_of(store, complaint.ticket) == "diteruskan"


def test_notifications_record_what_kind_of_message_they_are(store, world):
    complaint = filed(store)
    with session_scope(store) as session:
        casework.relay_citizen_answer(session, complaint_store.get_complaint(session, complaint.ticket), "Di depan pasar")
        casework.run_clock(session, NOW)
        kinds = [m.kind for m in outbound(session, PUPR_OFFICER_URN)]
    assert kinds == ["new_complaint", "citizen_answer", "reminder"]


# ---------------------------------------------------------------- revocation and the CLI


def run_cli(sqlite_url: str, *argv: str, stdin: str | None = None, monkeypatch=None, **env) -> None:
    settings = Settings(DATABASE_URL=sqlite_url, **env)
    args = cli.build_parser().parse_args(list(argv))
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    handler = {
        "token": cli_officers.officer_token, "urn": cli_officers.officer_urn, "pin": cli_officers.officer_pin,
        "add": cli_officers.officer_add, "deactivate": cli_officers.officer_active, "reactivate": cli_officers.officer_active,
        "list": cli_officers.officer_list,
    }[args.action]
    handler(settings, args)


def test_the_pin_is_read_from_stdin_and_never_from_the_command_line(sqlite_url, store, world, monkeypatch, capsys):
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["officer", "pin", "--officer", "1", "--pin", PIN])
    run_cli(sqlite_url, "officer", "pin", "--officer", str(world.pupr_officer_id), stdin="640172\n", monkeypatch=monkeypatch)
    assert "640172" not in capsys.readouterr().out
    stored = officer_row(store, world.pupr_officer_id).pin_hash
    assert pins.verify_pin("640172", stored)


def test_a_weak_pin_is_refused_by_the_cli_and_the_old_one_kept(sqlite_url, store, world, monkeypatch):
    with pytest.raises(SystemExit, match="PIN refused"):
        run_cli(sqlite_url, "officer", "pin", "--officer", str(world.national_admin_id), stdin="123456\n", monkeypatch=monkeypatch)
    assert pins.verify_pin(PIN, officer_row(store, world.national_admin_id).pin_hash)


def _active_tokens(engine, officer_id: int) -> int:
    with session_scope(engine) as session:
        return session.exec(
            select(func.count()).select_from(ApiToken).where(ApiToken.officer_id == officer_id, col(ApiToken.revoked_at).is_(None))
        ).one()


def test_one_token_is_revoked_by_its_prefix_and_all_without_one(sqlite_url, store, world, capsys):
    with session_scope(store) as session:
        first = officer_store.issue_token(session, world.pupr_officer_id)
        second = officer_store.issue_token(session, world.pupr_officer_id)
    run_cli(sqlite_url, "officer", "token", "--officer", str(world.pupr_officer_id), "--revoke", first[:10])
    with session_scope(store) as session:
        assert officer_store.authenticate_token(session, first) is None
        assert officer_store.authenticate_token(session, second).id == world.pupr_officer_id
    run_cli(sqlite_url, "officer", "token", "--officer", str(world.pupr_officer_id), "--revoke")
    assert _active_tokens(store, world.pupr_officer_id) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"1 token(s) of officer {world.pupr_officer_id} revoked"


def test_a_deactivated_officer_is_no_officer_and_their_tokens_stop_working(sqlite_url, store, world):
    with session_scope(store) as session:
        token = officer_store.issue_token(session, world.pupr_officer_id)
    run_cli(sqlite_url, "officer", "deactivate", "--officer", str(world.pupr_officer_id))
    with session_scope(store) as session:
        contact = contact_store.get_or_create_urn(session, PUPR_OFFICER_URN)
        assert officer_store.officer_of_urn(session, contact.id) is None
        assert officer_store.authenticate_token(session, token) is None
        assert PUPR_OFFICER_URN not in [c.urn for c in officer_store.officer_contacts(session, world.pupr_id)]
    run_cli(sqlite_url, "officer", "reactivate", "--officer", str(world.pupr_officer_id))
    with session_scope(store) as session:
        assert officer_store.officer_of_urn(session, contact.id).id == world.pupr_officer_id
        assert officer_store.authenticate_token(session, token) is None  # revoked for good


def test_a_removed_address_is_no_longer_an_officers(sqlite_url, store, world):
    run_cli(sqlite_url, "officer", "urn", "--officer", str(world.pupr_supervisor_id), "--remove", SUPERVISOR_SMS)
    with session_scope(store) as session:
        contact = contact_store.get_or_create_urn(session, SUPERVISOR_SMS)
        assert officer_store.officer_of_urn(session, contact.id) is None
        kept = contact_store.get_or_create_urn(session, PUPR_SUPERVISOR_URN)
        assert officer_store.officer_of_urn(session, kept.id).id == world.pupr_supervisor_id
    with pytest.raises(SystemExit, match="does not work on"):
        run_cli(sqlite_url, "officer", "urn", "--officer", str(world.pupr_supervisor_id), "--remove", SUPERVISOR_SMS)


# ---------------------------------------------------------------- simulator addresses


@pytest.mark.parametrize(
    "argv",
    [
        ("officer", "add", "--name", "Budi", "--agency", "PUPR-3404", "--urn", "sim-telegram:1234"),
        ("officer", "urn", "--officer", "1", "--urn", "sim-sms:+6281234500001"),
    ],
)
def test_the_cli_refuses_simulator_addresses_while_the_simulator_is_off(sqlite_url, store, world, argv):
    with session_scope(store) as session:
        officers = len(officer_store.list_officers(session))
    with pytest.raises(SystemExit, match="simulator is off"):
        run_cli(sqlite_url, *argv, PUBLIC_BASE_URL="https://aduan.example.go.id")
    with session_scope(store) as session:
        assert len(officer_store.list_officers(session)) == officers
        assert not officer_store.officer_urn_taken(session, argv[-1])


def test_the_cli_takes_simulator_addresses_while_the_simulator_is_on(sqlite_url, store, world):
    run_cli(sqlite_url, "officer", "urn", "--officer", str(world.dlh_officer_id), "--urn", "sim-telegram:2002")
    with session_scope(store) as session:
        assert officer_store.officer_urn_taken(session, "sim-telegram:2002")


def test_a_simulator_officer_address_cannot_send_while_the_simulator_is_off(sqlite_url, store, world):
    settings = Settings(
        DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t", PUBLIC_BASE_URL="https://aduan.example.go.id"
    )
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/simulator/messages", json={"channel": "telegram", "sender": NATIONAL_ADMIN_URN.split(":")[1], "text": "/daftar"}
        )
    assert response.status_code == 404
    with session_scope(store) as session:
        assert message_store.messages_for_urn(session, NATIONAL_ADMIN_URN) == []


def test_through_the_gateway_an_admins_sms_pin_is_checked_and_redacted_before_it_is_stored(sqlite_url, store, world):
    admin_sim_sms = "sim-sms:+6281300000019"
    with session_scope(store) as session:
        officer_store.add_officer_urn(session, world.national_admin_id, admin_sim_sms)
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings)) as client:
        def send(text: str) -> list[str]:
            body = {"channel": "sms", "sender": "+6281300000019", "text": text}
            return client.post("/simulator/messages", json=body).json()["replies"]

        assert send("/daftar") == ["Perintah lewat SMS perlu PIN Anda di akhir pesan, contoh: /daftar PIN 123456"]
        assert send(f"/daftar PIN {PIN}") == ["Tidak ada laporan terbuka di antrean Anda."]
        assert send("/daftar PIN 000111")[0].startswith("PIN salah")
    with session_scope(store) as session:
        stored = [m.text for m in message_store.messages_for_urn(session, admin_sim_sms) if m.direction == "in"]
    assert stored == ["/daftar", "/daftar PIN ••••", "/daftar PIN ••••"]
