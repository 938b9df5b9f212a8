"""The officers' side of the bot (bot/officer_desk.py, issue #5): commands, replies to notifications,
authorisation by agency, and the reporter's privacy. Each officer message is handled as the gateway
does it: an inbound Message on the officer's address, ``officer_desk.handle`` in one transaction.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot import casework, deadlines, officer_desk
from bot.desk_texts import HELP
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import officers as officer_store
from storage.db import session_scope
from storage.tickets import format_ticket
from tests.casework_support import (
    CITIZEN_DIGITS,
    CITIZEN_URN,
    DLH_NAME,
    DLH_OFFICER_URN,
    NATIONAL_ADMIN_URN,
    OFFICER_NAME,
    PUPR_INACTIVE_URN,
    PUPR_NAME,
    PUPR_OFFICER_URN,
    PUPR_OFFICER_URN_2,
    alerts,
    build_world,
    events,
    file,
    inbound,
    outbound,
    outbound_text,
    pushes,
    snapshot,
    utc,
)

NOW = utc(2026, 12, 1, 3)  # Tuesday 1 Dec 2026, 10.00 WIB
DESCRIPTION = "Jalan berlubang besar di depan pasar Mlati"


@pytest.fixture
def world(store):
    with session_scope(store) as session:
        return build_world(session)


def say(engine, urn: str, text: str, *, now=NOW, reply_to_id: int | None = None) -> str:
    """An officer's message, handled as the gateway handles it; returns the answer to the officer."""
    with session_scope(engine) as session:
        message = inbound(session, urn, text, reply_to_id)
        officer = officer_store.officer_of_urn(session, message.urn_id)
        assert officer is not None, f"{urn} is not an officer's address"
        return officer_desk.handle(session, officer, message, now)


def filed(engine, announce: bool = True, **overrides):
    with session_scope(engine) as session:
        complaint = file(session, **overrides)
        if announce:
            casework.announce_new_complaint(session, complaint)
        return complaint


def state(engine, ticket: str):
    with session_scope(engine) as session:
        return complaint_store.get_complaint(session, ticket)


def last_event(engine, complaint):
    with session_scope(engine) as session:
        return events(session, complaint.id)[-1]


def citizen_text(engine) -> str:
    with session_scope(engine) as session:
        return outbound_text(session, CITIZEN_URN)


def snap(engine, ticket: str) -> dict:
    with session_scope(engine) as session:
        return snapshot(session, ticket)


def notification_of(engine, urn: str, complaint) -> int:
    with session_scope(engine) as session:
        return next(m.id for m in outbound(session, urn) if m.complaint_id == complaint.id)


def mistyped(ticket: str) -> str:
    return ticket[:-1] + str((int(ticket[-1]) + 1) % 10)


# ---------------------------------------------------------------- forgiving commands


@pytest.mark.parametrize(
    "form",
    [
        "/status {display} diteruskan",
        "STATUS {digits} DITERUSKAN",
        "  status   {head} {tail}    diteruskan  ",
        "/Status@aduan_bot #{digits} Diteruskan",
        "status #{display} teruskan",
        "/status {head}.{tail} verifikasi",
    ],
)
def test_status_commands_are_forgiving_of_how_they_are_written(store, world, form):
    complaint = filed(store)
    t = complaint.ticket
    text = form.format(display=format_ticket(t), digits=t, head=t[:4], tail=t[4:])
    answer = say(store, PUPR_OFFICER_URN, text)
    assert answer == f"Tiket {format_ticket(t)} kini DITERUSKAN. Pelapor sudah diberi tahu."
    complaint = state(store, t)
    assert complaint.status == "diteruskan"
    assert (complaint.followup_due, complaint.resolve_due) == (date(2026, 12, 8), date(2026, 12, 31))


