"""Repository functions, on SQLite and on the real PostgreSQL (see conftest.py)."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

from sqlmodel import func, select

from bot import filing
from storage import agencies as agency_store
from storage import complaints as complaint_store
from storage import contacts as contact_store
from storage import messages as message_store
from storage import models, tickets
from storage import officers as officer_store
from storage import outbox as outbox_store
from storage.db import session_scope
from storage.models import (
    Category,
    Complaint,
    ComplaintEvent,
    ContactUrn,
    Message,
    OfficerRole,
    OutboxItem,
)
from storage.tickets import is_valid_ticket

URN = "sim-sms:+6281234567890"
OTHER_URN = "sim-sms:+6289876543210"

OWNER = "dispatcher-a"  # the dispatcher holding the leases in these tests


def new_complaint(urn: str = URN, **overrides) -> complaint_store.NewComplaint:
    fields = dict(
        urn=urn,
        channel="sms",
        description="Lampu jalan mati sejak dua minggu di Jl. Kaliurang",
        category=Category.infrastruktur,
        province_code="34",
        region_code="34.04",
        district_code="34.04.06",
        address="Jl. Kaliurang km 10, Mlati",
    )
    fields.update(overrides)
    return complaint_store.NewComplaint(**fields)


def file(engine, urn: str = URN, **overrides) -> Complaint:
    with session_scope(engine) as session:
        return filing.file_complaint(session, new_complaint(urn, **overrides), today=date(2026, 11, 27))



def listed(session, filters, **page):
    found = complaint_store.page_of_complaints(session, filters, **page)
    return found.items, found.total

def test_migrations_seed_the_national_queue(engine):
    with session_scope(engine) as session:
        agency = agency_store.national_queue(session)
    assert agency.is_national_queue and agency.code == "NASIONAL"


def test_first_contact_creates_a_citizen_and_is_found_again(engine):
    with session_scope(engine) as session:
        first = contact_store.get_or_create_urn(session, URN)
    with session_scope(engine) as session:
        again = contact_store.get_or_create_urn(session, URN)
        other = contact_store.get_or_create_urn(session, OTHER_URN)
    assert again.id == first.id and again.citizen_id == first.citizen_id
    assert other.citizen_id != first.citizen_id
    assert first.scheme == "sim-sms"


def test_filing_gives_a_valid_ticket_an_event_and_a_verification_deadline(engine):
    complaint = file(engine)
    assert is_valid_ticket(complaint.ticket)
    assert complaint.status == "diterima"
    # Friday 27 Nov 2026 + 3 working days = Wednesday 2 Dec 2026
    assert complaint.verify_due == date(2026, 12, 2)
    with session_scope(engine) as session:
        history = complaint_store.complaint_history(session, complaint.id)
        agency_id = agency_store.national_queue(session).id
    assert [(e.kind, e.to_status, e.actor_type) for e in history] == [("filed", "diterima", "citizen")]
    assert complaint.agency_id == agency_id


def test_a_ticket_is_only_found_by_the_citizen_who_filed_it(engine):
    complaint = file(engine)
    with session_scope(engine) as session:
        assert complaint_store.get_complaint_of_urn(session, complaint.ticket, URN).id == complaint.id
        assert complaint_store.get_complaint_of_urn(session, complaint.ticket, OTHER_URN) is None
        assert complaint_store.get_complaint_of_urn(session, complaint.ticket, "sim-sms:+6281100000000") is None
        assert [c.ticket for c in complaint_store.complaints_of_urn(session, URN)] == [complaint.ticket]
        assert complaint_store.complaints_of_urn(session, OTHER_URN) == []


def test_inbound_messages_are_deduplicated_by_provider_id(engine):
    with session_scope(engine) as session:
        first, created = message_store.record_inbound(
            session, urn=URN, channel="sms", provider="twilio", text="halo", external_id="SM123"
        )
    with session_scope(engine) as session:
        again, created_again = message_store.record_inbound(
            session, urn=URN, channel="sms", provider="twilio", text="halo", external_id="SM123"
        )
        other_provider, created_other = message_store.record_inbound(
            session, urn=URN, channel="telegram", provider="telegram", text="halo", external_id="SM123"
        )
        count = session.exec(select(func.count()).select_from(Message)).one()
    assert created and not created_again and created_other
    assert again.id == first.id and other_provider.id != first.id
    assert count == 2


def test_pending_inbound_comes_oldest_first_and_retries_wait(engine):
    with session_scope(engine) as session:
        one, _ = message_store.record_inbound(session, urn=URN, channel="sms", provider="simulator", text="satu")
        two, _ = message_store.record_inbound(session, urn=URN, channel="sms", provider="simulator", text="dua")
        urn_id = one.urn_id
    with session_scope(engine) as session:
        assert message_store.next_pending_inbound(session, urn_id).id == one.id
        message_store.mark_inbound_retry(session, one.id, "rasa down", timedelta(minutes=1))
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        # the first still blocks the conversation, and it is not due yet
        assert message_store.next_pending_inbound(session, urn_id).id == one.id
        # a fresh message is left to the request that stored it, a stale one is picked up
        assert urn_id not in message_store.urns_with_due_inbound(session, now)
        assert urn_id in message_store.urns_with_due_inbound(session, now + timedelta(minutes=2))
        message_store.mark_inbound_handled(session, one.id)
    with session_scope(engine) as session:
        assert message_store.next_pending_inbound(session, urn_id).id == two.id


def _queue(engine, texts: list[str], urn: str = URN) -> list[int]:
    with session_scope(engine) as session:
        contact = contact_store.get_or_create_urn(session, urn)
        return [
            m.id
            for m in outbox_store.queue_outbound(
                session, urn_id=contact.id, channel="sms", provider="simulator", texts=texts
            )
        ]


def test_outbox_claims_are_leased_so_nothing_is_sent_twice(engine):
    ids = _queue(engine, ["satu", "dua"])
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        first = outbox_store.claim_outbox(session, owner=OWNER, now=now, lease=timedelta(seconds=60))
    with session_scope(engine) as session:
        second = outbox_store.claim_outbox(session, owner=OWNER, now=now, lease=timedelta(seconds=60))
    with session_scope(engine) as session:  # 60 s later (leases are the database's clock)
        for item, _, _ in first:
            session.get(OutboxItem, item.id).locked_until = now - timedelta(seconds=1)
    with session_scope(engine) as session:
        after_lease = outbox_store.claim_outbox(session, owner=OWNER, now=now, lease=timedelta(seconds=60))
    assert [m.id for _, m, _ in first] == ids
    assert second == []
    assert [m.id for _, m, _ in after_lease] == ids  # a crashed dispatcher's rows come back


def test_a_sent_message_records_the_provider_id_and_leaves_the_outbox(engine):
    [message_id] = _queue(engine, ["halo"])
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        [(item, _, _)] = outbox_store.claim_outbox(session, owner=OWNER, now=now, lease=timedelta(seconds=60))
        outbox_store.mark_sent(session, item.id, owner=OWNER, external_id="SM999", status="sent")
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        assert (message.status, message.external_id, message.attempts) == ("sent", "SM999", 1)
        assert outbox_store.claim_outbox(session, owner=OWNER, now=now + timedelta(hours=1), lease=timedelta(seconds=60)) == []


def test_a_failed_send_waits_and_holds_back_later_messages_of_the_conversation(engine):
    first_id, second_id = _queue(engine, ["satu", "dua"])
    [other_id] = _queue(engine, ["lain"], urn=OTHER_URN)
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        claimed = outbox_store.claim_outbox(session, owner=OWNER, now=now, lease=timedelta(seconds=60), message_ids=[first_id])
        outbox_store.mark_send_failed(session, claimed[0][0].id, owner=OWNER, error="timeout", retry_in=timedelta(seconds=30))
    with session_scope(engine) as session:
        claimable = outbox_store.claim_outbox(session, owner=OWNER, now=now + timedelta(seconds=1), lease=timedelta(seconds=60))
        # "dua" must not overtake "satu"; the other conversation is not held back
        assert [m.id for _, m, _ in claimable] == [other_id]
        outbox_store.mark_sent(session, claimable[0][0].id, owner=OWNER, external_id="SM1", status="sent")
    with session_scope(engine) as session:
        later = outbox_store.claim_outbox(session, owner=OWNER, now=now + timedelta(seconds=120), lease=timedelta(seconds=60))
    assert [m.id for _, m, _ in later] == [first_id, second_id]


def test_a_permanent_failure_is_recorded_on_the_message(engine):
    [message_id] = _queue(engine, ["halo"])
    now = datetime.now(timezone.utc)
    with session_scope(engine) as session:
        [(item, _, _)] = outbox_store.claim_outbox(session, owner=OWNER, now=now, lease=timedelta(seconds=60))
        outbox_store.mark_send_failed(session, item.id, owner=OWNER, error="21211 invalid number", retry_in=None)
    with session_scope(engine) as session:
        message = session.get(Message, message_id)
        outbox = session.exec(select(OutboxItem).where(OutboxItem.message_id == message_id)).one()
    assert (message.status, outbox.state) == ("failed", "failed")
    assert "21211" in message.error


def test_tokens_are_stored_hashed_and_can_be_revoked(engine):
    with session_scope(engine) as session:
        agency = agency_store.create_agency(session, code="DPUPR-SLEMAN", name="Dinas PUPR Sleman", region_code="34.04")
        officer = officer_store.create_officer(session, name="Sari", agency_id=agency.id, role=OfficerRole.officer)
        token = officer_store.issue_token(session, officer.id)
    with session_scope(engine) as session:
        assert officer_store.authenticate_token(session, token).id == officer.id
        assert officer_store.authenticate_token(session, token + "x") is None
        stored = session.exec(select(models.ApiToken)).one()
        assert token not in (stored.token_hash, stored.prefix) and stored.last_used_at is not None
        assert officer_store.revoke_tokens(session, officer.id) == 1
    with session_scope(engine) as session:
        assert officer_store.authenticate_token(session, token) is None


def test_listing_filters_scopes_and_paginates(engine):
    with session_scope(engine) as session:
        other_agency = agency_store.create_agency(session, code="DLH-BADUNG", name="DLH Badung", region_code="51.03")
    filed = [file(engine, description=f"Jalan rusak nomor {i}") for i in range(5)]
    filed.append(file(engine, category=Category.lingkungan, region_code="51.03", description="Sampah menumpuk"))
    with session_scope(engine) as session:
        national = agency_store.national_queue(session).id
        everything, total = listed(session, complaint_store.ComplaintFilter(), agency_scope=None)
        page_two, total_two = listed(
            session, complaint_store.ComplaintFilter(), agency_scope=None, page=2, page_size=4
        )
        environment, _ = listed(
            session, complaint_store.ComplaintFilter(category="lingkungan"), agency_scope=None
        )
        badung, _ = listed(session, complaint_store.ComplaintFilter(region_code="51.03"), agency_scope=None)
        national_only, _ = listed(
            session, complaint_store.ComplaintFilter(agency_code="NASIONAL"), agency_scope=national
        )
        other_scope, other_total = listed(
            session, complaint_store.ComplaintFilter(), agency_scope=other_agency.id
        )
    assert total == 6 and len(everything) == 6 and total_two == 6 and len(page_two) == 2
    assert {c.ticket for c in everything} == {c.ticket for c in filed}
    assert [c.category for c in environment] == ["lingkungan"]
    assert [c.region_code for c in badung] == ["51.03"]
    assert len(national_only) == 6
    assert (other_scope, other_total) == ([], 0)


def test_two_concurrent_writers_lose_nothing_and_never_share_a_ticket(engine):
    per_writer = 25
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def writer(index: int) -> None:
        try:
            start.wait()
            for n in range(per_writer):
                file(engine, urn=f"sim-sms:+62812000{index}{n:04d}", description=f"Laporan {index}-{n} jalan rusak")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with session_scope(engine) as session:
        tickets = session.exec(select(Complaint.ticket)).all()
        events = session.exec(select(func.count()).select_from(ComplaintEvent)).one()
        urns = session.exec(select(func.count()).select_from(ContactUrn)).one()
    assert len(tickets) == 2 * per_writer == len(set(tickets)) == events == urns


def test_a_ticket_collision_draws_again(engine, monkeypatch):
    existing = file(engine)
    draws = iter([existing.ticket, existing.ticket, "12345671"])
    monkeypatch.setattr(tickets, "new_ticket", lambda: next(draws))
    second = file(engine, urn=OTHER_URN)
    assert second.ticket == "12345671"

