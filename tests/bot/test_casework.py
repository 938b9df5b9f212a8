"""Casework (bot/casework.py), routing and the pilot seed (issue #5): who gets a complaint, what every
change writes (event, outbox rows, dialogue push, all in one transaction), deadlines in working days,
the deadline clock, and the citizen's feedback. Routing, the clock and status changes run on SQLite
and on the real PostgreSQL (the ``engine`` fixture of conftest.py).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from bot import casework, deadlines, routing, seed
from bot.actions.thread import parse_feedback
from bot.casework import Actor, CaseworkError
from channels.base import MediaItem
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import deadlines as deadline_store
from storage import messages as message_store
from storage.db import session_scope
from storage.models import ANY, Complaint, Officer, RoutingRule
from storage.tickets import format_ticket
from tests.casework_support import (
    CITIZEN_DIGITS,
    CITIZEN_URN,
    DLH_NAME,
    DLH_OFFICER_URN,
    NATIONAL_ADMIN_URN,
    PUPR_INACTIVE_URN,
    PUPR_NAME,
    PUPR_OFFICER_URN,
    PUPR_OFFICER_URN_2,
    PUPR_SUPERVISOR_URN,
    alerts,
    build_world,
    events,
    file,
    officer_facing_texts,
    outbound,
    outbound_text,
    pushes,
    snapshot,
    utc,
)

PUPR_ACTIVE_URNS = (PUPR_OFFICER_URN, PUPR_OFFICER_URN_2, PUPR_SUPERVISOR_URN)


@pytest.fixture
def world(engine):
    with session_scope(engine) as session:
        return build_world(session)


def officer_actor(session, officer_id: int) -> Actor:
    return Actor.of(session.get(Officer, officer_id))


def forward(engine, world, ticket: str, today: date) -> Complaint:
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        return casework.change_status(
            session, complaint, "diteruskan", actor=officer_actor(session, world.pupr_officer_id), note=None, today=today
        )


def set_status(engine, world, ticket: str, status: str, today: date, note: str | None = None, officer_id=None):
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, ticket)
        return casework.change_status(
            session, complaint, status, actor=officer_actor(session, officer_id or world.pupr_officer_id),
            note=note, today=today,
        )


# ---------------------------------------------------------------- routing


def test_the_most_specific_routing_rule_wins(engine):
    with session_scope(engine) as session:
        codes = {}
        for code, category, region in [
            ("KAB-CAT", "infrastruktur", "34.04"),
            ("KAB-ANY", ANY, "34.04"),
            ("PROV-CAT", "kesehatan", "34"),
            ("PROV-ANY", ANY, "34"),
            ("ALL-CAT", "pungli_korupsi", ANY),
        ]:
            agency = agency_store.create_agency(session, code=code, name=f"Instansi {code}")
            agency_store.set_routing_rule(session, agency_id=agency.id, category=category, region_code=region)
            codes[code] = agency.id

        def route(category, region_code, province_code="34"):
            return routing.route(session, category=category, region_code=region_code, province_code=province_code).code

        assert route("infrastruktur", "34.04") == "KAB-CAT"  # kab/kota + category
        assert route("lingkungan", "34.04") == "KAB-ANY"  # kab/kota + any beats province + any
        assert route("kesehatan", "34.04") == "KAB-ANY"  # a kab/kota beats a province, even with its category
        assert route("kesehatan", "34.71") == "PROV-CAT"  # another kab/kota of the province
        assert route("lingkungan", "34.71") == "PROV-ANY"
        assert route("lingkungan", None) == "PROV-ANY"  # the province named, no kab/kota
        assert route("pungli_korupsi", "34.71") == "PROV-ANY"  # the province beats anywhere
        assert route("pungli_korupsi", "32.01", "32") == "ALL-CAT"
        assert route("lingkungan", "32.01", "32") == "NASIONAL"  # no rule matches: the national queue
        assert route("lingkungan", None, None) == "NASIONAL"


def test_a_filed_complaint_goes_to_its_agency_or_the_national_queue(engine, world):
    with session_scope(engine) as session:
        roads = file(session)
        rubbish = file(session, category="lingkungan", description="Sampah menumpuk di selokan")
        elsewhere = file(session, province_code="32", region_code="32.01", district_code=None)
    assert roads.agency_id == world.pupr_id
    assert rubbish.agency_id == world.dlh_id
    assert elsewhere.agency_id == world.national_id


def test_the_seed_creates_the_pilot_agencies_and_routes_to_them(engine):
    with session_scope(engine) as session:
        report = seed.load(session)
    assert report.agencies_created > 100 and report.rules >= report.agencies_created
    with session_scope(engine) as session:
        pupr = agency_store.get_agency_by_code(session, "PUPR-3404")
        assert pupr is not None and "Sleman" in pupr.name and pupr.region_code == "34.04"
        assert "Sleman" in agency_store.get_agency_by_code(session, "SETDA-3404").name
        province = agency_store.get_agency_by_code(session, "SETDAPROV-34")
        assert province is not None and province.region_code == "34"

        def route(category, region_code, province_code):
            return routing.route(session, category=category, region_code=region_code, province_code=province_code).code

        assert route("infrastruktur", "34.04", "34") == "PUPR-3404"
        assert route("lainnya", "34.04", "34") == "SETDA-3404"
        assert route("pungli_korupsi", "34.04", "34") == "INSPEKTORAT-3404"
        assert route("infrastruktur", None, "34") == "SETDAPROV-34"  # DIY, no kab/kota
        assert route("lingkungan", "51.03", "51") == "DLH-5103"  # Badung (Bali)
        assert route("kesehatan", "13.71", "13") == "DINKES-1371"  # Kota Padang (Sumatera Barat)
        assert route("infrastruktur", "36.03", "36") == "PUPR-3603"  # Kabupaten Tangerang
        assert route("infrastruktur", "36.71", "36") == "NASIONAL"  # Kota Tangerang is not a pilot area
        assert route("infrastruktur", None, "36") == "NASIONAL"  # Banten is not a pilot province
        assert route("lainnya", "32.01", "32") == "NASIONAL"


def test_loading_the_seed_again_changes_nothing_and_keeps_what_was_added_by_hand(engine):
    with session_scope(engine) as session:
        seed.load(session)
        agencies = len(agency_store.list_agencies(session))
        rules = len(agency_store.routing_rules(session))
        own = agency_store.create_agency(session, code="BPBD-34", name="BPBD DIY", region_code="34")
        agency_store.set_routing_rule(session, agency_id=own.id, category="lingkungan", region_code="34")
        renamed = agency_store.get_agency_by_code(session, "SETDA-3404")
        renamed.name = "Nama lama"
        session.add(renamed)
    with session_scope(engine) as session:
        report = seed.load(session)
    assert (report.agencies_created, report.agencies_updated) == (0, 1)
    with session_scope(engine) as session:
        assert len(agency_store.list_agencies(session)) == agencies + 1
        assert len(agency_store.routing_rules(session)) == rules + 1
        assert "Sleman" in agency_store.get_agency_by_code(session, "SETDA-3404").name
        assert routing.route(session, category="lingkungan", region_code=None, province_code="34").code == "BPBD-34"
        assert routing.route(session, category="infrastruktur", region_code="34.04", province_code="34").code == "PUPR-3404"
    with session_scope(engine) as session:
        again = seed.load(session)
        assert (again.agencies_created, again.agencies_updated) == (0, 0)
        assert len(session.exec(select(RoutingRule)).all()) == rules + 1


# ---------------------------------------------------------------- the new complaint is announced


def test_a_new_complaint_is_announced_to_every_active_officer_of_its_agency(engine, world):
    with session_scope(engine) as session:
        message_store.record_inbound(
            session, urn=CITIZEN_URN, channel="sms", provider="simulator", text="(foto)",
            attachments=[MediaItem(kind="image", url="https://example.test/1.jpg", content_type="image/jpeg"),
                         MediaItem(kind="location", latitude=-7.7512345, longitude=110.3398765)],
        )
        complaint = file(session)
        told = casework.announce_new_complaint(session, complaint)
    assert told == 3
    display = format_ticket(complaint.ticket)
    with session_scope(engine) as session:
        for urn in PUPR_ACTIVE_URNS:
            [message] = outbound(session, urn)
            assert message.complaint_id == complaint.id  # a reply to it names the complaint
            for part in (display, PUPR_NAME, "Jalan & fasilitas umum", "Mlati", "Jl. Kebon Agung km 3",
                         "Jalan berlubang besar di depan pasar Mlati", "1 foto", "-7.75123,110.33988",
                         "Pelapor: " + CITIZEN_URN):
                assert part in message.text, part
        assert outbound(session, PUPR_INACTIVE_URN) == []
        assert outbound(session, DLH_OFFICER_URN) == []
        assert outbound(session, NATIONAL_ADMIN_URN) == []
        assert outbound(session, CITIZEN_URN) == []  # the citizen hears "filed" from the dialogue


def test_an_anonymous_reporter_is_not_named_to_the_agency(engine, world):
    with session_scope(engine) as session:
        complaint = file(session, anonymous=True)
        casework.announce_new_complaint(session, complaint)
    with session_scope(engine) as session:
        text = outbound_text(session, PUPR_OFFICER_URN)
    assert format_ticket(complaint.ticket) in text
    assert "Pelapor: anonim" in text
    assert CITIZEN_DIGITS not in text and CITIZEN_URN not in text


def test_an_anonymous_reporter_never_appears_in_any_officer_facing_text(engine, world):
    """Notification, relayed answers, reroute, reminder, breach, feedback: none names the reporter."""
    with session_scope(engine) as session:
        complaint = file(session, anonymous=True)
        casework.announce_new_complaint(session, complaint)
    forward(engine, world, complaint.ticket, date(2026, 12, 1))
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        casework.relay_citizen_answer(session, complaint, "Lubangnya makin besar")
    with session_scope(engine) as session:
        casework.run_clock(session, utc(2026, 12, 7, 3))  # reminder
        casework.run_clock(session, utc(2026, 12, 9, 3))  # breach
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        casework.reroute(session, complaint, "DLH-3404", actor=officer_actor(session, world.pupr_officer_id),
                         note=None, today=date(2026, 12, 9))
    with session_scope(engine) as session:
        texts = officer_facing_texts(session)
    assert len(texts) >= 8
    for text in texts:
        assert CITIZEN_URN not in text and "+6281234567890" not in text, text


# ---------------------------------------------------------------- status changes


def test_forwarding_starts_the_agency_clock_and_tells_the_citizen(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
    forward(engine, world, complaint.ticket, date(2026, 12, 1))  # Tuesday
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        assert complaint.status == "diteruskan"
        assert complaint.followup_due == date(2026, 12, 8)  # 5 working days
        assert complaint.resolve_due == date(2026, 12, 31)  # infrastruktur: 21, across Christmas
        [filed, changed] = events(session, complaint.id)
        assert (filed.kind, changed.kind) == ("filed", "status")
        assert (changed.from_status, changed.to_status) == ("diterima", "diteruskan")
        assert (changed.actor_type, changed.actor_officer_id) == ("officer", world.pupr_officer_id)
        text = outbound_text(session, CITIZEN_URN)
        assert format_ticket(complaint.ticket) in text and PUPR_NAME in text and "DITERUSKAN" in text
        assert all(m.complaint_id == complaint.id for m in outbound(session, CITIZEN_URN))
        assert pushes(session) == [("EXTERNAL_status_changed", {"ticket": complaint.ticket})]


def test_the_resolution_target_is_14_working_days_unless_the_category_sets_another(engine, world):
    with session_scope(engine) as session:
        complaint = file(session, category="lingkungan", description="Sampah liar di bantaran sungai")
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        casework.change_status(session, complaint, "diteruskan", actor=officer_actor(session, world.dlh_officer_id),
                               note=None, today=date(2026, 12, 1))
        assert complaint.followup_due == date(2026, 12, 8)
        assert complaint.resolve_due == date(2026, 12, 21)


def test_working_days_skip_weekends_and_christmas(engine, world):
    with session_scope(engine) as session:
        complaint = file(session, today=date(2026, 12, 17))
    forward(engine, world, complaint.ticket, date(2026, 12, 18))  # Friday
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        # Mon 21, Tue 22, Wed 23, Thu 24, (Fri 25 Christmas, weekend), Mon 28
        assert complaint.followup_due == date(2026, 12, 28)


def test_selesai_asks_the_citizen_to_confirm_and_rate(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
    forward(engine, world, complaint.ticket, date(2026, 12, 1))
    with session_scope(engine) as session:
        before = len(outbound(session, CITIZEN_URN))
    set_status(engine, world, complaint.ticket, "selesai", date(2026, 12, 3), note="Lubang sudah ditambal")
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        assert complaint.status == "selesai" and complaint.resolved_at is not None
        assert complaint.followed_up_at is not None
        text = " ".join(m.text for m in outbound(session, CITIZEN_URN)[before:])
        assert "SELESAI" in text and "Lubang sudah ditambal" in text and PUPR_NAME in text
        assert format_ticket(complaint.ticket) in text
        assert [intent for intent, _ in pushes(session)] == ["EXTERNAL_status_changed", "EXTERNAL_resolution_check"]
        assert events(session, complaint.id)[-1].note == "Lubang sudah ditambal"


def test_a_status_push_is_in_the_citizens_language(engine, world):
    with session_scope(engine) as session:
        complaint = file(session, language="en")
        contact_store.set_citizen_language(session, complaint.urn_id, "en")
    forward(engine, world, complaint.ticket, date(2026, 12, 1))
    set_status(engine, world, complaint.ticket, "ditolak", date(2026, 12, 2), note="Bukan jalan kabupaten")
    with session_scope(engine) as session:
        forwarded, rejected = (m.text for m in outbound(session, CITIZEN_URN))
    ticket = format_ticket(complaint.ticket)
    assert forwarded.startswith(f"Ticket {ticket}: FORWARDED to the agency ({PUPR_NAME}")
    assert rejected == f"Ticket {ticket} was REJECTED by {PUPR_NAME}. Reason: Bukan jalan kabupaten"


@pytest.mark.parametrize(
    "path, target, code",
    [
        ([], "selesai", "bad_transition"),
        ([], "diterima", "unchanged"),
        ([], "ditutup", "bad_transition"),  # closing is the citizen's (or the clock's)
        (["diteruskan"], "diteruskan", "unchanged"),
        (["diteruskan", "diproses"], "diteruskan", "bad_transition"),
        (["diteruskan", "selesai"], "diproses", "bad_transition"),
        (["ditolak"], "diproses", "bad_transition"),
        ([], "ditolak", "reason_required"),
    ],
)
def test_a_refused_status_change_changes_nothing(engine, world, path, target, code):
    with session_scope(engine) as session:
        complaint = file(session)
    for step in path:
        set_status(engine, world, complaint.ticket, step, date(2026, 12, 1), note="alasan")
    with session_scope(engine) as session:
        before = snapshot(session, complaint.ticket)
        with pytest.raises(CaseworkError) as refused:
            casework.change_status(session, complaint_store.get_complaint(session, complaint.ticket), target,
                                   actor=officer_actor(session, world.pupr_officer_id), note="  ", today=date(2026, 12, 2))
    assert refused.value.code == code
    assert format_ticket(complaint.ticket) in refused.value.message or code == "reason_required"
    with session_scope(engine) as session:
        assert snapshot(session, complaint.ticket) == before


def test_a_change_and_everything_it_causes_are_one_transaction(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
        before = snapshot(session, complaint.ticket)
    with pytest.raises(RuntimeError):
        with session_scope(engine) as session:
            forward_in = complaint_store.get_complaint(session, complaint.ticket)
            casework.change_status(session, forward_in, "diteruskan", actor=officer_actor(session, world.pupr_officer_id),
                                   note=None, today=date(2026, 12, 1))
            assert snapshot(session, complaint.ticket) != before
            raise RuntimeError("crash before commit")
    with session_scope(engine) as session:
        assert snapshot(session, complaint.ticket) == before


# ---------------------------------------------------------------- replies and reroutes


def test_an_officer_reply_reaches_the_citizen_through_the_bot(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
        casework.reply_to_citizen(session, complaint, actor=officer_actor(session, world.pupr_officer_id),
                                  text="  Mohon kirim foto lubangnya  ")
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        text = outbound_text(session, CITIZEN_URN)
        assert "Mohon kirim foto lubangnya" in text and PUPR_NAME in text and format_ticket(complaint.ticket) in text
        assert pushes(session) == [("EXTERNAL_officer_reply", {"ticket": complaint.ticket})]
        reply = events(session, complaint.id)[-1]
        assert (reply.kind, reply.actor_type, reply.actor_officer_id, reply.note) == (
            "reply", "officer", world.pupr_officer_id, "Mohon kirim foto lubangnya",
        )
        assert complaint.followed_up_at is not None and complaint.status == "diterima"


def test_an_empty_reply_or_a_reply_on_a_closed_complaint_is_refused(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
    set_status(engine, world, complaint.ticket, "ditolak", date(2026, 12, 1), note="duplikat")
    with session_scope(engine) as session:
        open_one = file(session)
        before = snapshot(session, open_one.ticket)
        with pytest.raises(CaseworkError) as empty:
            casework.reply_to_citizen(session, open_one, actor=officer_actor(session, world.pupr_officer_id), text="   ")
        with pytest.raises(CaseworkError) as closed:
            casework.reply_to_citizen(session, complaint_store.get_complaint(session, complaint.ticket),
                                      actor=officer_actor(session, world.pupr_officer_id), text="Halo")
        assert (empty.value.code, closed.value.code) == ("empty", "closed")
        assert snapshot(session, open_one.ticket) == before


def test_a_reroute_moves_the_complaint_and_tells_the_new_agency_and_the_citizen(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
    forward(engine, world, complaint.ticket, date(2026, 12, 1))
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        target = casework.reroute(session, complaint, " dlh-3404 ", actor=officer_actor(session, world.pupr_officer_id),
                                  note="sampah, bukan jalan", today=date(2026, 12, 2))
        assert target.code == "DLH-3404"
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        assert complaint.agency_id == world.dlh_id and complaint.status == "diteruskan"
        assert complaint.followup_due == date(2026, 12, 9)  # the new agency gets its own 5 working days
        moved = events(session, complaint.id)[-1]
        assert (moved.kind, moved.actor_type, moved.actor_officer_id) == ("rerouted", "officer", world.pupr_officer_id)
        assert moved.note == "dialihkan dari PUPR-3404 ke DLH-3404: sampah, bukan jalan"
        [notification] = outbound(session, DLH_OFFICER_URN)
        assert format_ticket(complaint.ticket) in notification.text and DLH_NAME in notification.text
        assert notification.complaint_id == complaint.id
        last = outbound(session, CITIZEN_URN)[-1].text
        assert format_ticket(complaint.ticket) in last and DLH_NAME in last
        assert pushes(session)[-1] == ("EXTERNAL_status_changed", {"ticket": complaint.ticket})


@pytest.mark.parametrize("code, error", [("TIDAK-ADA", "unknown_agency"), ("PUPR-3404", "unchanged")])
def test_a_refused_reroute_changes_nothing(engine, world, code, error):
    with session_scope(engine) as session:
        complaint = file(session)
        before = snapshot(session, complaint.ticket)
        with pytest.raises(CaseworkError) as refused:
            casework.reroute(session, complaint, code, actor=officer_actor(session, world.pupr_officer_id),
                             note=None, today=date(2026, 12, 1))
        assert refused.value.code == error
        assert snapshot(session, complaint.ticket) == before


def test_the_citizens_answer_is_relayed_to_the_agency(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
        told = casework.relay_citizen_answer(session, complaint, "Lokasinya di depan warung Bu Sri")
    assert told == 3
    with session_scope(engine) as session:
        [message] = outbound(session, PUPR_OFFICER_URN)
        assert "Lokasinya di depan warung Bu Sri" in message.text and format_ticket(complaint.ticket) in message.text
        assert message.complaint_id == complaint.id
        answer = events(session, complaint.id)[-1]
        assert (answer.kind, answer.actor_type, answer.note) == ("citizen_reply", "citizen", "Lokasinya di depan warung Bu Sri")


# ---------------------------------------------------------------- the citizen's feedback


def resolved_complaint(engine, world) -> Complaint:
    with session_scope(engine) as session:
        complaint = file(session)
    forward(engine, world, complaint.ticket, date(2026, 12, 1))
    set_status(engine, world, complaint.ticket, "selesai", date(2026, 12, 3))
    return complaint


def test_the_citizen_confirms_and_rates(engine, world):
    complaint = resolved_complaint(engine, world)
    with session_scope(engine) as session:
        officer_messages = len(outbound(session, PUPR_OFFICER_URN))
        status = casework.record_feedback(session, complaint_store.get_complaint(session, complaint.ticket),
                                          resolved=True, rating=4, comment="ya 4")
    assert status == "ditutup"
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        assert (complaint.status, complaint.rating) == ("ditutup", 4) and complaint.closed_at is not None
        closing, feedback = events(session, complaint.id)[-2:]
        assert (closing.kind, closing.from_status, closing.to_status, closing.actor_type) == ("status", "selesai", "ditutup", "citizen")
        assert (feedback.kind, feedback.note) == ("feedback", "nilai 4/5")
        told = outbound(session, PUPR_OFFICER_URN)[officer_messages:]
        assert len(told) == 1 and "DITUTUP" in told[0].text and "4/5" in told[0].text


def test_the_citizen_says_not_yet_and_it_is_reopened(engine, world):
    complaint = resolved_complaint(engine, world)
    with session_scope(engine) as session:
        officer_messages = len(outbound(session, PUPR_OFFICER_URN))
        status = casework.record_feedback(session, complaint_store.get_complaint(session, complaint.ticket),
                                          resolved=False, rating=None, comment="belum, masih berlubang")
    assert status == "diproses"
    with session_scope(engine) as session:
        complaint = complaint_store.get_complaint(session, complaint.ticket)
        assert complaint.status == "diproses" and complaint.resolved_at is None and complaint.rating is None
        reopened = events(session, complaint.id)[-1]
        assert (reopened.kind, reopened.from_status, reopened.to_status, reopened.actor_type) == (
            "status", "selesai", "diproses", "citizen",
        )
        assert reopened.note == "belum, masih berlubang"
        told = outbound(session, PUPR_OFFICER_URN)[officer_messages:]
        assert len(told) == 1 and "BELUM" in told[0].text and "masih berlubang" in told[0].text
        assert format_ticket(complaint.ticket) in told[0].text


def test_feedback_on_a_complaint_that_is_not_selesai_is_refused(engine, world):
    with session_scope(engine) as session:
        complaint = file(session)
        before = snapshot(session, complaint.ticket)
        with pytest.raises(CaseworkError):
            casework.record_feedback(session, complaint, resolved=True, rating=5, comment=None)
        assert snapshot(session, complaint.ticket) == before


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ya 5", (True, 5)),
        ("YA", (True, None)),
        ("Ya, 3", (True, 3)),
        ("sudah beres", (True, None)),
        ("belum", (False, None)),
        ("blm", (False, None)),
        ("BELUM 1", (False, None)),
        ("4", (True, 4)),
        ("terima kasih", (None, None)),
        ("yes 4", (True, 4)),
        ("no", (False, None)),
        ("6", (None, None)),
    ],
)
def test_parse_feedback(text, expected):
    assert parse_feedback(text, None) == expected


# ---------------------------------------------------------------- the deadline clock


def forwarded_complaint(engine, world, **overrides) -> Complaint:
    with session_scope(engine) as session:
        complaint = file(session, **overrides)
    forward(engine, world, complaint.ticket, date(2026, 12, 1))  # follow-up due Tue 8 Dec
    return complaint


def messages_to(engine, urn: str) -> list[str]:
    with session_scope(engine) as session:
        return [m.text for m in outbound(session, urn)]


def test_a_reminder_goes_to_the_agency_on_the_working_day_before_a_deadline_once(engine, world):
    complaint = forwarded_complaint(engine, world)
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 4, 2)).reminders == 0  # Friday: too early
        assert casework.run_clock(session, utc(2026, 12, 6, 16)).reminders == 0  # Sunday 23.00 WIB
    with session_scope(engine) as session:
        report = casework.run_clock(session, utc(2026, 12, 6, 18))  # Monday 01.00 WIB
    assert (report.reminders, report.breaches) == (1, 0)
    display = format_ticket(complaint.ticket)
    for urn in PUPR_ACTIVE_URNS:
        [reminder] = messages_to(engine, urn)
        assert "Pengingat" in reminder and display in reminder and "tindak lanjut" in reminder
    assert messages_to(engine, PUPR_INACTIVE_URN) == messages_to(engine, DLH_OFFICER_URN) == []
    for moment in (utc(2026, 12, 7, 3), utc(2026, 12, 7, 9), utc(2026, 12, 8, 3)):
        with session_scope(engine) as session:
            assert casework.run_clock(session, moment).reminders == 0
    for urn in PUPR_ACTIVE_URNS:
        assert len(messages_to(engine, urn)) == 1
    with session_scope(engine) as session:
        assert alerts(session, complaint.id) == [("followup", "reminder")]


def test_a_reminder_before_a_deadline_after_christmas_comes_on_the_working_day_before(engine, world):
    with session_scope(engine) as session:
        complaint = file(session, today=date(2026, 12, 17))
    forward(engine, world, complaint.ticket, date(2026, 12, 18))  # follow-up due Mon 28 Dec
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 23, 3)).reminders == 0  # Wednesday
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 24, 3)).reminders == 1  # Thursday, before Christmas
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 28, 3)).breaches == 0  # due today: not yet breached
        assert alerts(session, complaint.id) == [("followup", "reminder")]


def test_a_breach_is_recorded_and_the_supervisor_told_once(engine, world):
    complaint = forwarded_complaint(engine, world)
    for moment in (utc(2026, 12, 7, 3), utc(2026, 12, 8, 9)):
        with session_scope(engine) as session:
            assert casework.run_clock(session, moment).breaches == 0
    with session_scope(engine) as session:
        report = casework.run_clock(session, utc(2026, 12, 9, 2))  # Wednesday: the follow-up was due Tuesday
    assert report.breaches == 1
    with session_scope(engine) as session:
        breach = events(session, complaint.id)[-1]
        assert (breach.kind, breach.actor_type, breach.actor_officer_id) == ("breach", "system", None)
        assert "2026-12-08" in breach.note
        assert alerts(session, complaint.id) == [("followup", "reminder"), ("followup", "breach")]
        history = len(events(session, complaint.id))
    told = messages_to(engine, PUPR_SUPERVISOR_URN)[-1]
    assert "TENGGAT TERLEWATI" in told and format_ticket(complaint.ticket) in told
    assert messages_to(engine, NATIONAL_ADMIN_URN) == []  # the agency has a supervisor
    supervisor_messages = len(messages_to(engine, PUPR_SUPERVISOR_URN))
    for moment in (utc(2026, 12, 9, 3), utc(2026, 12, 10, 3), utc(2026, 12, 14, 3)):
        with session_scope(engine) as session:
            assert casework.run_clock(session, moment).breaches == 0
    with session_scope(engine) as session:
        assert len(events(session, complaint.id)) == history
        assert [e.kind for e in events(session, complaint.id)].count("breach") == 1
    assert len(messages_to(engine, PUPR_SUPERVISOR_URN)) == supervisor_messages


def test_the_clock_does_not_read_a_breached_deadline_again(engine, world):
    """A backlog of overdue complaints costs the clock nothing once each breach was told."""
    complaint = forwarded_complaint(engine, world)
    with session_scope(engine) as session:
        candidates = deadline_store.complaints_with_running_deadlines(session, date(2026, 12, 20), deadlines.OPEN_DEADLINES)
        assert complaint.id in [c.id for c in candidates]
        casework.run_clock(session, utc(2026, 12, 9, 2))  # the follow-up (due 8 Dec) is breached
    with session_scope(engine) as session:
        # the resolution target (31 Dec) is the only deadline left to watch
        assert complaint.id not in [c.id for c in deadline_store.complaints_with_running_deadlines(session, date(2026, 12, 20), deadlines.OPEN_DEADLINES)]
        assert complaint.id in [c.id for c in deadline_store.complaints_with_running_deadlines(session, date(2026, 12, 31), deadlines.OPEN_DEADLINES)]


def test_a_breach_at_an_agency_without_a_supervisor_goes_to_the_national_admins(engine, world):
    with session_scope(engine) as session:
        complaint = file(session, category="lingkungan", description="Sampah menumpuk")  # DLH: no supervisor
        assert complaint.verify_due == date(2026, 12, 2)
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 3, 3)).breaches == 1
    told = messages_to(engine, NATIONAL_ADMIN_URN)
    assert len(told) == 1 and "TENGGAT TERLEWATI" in told[0] and "verifikasi" in told[0]
    assert format_ticket(complaint.ticket) in told[0]
    with session_scope(engine) as session:
        assert [e.kind for e in events(session, complaint.id)] == ["filed", "breach"]
        assert casework.run_clock(session, utc(2026, 12, 4, 3)).breaches == 0
    assert len(messages_to(engine, NATIONAL_ADMIN_URN)) == 1


def test_met_deadlines_raise_no_alerts(engine, world):
    complaint = forwarded_complaint(engine, world)
    set_status(engine, world, complaint.ticket, "diproses", date(2026, 12, 2))  # the follow-up is done
    with session_scope(engine) as session:
        report = casework.run_clock(session, utc(2026, 12, 9, 3))
        assert (report.reminders, report.breaches) == (0, 0)
        assert alerts(session, complaint.id) == []


def test_a_selesai_without_an_answer_for_14_days_is_closed_and_the_citizen_told(engine, world):
    complaint = resolved_complaint(engine, world)
    with session_scope(engine) as session:
        resolved = complaint_store.get_complaint(session, complaint.ticket)
        resolved.resolved_at = utc(2026, 12, 3, 3)
        session.add(resolved)
        citizen_messages = len(outbound(session, CITIZEN_URN))
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 16, 3)).closed == 0  # 13 days
        assert complaint_store.get_complaint(session, complaint.ticket).status == "selesai"
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 17, 4)).closed == 1
    with session_scope(engine) as session:
        closed = complaint_store.get_complaint(session, complaint.ticket)
        assert closed.status == "ditutup" and closed.closed_at is not None
        last = events(session, closed.id)[-1]
        assert (last.kind, last.from_status, last.to_status, last.actor_type) == ("status", "selesai", "ditutup", "system")
        told = outbound(session, CITIZEN_URN)[citizen_messages:]
        assert len(told) == 1 and format_ticket(closed.ticket) in told[0].text and "DITUTUP" in told[0].text
        assert pushes(session)[-1] == ("EXTERNAL_status_changed", {"ticket": closed.ticket})
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 18, 4)).closed == 0
        assert len(outbound(session, CITIZEN_URN)) == citizen_messages + 1
        with pytest.raises(CaseworkError):  # too late to dispute
            casework.record_feedback(session, complaint_store.get_complaint(session, complaint.ticket),
                                     resolved=False, rating=None, comment="belum")


def test_the_closing_push_names_the_ticket_and_the_agency(engine, world):
    """Issue #5: every status change is pushed "naming the ticket and the agency" (the clock's too)."""
    complaint = resolved_complaint(engine, world)
    with session_scope(engine) as session:
        resolved = complaint_store.get_complaint(session, complaint.ticket)
        resolved.resolved_at = utc(2026, 12, 3, 3)
        session.add(resolved)
    with session_scope(engine) as session:
        casework.run_clock(session, utc(2026, 12, 17, 4))
    with session_scope(engine) as session:
        last = outbound(session, CITIZEN_URN)[-1].text
    assert format_ticket(complaint.ticket) in last and "DITUTUP" in last
    assert PUPR_NAME in last


def test_after_a_reroute_the_new_agency_is_reminded_of_its_own_follow_up(engine, world):
    """The new agency gets its own 5 working days (casework.reroute); its reminder must come too."""
    complaint = forwarded_complaint(engine, world)
    with session_scope(engine) as session:
        assert casework.run_clock(session, utc(2026, 12, 7, 3)).reminders == 1  # PUPR reminded (due 8 Dec)
    with session_scope(engine) as session:
        moved = complaint_store.get_complaint(session, complaint.ticket)
        casework.reroute(session, moved, "DLH-3404", actor=officer_actor(session, world.pupr_officer_id),
                         note=None, today=date(2026, 12, 7))
        assert moved.followup_due == date(2026, 12, 14)
    with session_scope(engine) as session:
        report = casework.run_clock(session, utc(2026, 12, 11, 3))  # Friday, the working day before 14 Dec
    reminders = [t for t in messages_to(engine, DLH_OFFICER_URN) if t.startswith("Pengingat")]
    assert report.reminders == 1 and len(reminders) == 1, "DLH-3404 was never reminded of its follow-up deadline"
