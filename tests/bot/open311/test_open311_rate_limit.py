"""Each Open311 key posts at most OPEN311_KEY_RATE requests per window (issue #26): over it, a 429
with Retry-After and the spec's error body in the request's format. Counted in the store, so the
limit holds across app instances; another key is not affected."""

from __future__ import annotations

import pytest

from bot.config import Settings
from tests.bot.open311.conftest import client_on, post, store_on, xml

ROAD = dict(service_code="infrastruktur", description="Jalan berlubang di depan pasar", address_id="34.04.06")


@pytest.fixture
def store(database_url):  # SQLite, and PostgreSQL where the server is up
    yield from store_on(database_url)


@pytest.fixture
def client(database_url, store):
    yield from client_on(database_url, OPEN311_KEY_RATE="3/minute")


def test_a_key_over_its_rate_is_answered_429_with_retry_after_in_its_format(client, keys, world):
    answers = [post(client, "requests.json", api_key=keys.form, **ROAD).status_code for _ in range(3)]
    assert answers == [200, 200, 200]
    refused = post(client, "requests.json", api_key=keys.form, **ROAD)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    [body] = refused.json()
    assert body["code"] == 429 and "3 requests per minute" in body["description"]
    as_xml = post(client, "requests.xml", api_key=keys.form, **ROAD)
    assert as_xml.status_code == 429 and xml(as_xml).find("error/code").text == "429"
    assert "Retry-After" in as_xml.headers
    # updates count too, and another key still posts
    update = post(client, "servicerequestupdates.json", api_key=keys.form, service_request_id="1", status="open")
    assert update.status_code == 429
    assert post(client, "requests.json", api_key=keys.sleman, **ROAD).status_code == 200


def test_a_keys_reads_count_against_its_rate_and_keyless_reads_do_not(client, keys, world):
    reads = [client.get("/open311/v2/requests.json", params={"api_key": keys.pupr}).status_code for _ in range(3)]
    assert reads == [200, 200, 200]
    refused = client.get("/open311/v2/servicerequestupdates.xml", params={"api_key": keys.pupr})
    assert refused.status_code == 429 and "Retry-After" in refused.headers
    assert xml(refused).find("error/code").text == "429"
    assert post(client, "servicerequestupdates.json", api_key=keys.pupr, service_request_id="1", status="open").status_code == 429
    for _ in range(5):  # the public is limited by the proxy per address, not here
        assert client.get("/open311/v2/requests.json").status_code == 200


def test_the_rate_is_read_from_the_environment_and_refused_when_malformed():
    assert Settings(OPEN311_KEY_RATE="120/hour").open311_key_limit == (120, 3600)
    assert Settings().open311_key_limit == (60, 60)
    with pytest.raises(ValueError):
        Settings(OPEN311_KEY_RATE="lots")