@pytest.mark.parametrize("form", ["/tiket {display}", "TIKET #{digits}", "tiket {head} {tail}", "  Tiket   #{display} "])
def test_ticket_commands_are_forgiving_of_how_they_are_written(store, world, form):
    complaint = filed(store)
    t = complaint.ticket
    answer = say(store, PUPR_OFFICER_URN, form.format(display=format_ticket(t), digits=t, head=t[:4], tail=t[4:]))
    assert answer.startswith(f"Tiket {format_ticket(t)} - DITERIMA - {PUPR_NAME}")


def test_the_local_date_of_the_agency_starts_its_clock(store, world):
    complaint = filed(store, today=date(2026, 12, 17))
    # 17 Dec 20.00 UTC is already Friday 18 Dec in Yogyakarta (WIB)
    say(store, PUPR_OFFICER_URN, f"/status {complaint.ticket} diteruskan", now=utc(2026, 12, 17, 20))
    # Mon 21, Tue 22, Wed 23, Thu 24, (Christmas, weekend), Mon 28
    assert state(store, complaint.ticket).followup_due == date(2026, 12, 28)


# ---------------------------------------------------------------- /status


def test_an_officer_takes_a_complaint_through_its_statuses(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    assert say(store, PUPR_OFFICER_URN, f"/status {d} diteruskan").endswith("kini DITERUSKAN. Pelapor sudah diberi tahu.")
    assert say(store, PUPR_OFFICER_URN_2, f"/status {d} proses Tim sudah dijadwalkan").endswith(
        "kini DIPROSES. Pelapor sudah diberi tahu.\nCatatan ini PUBLIK (tampil di halaman tiket, data pribadi disamarkan): "
        "Tim sudah dijadwalkan"
    )
    assert "kini SELESAI. Pelapor sudah diberi tahu." in say(store, PUPR_OFFICER_URN, f"/status {d} selesai Lubang sudah ditambal")
    with session_scope(store) as session:
        history = events(session, complaint.id)
        assert [(e.kind, e.from_status, e.to_status, e.actor_type, e.actor_officer_id, e.note) for e in history] == [
            ("filed", None, "diterima", "citizen", None, None),
            ("status", "diterima", "diteruskan", "officer", world.pupr_officer_id, None),
            ("status", "diteruskan", "diproses", "officer", world.pupr_officer_id, "Tim sudah dijadwalkan"),
            ("status", "diproses", "selesai", "officer", world.pupr_officer_id, "Lubang sudah ditambal"),
        ]
        assert pushes(session) == [
            ("EXTERNAL_status_changed", {"ticket": complaint.ticket}),
            ("EXTERNAL_status_changed", {"ticket": complaint.ticket}),
            ("EXTERNAL_resolution_check", {"ticket": complaint.ticket}),
        ]
        to_citizen = outbound(session, CITIZEN_URN)
        assert all(m.complaint_id == complaint.id for m in to_citizen)
    text = citizen_text(store)
    assert text.count(d) >= 3 and text.count(PUPR_NAME) >= 3
    assert "Tim sudah dijadwalkan" in text and "Lubang sudah ditambal" in text and "SELESAI" in text


def test_ditolak_without_a_reason_is_refused_and_changes_nothing(store, world):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    for text in (f"/status {complaint.ticket} ditolak", f"/status {complaint.ticket} ditolak    "):
        answer = say(store, PUPR_OFFICER_URN, text)
        assert answer == "Penolakan wajib disertai alasan: /status <tiket> ditolak <alasan>."
    assert snap(store, complaint.ticket) == before


def test_ditolak_with_a_reason_tells_the_citizen_the_reason(store, world):
    complaint = filed(store)
    answer = say(store, PUPR_OFFICER_URN, f"/status {complaint.ticket} tolak Laporan ganda, lihat tiket lain")
    assert "kini DITOLAK" in answer
    complaint = state(store, complaint.ticket)
    assert complaint.status == "ditolak" and complaint.closed_at is not None
    event = last_event(store, complaint)
    assert (event.to_status, event.note, event.actor_officer_id) == ("ditolak", "Laporan ganda, lihat tiket lain", world.pupr_officer_id)
    assert f"Tiket {format_ticket(complaint.ticket)} DITOLAK oleh {PUPR_NAME}. Alasan: Laporan ganda, lihat tiket lain" in citizen_text(store)


@pytest.mark.parametrize(
    "steps, command, expected",
    [
        ([], "selesai", "berstatus DITERIMA: hanya bisa diubah ke diteruskan, diproses atau ditolak."),
        (["diteruskan"], "diteruskan", "sudah berstatus DITERUSKAN."),
        (["diteruskan", "diproses"], "diteruskan", "berstatus DIPROSES: hanya bisa diubah ke selesai atau ditolak."),
        (["diteruskan", "selesai"], "diproses", "sudah SELESAI; statusnya tidak bisa diubah lagi."),
        (["ditolak spam"], "diproses", "sudah DITOLAK; statusnya tidak bisa diubah lagi."),
        ([], "ditutup", "Status 'ditutup' tidak dikenal."),
        ([], "hilang", "Status 'hilang' tidak dikenal."),
    ],
)
def test_an_invalid_status_change_is_refused_with_a_clear_answer_and_changes_nothing(store, world, steps, command, expected):
    complaint = filed(store)
    for step in steps:
        say(store, PUPR_OFFICER_URN, f"/status {complaint.ticket} {step}")
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, f"/status {complaint.ticket} {command}")
    assert expected in answer
    assert snap(store, complaint.ticket) == before


