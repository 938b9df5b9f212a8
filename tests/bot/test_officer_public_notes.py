"""Officers are told which of what they write is public (issue #26): a /status note goes, masked,
on the ticket's public page and Open311; a /balas message is for the reporter alone."""

from __future__ import annotations

from bot.desk_texts import HELP
from storage.tickets import format_ticket
from tests.bot.test_officer_desk import filed, say, world  # noqa: F401  (the fixture)
from tests.casework_support import PUPR_OFFICER_URN


def test_a_status_note_is_quoted_back_as_public_and_masked(store, world):  # noqa: F811
    complaint = filed(store)
    d = format_ticket(complaint.ticket)
    answer = say(store, PUPR_OFFICER_URN, f"/status {d} ditolak Di luar kewenangan, hubungi 081299887766")
    assert "Catatan ini PUBLIK" in answer and "Di luar kewenangan, hubungi" in answer
    assert "081299887766" not in answer  # what the public reads, not what was written


def test_a_status_change_without_a_note_says_nothing_of_a_public_note(store, world):  # noqa: F811
    complaint = filed(store)
    answer = say(store, PUPR_OFFICER_URN, f"/status {format_ticket(complaint.ticket)} diteruskan")
    assert "PUBLIK" not in answer


def test_a_reply_is_said_to_be_for_the_reporter_alone(store, world):  # noqa: F811
    complaint = filed(store)
    answer = say(store, PUPR_OFFICER_URN, f"/balas {format_ticket(complaint.ticket)} Kami datang besok")
    assert "hanya untuk pelapor, tidak dipublikasikan" in answer
    assert "Catatan /status tampil publik; pesan /balas hanya untuk pelapor." in HELP
