"""What the Open311 server's tests share: the public app and the pilot world (PUPR and DLH of
Kab. Sleman, tests/public_app_support.py), keys, and a parser of XML answers that keeps element order.
A module that runs on both backends (SQLite, and PostgreSQL where the server is up) defines its own
``store`` and ``client`` with ``store_on`` and ``client_on``."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import create_app
from bot.config import Settings
from storage import open311_keys
from storage.db import make_engine, session_scope
from tests.public_app_support import BASE_URL

ROOT = "/open311/v2"


def store_on(database_url: str) -> Iterator[Engine]:
    """A module's ``store`` fixture on ``database_url`` (``yield from store_on(database_url)``)."""
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def client_on(database_url: str, **settings: str) -> Iterator[TestClient]:
    """A module's ``client`` fixture: the public app on ``database_url``, with these settings too."""
    app = create_app(Settings(
        DATABASE_URL=database_url, RASA_URL="http://127.0.0.1:9", RASA_TOKEN="t", PUBLIC_BASE_URL=BASE_URL, **settings
    ))
    with TestClient(app) as client:
        yield client


@dataclass(frozen=True)
class Keys:
    form: str  # a city's web form: bound to nothing
    pupr: str  # PUPR Sleman's back office: bound to its agency
    sleman: str  # a system of Kab. Sleman: bound to the kab/kota
    bali: str  # a system bound to the province of Bali


@pytest.fixture
def keys(world, store) -> Keys:
    with session_scope(store) as session:
        made = {
            name: open311_keys.add_key(session, name=name, agency_codes=agencies, region_codes=regions)[1]
            for name, agencies, regions in (
                ("form", None, None),
                ("pupr", ["PUPR-3404"], None),
                ("sleman", None, ["34.04"]),
                ("bali", None, ["51"]),
            )
        }
    return Keys(**made)


def xml(response) -> ElementTree.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.headers["content-type"]
    return ElementTree.fromstring(response.content)


def children(element: ElementTree.Element) -> list[str]:
    return [child.tag for child in element]


def post(client, path: str, **form) -> object:
    return client.post(f"{ROOT}/{path}", data=form)