@pytest.mark.parametrize(
    "command, expected",
    [
        ("/status {digits}", "Cara pakai: /status <tiket>"),
        ("/status diproses", "Cara pakai: /status <tiket>"),  # no ticket, not a reply to a notification
        ("/tiket", "Cara pakai: /tiket <tiket>"),
        ("/balas halo", "Cara pakai: /balas <tiket> <pesan>"),
        ("/alihkan {digits}", "Cara pakai: /alihkan <tiket>"),
        ("/tiket {mistyped}", "bukan nomor tiket yang valid"),
        ("/status {mistyped} diproses", "bukan nomor tiket yang valid"),
        ("/tiket 1234-5671", "Tiket 1234-5671 tidak ada di antrean instansi Anda."),  # valid, not filed
    ],
)
def test_incomplete_or_mistyped_commands_are_explained_and_change_nothing(store, world, command, expected):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, command.format(digits=complaint.ticket, mistyped=mistyped(complaint.ticket)))
    assert expected in answer
    assert snap(store, complaint.ticket) == before


# ---------------------------------------------------------------- /tiket and /daftar


def test_tiket_shows_the_complaint_its_history_and_deadlines(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    say(store, PUPR_OFFICER_URN, f"/status {d} diteruskan")
    answer = say(store, PUPR_OFFICER_URN, f"/tiket {d}")
    lines = answer.split("\n")
    assert lines[0] == f"Tiket {d} - DITERUSKAN - {PUPR_NAME}"
    for part in ("Kategori: Jalan & fasilitas umum", "Mlati", DESCRIPTION, f"Pelapor: {CITIZEN_URN}", "Riwayat:"):
        assert part in answer, part
    [deadlines] = [line for line in lines if line.startswith("Tenggat: ")]
    assert "tindak lanjut pertama" in deadlines and "8 Des 2026" in deadlines
    assert "target penyelesaian" in deadlines and "31 Des 2026" in deadlines
    assert "verifikasi" not in deadlines  # met by forwarding
    history = lines[lines.index("Riwayat:") + 1:]
    assert len(history) == 2
    assert "dilaporkan (pelapor)" in history[0]
    assert f"DITERUSKAN ({OFFICER_NAME})" in history[1]  # who did it, by name

    say(store, PUPR_OFFICER_URN, f"/balas {d} Mohon kirim foto")  # the agency's first follow-up
    lines = say(store, PUPR_OFFICER_URN, f"/tiket {d}").split("\n")
    [deadlines] = [line for line in lines if line.startswith("Tenggat: ")]
    assert "tindak lanjut pertama" not in deadlines and "31 Des 2026" in deadlines
    assert f"pesan ke pelapor ({OFFICER_NAME}): Mohon kirim foto" in lines[-1]


def test_tiket_marks_a_breached_deadline(store, world):
    complaint = filed(store)
    with session_scope(store) as session:
        casework.run_clock(session, utc(2026, 12, 3, 3))  # verification was due 2 Dec
    answer = say(store, PUPR_OFFICER_URN, f"/tiket {complaint.ticket}", now=utc(2026, 12, 3, 4))
    assert "TERLEWATI: verifikasi" in answer
    assert "tenggat terlewati (sistem)" in answer


def test_daftar_lists_the_open_complaints_of_the_agency_nearest_deadline_first(store, world):
    later = filed(store)  # verification due Wed 2 Dec
    earliest = filed(store, today=date(2026, 11, 20))  # verification due Wed 25 Nov
    latest = filed(store, today=date(2026, 11, 20))
    say(store, PUPR_OFFICER_URN, f"/status {latest.ticket} diteruskan")  # follow-up due Tue 8 Dec
    rejected = filed(store)
    say(store, PUPR_OFFICER_URN, f"/status {rejected.ticket} ditolak duplikat")
    elsewhere = filed(store, category="lingkungan", description="Sampah menumpuk")
    with session_scope(store) as session:
        casework.run_clock(session, utc(2026, 11, 26, 3))  # the earliest one is breached
    answer = say(store, PUPR_OFFICER_URN, "/daftar")
    lines = answer.split("\n")
    assert lines[0] == "Laporan terbuka (tenggat terdekat dulu):"
    assert [line[:9] for line in lines[1:]] == [format_ticket(c.ticket) for c in (earliest, later, latest)]
    assert "TERLEWATI" in lines[1] and "TERLEWATI" not in lines[2] + lines[3]
    assert "verifikasi" in lines[1] and "tindak lanjut pertama" in lines[3]
    assert format_ticket(rejected.ticket) not in answer and format_ticket(elsewhere.ticket) not in answer
    assert say(store, DLH_OFFICER_URN, "daftar").split("\n")[1].startswith(format_ticket(elsewhere.ticket))


def test_a_shorter_daftar_is_the_head_of_the_longer_one(store, world):
    """The list reads only the nearest of each deadline from the store; any length gives the same order."""
    for day in (20, 23, 24, 25, 26, 27):
        filed(store, today=date(2026, 11, day))
    third = filed(store, today=date(2026, 11, 24))
    say(store, PUPR_OFFICER_URN, f"/status {third.ticket} diteruskan")
    say(store, PUPR_OFFICER_URN, f"/balas {third.ticket} Kami cek")  # followed up: only its resolution runs
    with session_scope(store) as session:
        everything = [c.id for c in deadlines.agency_queue(session, world.pupr_id, limit=100)]
        assert len(everything) == 7
        for limit in range(1, 8):
            assert [c.id for c in deadlines.agency_queue(session, world.pupr_id, limit=limit)] == everything[:limit]


def test_daftar_with_nothing_open(store, world):
    assert say(store, DLH_OFFICER_URN, "/DAFTAR") == "Tidak ada laporan terbuka di antrean Anda."


# ---------------------------------------------------------------- /balas and replies to notifications


def test_balas_sends_the_officers_message_to_the_reporter(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, f"/balas {d} Tim kami akan survei besok pagi")
    assert answer == f"Pesan Anda untuk pelapor {d} sudah dikirim (hanya untuk pelapor, tidak dipublikasikan)."
    text = citizen_text(store)
    assert "Tim kami akan survei besok pagi" in text and d in text and PUPR_NAME in text
    event = last_event(store, complaint)
    assert (event.kind, event.actor_type, event.actor_officer_id, event.note) == (
        "reply", "officer", world.pupr_officer_id, "Tim kami akan survei besok pagi",
    )
    with session_scope(store) as session:
        assert pushes(session) == [("EXTERNAL_officer_reply", {"ticket": complaint.ticket})]


def test_an_empty_balas_is_refused(store, world):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    assert say(store, PUPR_OFFICER_URN, f"/balas {complaint.ticket}   ") == "Pesannya kosong. Tulis: /balas <tiket> <pesan>."
    assert snap(store, complaint.ticket) == before


def test_balas_with_a_message_that_starts_with_a_number(store, world):
    """The ticket as the bot shows it (1234-5678), then a message that starts with a digit."""
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, f"/balas {d} 2 petugas sudah ke lokasi")
    assert answer == f"Pesan Anda untuk pelapor {d} sudah dikirim (hanya untuk pelapor, tidak dipublikasikan)."
    assert last_event(store, complaint).note == "2 petugas sudah ke lokasi"


