"""What the Open311 server's tests share: the public app and the pilot world (PUPR and DLH of
Kab. Sleman, tests/public_app_support.py), keys, and a parser of XML answers that keeps element order."""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree

import pytest

from storage import open311_keys
from storage.db import session_scope

ROOT = "/open311/v2"


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
