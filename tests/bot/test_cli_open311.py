"""``aduan open311 key add|revoke|list``: the key alone on the last line, bindings checked, never listed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot import cli
from bot.config import Settings
from storage import agencies as agency_store
from storage import open311_keys as key_store
from storage.db import session_scope

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def run_cli(sqlite_url: str, *argv: str) -> None:
    """As ``aduan ...`` runs it: parsed by the real parser, dispatched to the command's function."""
    args = cli.build_parser().parse_args(list(argv))
    assert args.migrate_first
    args.func(Settings(DATABASE_URL=sqlite_url), args)


def refused(sqlite_url: str, *argv: str) -> str:
    with pytest.raises(SystemExit) as refusal:
        run_cli(sqlite_url, *argv)
    message = refusal.value.code
    assert isinstance(message, str) and "\n" not in message  # printed on stderr, exit status 1
    return message


def key_for(store, raw_key: str):
    with session_scope(store) as session:
        return key_store.key_for(session, raw_key, now=NOW)


@pytest.fixture
def pupr(store) -> str:
    with session_scope(store) as session:
        agency_store.create_agency(session, code="PUPR-3404", name="Dinas PUPR Kabupaten Sleman", region_code="34.04")
    return "PUPR-3404"


def test_the_key_is_alone_on_the_last_line_and_verifies(sqlite_url, store, pupr, capsys):
    run_cli(sqlite_url, "open311", "key", "add", "--name", "Qlue Sleman", "--agency", pupr, "--region", "34.04")
    lines = capsys.readouterr().out.splitlines()
    raw_key = lines[-1]
    assert raw_key.startswith("o311_") and " " not in raw_key
    assert all(raw_key not in line for line in lines[:-1])
    key = key_for(store, raw_key)
    assert key.name == "Qlue Sleman"
    assert (key_store.agencies_of(key), key_store.regions_of(key)) == (["PUPR-3404"], ["34.04"])


def test_a_revoked_key_no_longer_verifies(sqlite_url, store, capsys):
    run_cli(sqlite_url, "open311", "key", "add", "--name", "Form Kota")
    raw_key = capsys.readouterr().out.splitlines()[-1]
    run_cli(sqlite_url, "open311", "key", "revoke", "--name", "Form Kota")
    assert "revoked" in capsys.readouterr().out
    assert key_for(store, raw_key) is None
    assert "no live Open311 key named 'Form Kota'" in refused(sqlite_url, "open311", "key", "revoke", "--name", "Form Kota")


def test_an_unknown_agency_is_refused_and_no_key_made(sqlite_url, store, pupr):
    message = refused(sqlite_url, "open311", "key", "add", "--name", "Salah", "--agency", pupr, "--agency", "NOPE-1")
    assert message == "no agency with code NOPE-1; see `aduan agency list`"
    with session_scope(store) as session:
        assert key_store.list_keys(session) == []


@pytest.mark.parametrize(
    "region, expected",
    [("Sleman", "is not a province"), ("34.4", "is not a province"), ("34.04.07", "is not a province"), ("99", "no province or kab/kota")],
)
def test_a_region_must_be_a_known_province_or_kab_kota(sqlite_url, store, region, expected):
    assert expected in refused(sqlite_url, "open311", "key", "add", "--name", "Salah", "--region", region)


def test_a_name_in_use_is_refused(sqlite_url, store, capsys):
    run_cli(sqlite_url, "open311", "key", "add", "--name", "Form Kota")
    message = refused(sqlite_url, "open311", "key", "add", "--name", "Form Kota")
    assert "'Form Kota' exists already" in message


def test_the_list_shows_names_prefixes_and_bindings_never_the_keys(sqlite_url, store, pupr, capsys):
    run_cli(sqlite_url, "open311", "key", "add", "--name", "Qlue Sleman", "--agency", pupr, "--region", "34.04,51")
    first = capsys.readouterr().out.splitlines()[-1]
    run_cli(sqlite_url, "open311", "key", "add", "--name", "Form Kota")
    second = capsys.readouterr().out.splitlines()[-1]
    run_cli(sqlite_url, "open311", "key", "revoke", "--name", "Form Kota")
    key_for(store, first)
    capsys.readouterr()
    run_cli(sqlite_url, "open311", "key", "list")
    listing = capsys.readouterr().out
    form, qlue = listing.splitlines()
    assert form.startswith("Form Kota") and f"{second[:12]}..." in form and "revoked 20" in form
    assert "last used never; any agency, anywhere" in form
    assert qlue.startswith("Qlue Sleman") and " live " in qlue
    assert "last used 2026-12-04 09:00 UTC; agencies PUPR-3404, in 34.04, 51" in qlue
    with session_scope(store) as session:
        hashes = [key.key_hash for key in key_store.list_keys(session)]
    for secret in (first, second, *hashes):
        assert secret not in listing