def test_a_plain_reply_to_a_notification_goes_to_the_reporter(store, world):
    complaint = filed(store)
    notification = notification_of(store, PUPR_OFFICER_URN, complaint)
    answer = say(store, PUPR_OFFICER_URN, "Baik, kami cek besok pagi", reply_to_id=notification)
    assert answer == f"Pesan Anda untuk pelapor {format_ticket(complaint.ticket)} sudah dikirim (hanya untuk pelapor, tidak dipublikasikan)."
    assert "Baik, kami cek besok pagi" in citizen_text(store)
    event = last_event(store, complaint)
    assert (event.kind, event.actor_officer_id, event.note) == ("reply", world.pupr_officer_id, "Baik, kami cek besok pagi")


def test_a_command_replying_to_a_notification_needs_no_ticket(store, world):
    complaint = filed(store)
    notification = notification_of(store, PUPR_OFFICER_URN_2, complaint)
    answer = say(store, PUPR_OFFICER_URN_2, "/status diproses", reply_to_id=notification)
    assert answer.endswith("kini DIPROSES. Pelapor sudah diberi tahu.")
    assert state(store, complaint.ticket).status == "diproses"


def test_a_reply_to_a_relayed_answer_goes_to_the_reporter(store, world):
    complaint = filed(store, announce=False)
    with session_scope(store) as session:
        casework.relay_citizen_answer(session, complaint_store.get_complaint(session, complaint.ticket), "Di depan pasar")
    relayed = notification_of(store, PUPR_OFFICER_URN, complaint)
    say(store, PUPR_OFFICER_URN, "Terima kasih, kami ke sana", reply_to_id=relayed)
    assert "Terima kasih, kami ke sana" in citizen_text(store)


