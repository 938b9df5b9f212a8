"""The REST API's transaction per request (bot/api/deps.py): committed before the answer is sent.

A route's session is a ``yield`` dependency of FastAPI scope ``"function"``: its commit runs after
the route returns and before the response goes out. This pins it: a commit that fails is a 500
and nothing is kept (with the default scope the 201 would already be on its way, for a change that
was lost). That refused changes are rolled back is tested with each action (tests/api/test_api_casework.py).
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

from bot.api import deps
from bot.app import create_app
from bot.config import Settings
from storage import agencies as agency_store
from storage import officers as officer_store
from storage.db import session_scope
from storage.models import OfficerRole

NEW_AGENCY = {"code": "BPBD-3404", "name": "BPBD Kabupaten Sleman", "region_code": "34.04"}


@pytest.fixture
def client(sqlite_url):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def admin(store) -> dict[str, str]:
    with session_scope(store) as session:
        officer = officer_store.create_officer(
            session, name="Admin", agency_id=agency_store.national_queue(session).id, role=OfficerRole.admin
        )
        return {"Authorization": f"Bearer {officer_store.issue_token(session, officer.id)}"}


def _agency_exists(store, code: str) -> bool:
    with session_scope(store) as session:
        return agency_store.get_agency_by_code(session, code) is not None


def test_a_commit_that_fails_is_a_server_error_and_keeps_nothing(client, store, admin, monkeypatch):
    real_scope = deps.session_scope

    @contextmanager
    def commit_fails(engine):
        with real_scope(engine) as session:
            def fail() -> None:
                raise OperationalError("COMMIT", {}, Exception("disk I/O error"))

            monkeypatch.setattr(session, "commit", fail)
            yield session

    monkeypatch.setattr(deps, "session_scope", commit_fails)
    assert client.post("/api/v1/agencies", json=NEW_AGENCY, headers=admin).status_code == 500
    monkeypatch.undo()
    assert not _agency_exists(store, NEW_AGENCY["code"])
