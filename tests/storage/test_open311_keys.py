"""Open311 api_keys: issued once, stored hashed, bound, revoked; on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import select

from storage import open311_keys as key_store
from storage.db import session_scope
from storage.models import Open311Key
from storage.rows import aware

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def add(engine, name: str = "Qlue Jogja", agency_codes=None, region_codes=None) -> str:
    with session_scope(engine) as session:
        _, raw_key = key_store.add_key(session, name=name, agency_codes=agency_codes, region_codes=region_codes)
    return raw_key


def used_at(engine, raw_key: str, now: datetime) -> datetime | None:
    with session_scope(engine) as session:
        key = key_store.key_for(session, raw_key, now=now)
    with session_scope(engine) as session:
        stored = session.get(Open311Key, key.id)
        return aware(stored.last_used_at) if stored.last_used_at else None


def test_a_key_is_shown_once_stored_hashed_and_verifies(engine):
    with session_scope(engine) as session:
        key, raw_key = key_store.add_key(session, name="Qlue Jogja", agency_codes=None, region_codes=None)
    assert raw_key.startswith("o311_") and len(raw_key) > 40
    with session_scope(engine) as session:
        stored = session.exec(select(Open311Key)).one()
        assert raw_key not in (stored.key_hash, stored.prefix, stored.name)
        assert raw_key.startswith(stored.prefix) and len(stored.key_hash) == 64
        found = key_store.key_for(session, raw_key, now=NOW)
        assert found.id == key.id and found.name == "Qlue Jogja"
        assert key_store.agencies_of(found) is None and key_store.regions_of(found) is None


def test_a_wrong_or_malformed_key_finds_nothing(engine):
    raw_key = add(engine)
    with session_scope(engine) as session:
        for wrong in (raw_key + "x", raw_key[:-1], raw_key.upper(), "", "o311_", "x" * 10_000):
            assert key_store.key_for(session, wrong, now=NOW) is None


def test_a_key_is_bound_to_agencies_and_places(engine):
    raw_key = add(engine, agency_codes=["PUPR-3404", " DLH-3404", "PUPR-3404"], region_codes=["34.04", "51"])
    with session_scope(engine) as session:
        key = key_store.key_for(session, raw_key, now=NOW)
        assert key.agency_codes == "PUPR-3404,DLH-3404"
        assert key_store.agencies_of(key) == ["PUPR-3404", "DLH-3404"]
        assert key_store.regions_of(key) == ["34.04", "51"]


def test_an_empty_binding_list_is_refused_rather_than_read_as_any(engine):
    with session_scope(engine) as session:
        with pytest.raises(ValueError, match="agency codes"):
            key_store.add_key(session, name="Kosong", agency_codes=[], region_codes=None)
        with pytest.raises(ValueError, match="region codes"):
            key_store.add_key(session, name="Kosong", agency_codes=None, region_codes=["51,52"])
        with pytest.raises(ValueError, match="name"):
            key_store.add_key(session, name="x" * 101, agency_codes=None, region_codes=None)


def test_a_name_taken_by_a_live_key_is_refused_and_nothing_is_added(engine):
    add(engine, name="Lapor Badung")
    with session_scope(engine) as session:
        with pytest.raises(key_store.KeyNameTaken, match="Lapor Badung"):
            key_store.add_key(session, name=" Lapor Badung ", agency_codes=None, region_codes=None)
        assert isinstance(key_store.KeyNameTaken("x"), ValueError)
    with session_scope(engine) as session:
        assert [key.name for key in key_store.list_keys(session)] == ["Lapor Badung"]


def test_a_revoked_key_fails_and_its_name_goes_to_the_replacement(engine):
    old = add(engine, name="Lapor Badung")
    with session_scope(engine) as session:
        revoked = key_store.revoke_key(session, "Lapor Badung")
        assert revoked.revoked_at is not None
        assert key_store.revoke_key(session, "Lapor Badung") is None
        assert key_store.revoke_key(session, "Nobody") is None
    with session_scope(engine) as session:
        assert key_store.key_for(session, old, now=NOW) is None
    new = add(engine, name="Lapor Badung")
    with session_scope(engine) as session:
        assert key_store.key_for(session, new, now=NOW).name == "Lapor Badung"
        assert key_store.key_for(session, old, now=NOW) is None
        listed = key_store.list_keys(session)
    assert [(key.name, key.revoked_at is not None) for key in listed] == [("Lapor Badung", True), ("Lapor Badung", False)]


def test_keys_are_listed_by_name_revoked_ones_too(engine):
    for name in ("Zeta", "Alpha", "Mid"):
        add(engine, name=name)
    with session_scope(engine) as session:
        key_store.revoke_key(session, "Mid")
    with session_scope(engine) as session:
        listed = key_store.list_keys(session)
    assert [key.name for key in listed] == ["Alpha", "Mid", "Zeta"]
    assert [key.revoked_at is not None for key in listed] == [False, True, False]


def test_last_used_is_written_at_most_once_a_minute(engine):
    raw_key = add(engine)
    assert used_at(engine, raw_key, NOW) == NOW
    assert used_at(engine, raw_key, NOW + timedelta(seconds=59)) == NOW
    assert used_at(engine, raw_key, NOW + timedelta(seconds=60)) == NOW + timedelta(seconds=60)
    assert used_at(engine, raw_key, NOW + timedelta(seconds=61)) == NOW + timedelta(seconds=60)