def test_a_reply_to_a_message_of_another_address_is_not_relayed(store, world):
    complaint = filed(store)
    someone_elses = notification_of(store, PUPR_OFFICER_URN, complaint)
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN_2, "Baik, kami cek", reply_to_id=someone_elses)
    assert answer.startswith("Perintah tidak dikenal.")
    assert snap(store, complaint.ticket) == before


@pytest.mark.parametrize("text", ["/hapus {digits}", "halo pak", "Laporan {digits} sudah kami cek", "/"])
def test_an_unknown_command_gets_help_and_changes_nothing(store, world, text):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, text.format(digits=complaint.ticket))
    assert answer == "Perintah tidak dikenal.\n" + HELP
    assert snap(store, complaint.ticket) == before


def test_bantuan_lists_the_commands(store, world):
    answer = say(store, PUPR_OFFICER_URN, "/bantuan")
    assert answer == HELP
    for command in ("/daftar", "/tiket", "/balas", "/status", "/alihkan"):
        assert command in answer


# ---------------------------------------------------------------- /alihkan


def test_alihkan_moves_the_complaint_and_notifies_the_other_agency(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, f"/alihkan {d} dlh-3404 sampah, bukan jalan")
    assert answer == f"Tiket {d} dialihkan ke {DLH_NAME}. Pelapor sudah diberi tahu."
    moved = state(store, complaint.ticket)
    assert moved.agency_id == world.dlh_id and moved.status == "diterima"
    event = last_event(store, complaint)
    assert (event.kind, event.actor_type, event.actor_officer_id) == ("rerouted", "officer", world.pupr_officer_id)
    assert event.note == "dialihkan dari PUPR-3404 ke DLH-3404: sampah, bukan jalan"
    with session_scope(store) as session:
        [notification] = outbound(session, DLH_OFFICER_URN)
        assert notification.text.startswith(f"Laporan baru {d} untuk {DLH_NAME}")
        assert DESCRIPTION in notification.text and notification.complaint_id == complaint.id
        assert pushes(session) == [("EXTERNAL_status_changed", {"ticket": complaint.ticket})]
    assert f"Tiket {d} dialihkan ke {DLH_NAME}" in citizen_text(store)
    # the new agency works on it; the old one no longer can
    assert say(store, DLH_OFFICER_URN, f"/status {d} diteruskan").endswith("kini DITERUSKAN. Pelapor sudah diberi tahu.")
    assert say(store, PUPR_OFFICER_URN, f"/tiket {d}") == f"Tiket {d} tidak ada di antrean instansi Anda."


