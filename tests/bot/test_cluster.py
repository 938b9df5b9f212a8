"""`aduan run --apps N --engines M` refuses what cannot work, before it starts anything (issue #12)."""

from __future__ import annotations

import os
import subprocess

import pytest

from bot.cli import ROOT, lock_store_environment
from bot.cluster import refusals
from bot.config import Settings

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/aduan"
SHARED_TRACKER = {"RASA_TRACKER_DIALECT": "postgresql", "RASA_TRACKER_HOST": "127.0.0.1:5432", "REDIS_URL": "redis://127.0.0.1:6379/0"}


@pytest.mark.parametrize(
    ("apps", "engines", "settings", "refused"),
    [
        (1, 1, {}, []),
        (2, 1, {}, ["PostgreSQL store"]),  # SQLite is one process's store
        (2, 1, {"DATABASE_URL": PG}, []),
        (1, 2, {"DATABASE_URL": PG}, ["tracker store", "lock store"]),
        (1, 2, {"DATABASE_URL": PG, "RASA_TRACKER_DIALECT": "postgresql"}, ["lock store"]),
        (2, 2, {"DATABASE_URL": PG, **SHARED_TRACKER}, []),
        (0, 1, {}, ["at least 1"]),
    ],
)
def test_what_each_layout_needs(apps, engines, settings, refused):
    problems = refusals(Settings(**settings), apps, engines)
    assert len(problems) == len(refused)
    for problem, words in zip(problems, refused):
        assert words in problem


def test_the_command_refuses_sqlite_with_two_app_instances_and_says_what_to_set(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'aduan.db'}"}
    result = subprocess.run(
        [str(ROOT / ".venv" / "app" / "bin" / "aduan"), "run", "--apps", "2"],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "DATABASE_URL=postgresql" in result.stderr
    assert not (tmp_path / "aduan.db").exists()  # nothing was started, not even a migration


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/3", ("127.0.0.1", "6379", "3", "")),
        ("redis://:s%40cret@cache.internal/0", ("cache.internal", "6379", "0", "s@cret")),
        ("", ("127.0.0.1", "6379", "0", "")),  # every variable of endpoints.cluster.yml is set
    ],
)
def test_redis_url_becomes_the_lock_store_settings_rasa_reads(url, expected):
    env = lock_store_environment(url)
    assert (env["RASA_LOCK_STORE_HOST"], env["RASA_LOCK_STORE_PORT"], env["RASA_LOCK_STORE_DB"], env["RASA_LOCK_STORE_PASSWORD"]) == expected
