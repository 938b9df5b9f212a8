"""The app as the public reaches it (``PUBLIC_BASE_URL`` set) on a migrated SQLite store, with the
pilot world of casework_support: the fixtures of the public page's and the Open311 server's tests.

A pytest plugin of tests/conftest.py (``pytest_plugins``): a module with its own fixture of the
same name uses that one.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from bot.app import create_app
from bot.config import Settings
from storage.db import session_scope
from tests.casework_support import World, build_world

BASE_URL = "https://aduan.example.go.id"


@pytest.fixture
def client(sqlite_url):
    settings = Settings(DATABASE_URL=sqlite_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t", PUBLIC_BASE_URL=BASE_URL)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def world(client, store) -> World:
    with session_scope(store) as session:
        return build_world(session)