def test_a_reply_to_the_old_notification_after_a_reroute_is_refused(store, world):
    complaint = filed(store)
    notification = notification_of(store, PUPR_OFFICER_URN, complaint)
    say(store, PUPR_OFFICER_URN, f"/alihkan {complaint.ticket} DLH-3404")
    before = snap(store, complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, "Kami sudah perbaiki", reply_to_id=notification)
    assert answer == f"Tiket {format_ticket(complaint.ticket)} tidak ada di antrean instansi Anda."
    assert snap(store, complaint.ticket) == before


@pytest.mark.parametrize(
    "target, expected",
    [("DINAS-ANTAH", "Instansi dengan kode 'DINAS-ANTAH' tidak ada."), ("pupr-3404", f"Laporan itu sudah di {PUPR_NAME}.")],
)
def test_alihkan_to_an_unknown_or_the_same_agency_is_refused(store, world, target, expected):
    complaint = filed(store)
    before = snap(store, complaint.ticket)
    assert say(store, PUPR_OFFICER_URN, f"/alihkan {complaint.ticket} {target}").startswith(expected)
    assert snap(store, complaint.ticket) == before


# ---------------------------------------------------------------- authorisation


@pytest.fixture
def world_on_both(engine):
    with session_scope(engine) as session:
        return build_world(session)


@pytest.mark.parametrize(
    "command",
    [
        "/tiket {display}",
        "/balas {display} Halo, kami dari DLH",
        "/status {display} diteruskan",
        "/status {display} ditolak bukan wewenang",
        "/alihkan {display} DLH-3404",
        "/alihkan {display} NASIONAL",
    ],
)
def test_an_officer_cannot_touch_another_agencys_complaint(engine, world_on_both, command):
    complaint = filed(engine)
    display = format_ticket(complaint.ticket)
    before = snap(engine, complaint.ticket)
    answer = say(engine, DLH_OFFICER_URN, command.format(display=display))
    assert answer == f"Tiket {display} tidak ada di antrean instansi Anda."
    assert snap(engine, complaint.ticket) == before
    with session_scope(engine) as session:
        assert outbound(session, CITIZEN_URN) == []


def test_a_not_in_queue_answer_is_the_same_for_another_agencys_ticket_and_a_missing_one(store, world):
    complaint = filed(store)
    other = say(store, DLH_OFFICER_URN, f"/tiket {complaint.ticket}")
    missing = say(store, DLH_OFFICER_URN, "/tiket 1234-5671")
    assert other.replace(format_ticket(complaint.ticket), "X") == missing.replace("1234-5671", "X")
    assert DESCRIPTION not in other


def test_an_admin_may_act_on_every_agencys_complaints(store, world):
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    assert DESCRIPTION in say(store, NATIONAL_ADMIN_URN, f"/tiket {d}")
    assert say(store, NATIONAL_ADMIN_URN, f"/status {d} diteruskan").endswith("kini DITERUSKAN. Pelapor sudah diberi tahu.")
    assert say(store, NATIONAL_ADMIN_URN, f"/balas {d} Sudah kami teruskan").endswith("sudah dikirim (hanya untuk pelapor, tidak dipublikasikan).")
    with session_scope(store) as session:
        history = events(session, complaint.id)
    assert [(e.kind, e.actor_type, e.actor_officer_id) for e in history[1:]] == [
        ("status", "officer", world.national_admin_id),
        ("reply", "officer", world.national_admin_id),
    ]
    assert say(store, NATIONAL_ADMIN_URN, f"/alihkan {d} DLH-3404").startswith(f"Tiket {d} dialihkan ke {DLH_NAME}")


def test_only_active_officers_addresses_are_officers(store, world):
    with session_scope(store) as session:
        citizen = contact_store.get_or_create_urn(session, CITIZEN_URN)
        inactive = contact_store.get_or_create_urn(session, PUPR_INACTIVE_URN)
        active = contact_store.get_or_create_urn(session, PUPR_OFFICER_URN_2)
        assert officer_store.officer_of_urn(session, citizen.id) is None
        assert officer_store.officer_of_urn(session, inactive.id) is None
        assert officer_store.officer_of_urn(session, active.id).id == world.pupr_officer_id
        assert [c.urn for c in officer_store.officer_contacts(session, world.pupr_id)] == sorted(
            ["sim-telegram:1001", "sim-telegram:1002", "sim-whatsapp:+6281300000001"]
        )


# ---------------------------------------------------------------- privacy


def test_an_anonymous_reporter_is_not_shown_by_tiket_nor_in_relayed_texts(store, world):
    complaint = filed(store, anonymous=True)
    d = format_ticket(complaint.ticket)
    say(store, PUPR_OFFICER_URN, f"/status {d} diteruskan")
    with session_scope(store) as session:
        casework.relay_citizen_answer(session, complaint_store.get_complaint(session, complaint.ticket), "Masih rusak")
    answers = [say(store, PUPR_OFFICER_URN, f"/tiket {d}"), say(store, PUPR_OFFICER_URN, "/daftar")]
    assert "Pelapor: anonim" in answers[0]
    with session_scope(store) as session:
        texts = [m.text for m in outbound(session, PUPR_OFFICER_URN)]
    assert len(texts) == 2  # the notification and the relayed answer
    for text in answers + texts:
        assert CITIZEN_DIGITS not in text and CITIZEN_URN not in text, text


def test_a_reporter_who_is_not_anonymous_is_shown_to_the_agency(store, world):
    complaint = filed(store)
    with session_scope(store) as session:
        assert f"Pelapor: {CITIZEN_URN}" in outbound(session, PUPR_OFFICER_URN)[0].text
    assert f"Pelapor: {CITIZEN_URN}" in say(store, PUPR_OFFICER_URN, f"/tiket {complaint.ticket}")


def test_a_refused_command_leaves_the_deadline_alerts_alone(store, world):
    """A refused command on a breached complaint: the deadline alerts stay as they were."""
    complaint = filed(store)
    with session_scope(store) as session:
        casework.run_clock(session, utc(2026, 12, 3, 3))
        assert alerts(session, complaint.id) == [("verify", "breach")]
    before = snap(store, complaint.ticket)
    say(store, DLH_OFFICER_URN, f"/status {complaint.ticket} diteruskan")
    assert snap(store, complaint.ticket) == before
