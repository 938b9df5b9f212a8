"""Sends through Twilio, courier-style: recorded REST error responses -> the failure class.

Each row of tests/data/outgoing_twilio.json is a response as Twilio (or a proxy in front of it)
answers ``POST /2010-04-01/Accounts/{sid}/Messages.json``: the HTTP status and the body as sent.
Every row runs twice: straight through ``classify_error`` (the exception built by the ``twilio``
library itself from the recorded response), and through ``TwilioAdapter.send``, the real client
against a loopback server that answers with the recorded response. The class decides what the
dispatcher does next: retry soon, retry after the delay, stop sending to the address, give up.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from twilio.base.version import Version
from twilio.http.response import Response as TwilioResponse

from channels.base import OutgoingMessage, SendOutcome
from channels.twilio import TwilioAdapter, classify_error
from tests.fakes.server import BackgroundServer, free_port

ROWS = json.loads((Path(__file__).parents[1] / "data" / "outgoing_twilio.json").read_text())
ANSWERED = [row for row in ROWS if not row["response"].get("refused")]
ACCOUNT_SID = "AC" + "0" * 32
AUTH_TOKEN = "twilio-test-token"
TEMPLATE_SID = "HX" + "7" * 32
CITIZEN = "+6281234567890"
MESSAGES_URI = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def ids(rows: list[dict]) -> list[str]:
    return [row["name"] for row in rows]


def recorded_text(response: dict) -> str:
    return json.dumps(response["body"]) if "body" in response else response["text"]


class RecordedTwilio:
    """Answers the next Messages.json request with a recorded response, then accepts as Twilio does."""

    def __init__(self) -> None:
        self.answers: list[dict] = []
        self.requests: list[dict[str, str]] = []

    async def _create(self, request: Request) -> Response:
        form = dict(await request.form())
        self.requests.append(form)
        if self.answers:
            answer = self.answers.pop(0)
            media_type = "application/json" if "body" in answer else "text/html"
            return Response(recorded_text(answer), status_code=answer["status"], media_type=media_type)
        sid = f"SM{len(self.requests):032x}"
        return JSONResponse(
            {"sid": sid, "account_sid": ACCOUNT_SID, "to": form.get("To"), "from": form.get("From"),
             "body": form.get("Body", ""), "status": "queued", "direction": "outbound-api"},
            status_code=201,
        )

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create, methods=["POST"])])


@pytest.fixture(scope="module")
def server():
    fake = RecordedTwilio()
    running = BackgroundServer(fake.app()).start()
    yield fake, running.url
    running.stop()


@pytest.fixture
def twilio(server):
    fake, url = server
    fake.answers.clear()
    fake.requests.clear()
    return fake, url


def adapter_for(api_url: str, row: dict) -> TwilioAdapter:
    return TwilioAdapter(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sms_from="+6281100001708",
        whatsapp_from="whatsapp:+6281100001709",
        whatsapp_template_sid=row.get("whatsapp_template_sid", TEMPLATE_SID),
        api_url=api_url,
    )


def message_for(row: dict) -> OutgoingMessage:
    # the citizen wrote an hour ago: a WhatsApp text goes free-form, inside the 24-hour window
    return OutgoingMessage(
        message_id=1,
        urn=f"{row['channel']}:{CITIZEN}",
        channel=row["channel"],
        text="Tiket 1234-5678: DIPROSES",
        last_inbound_at=datetime.now(timezone.utc) - timedelta(hours=1),
    )


def send(api_url: str, row: dict):
    async def go():
        adapter = adapter_for(api_url, row)
        try:
            return await adapter.send(message_for(row))
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def retry_after(row: dict) -> timedelta | None:
    seconds = row["expected"].get("retry_after_seconds")
    return None if seconds is None else timedelta(seconds=seconds)


@pytest.mark.parametrize("row", ANSWERED, ids=ids(ANSWERED))
def test_the_classifier_puts_each_recorded_twilio_error_in_its_failure_class(row):
    response = row["response"]
    # the exception exactly as the twilio library makes it of this response
    error = Version.exception(
        "POST", MESSAGES_URI, TwilioResponse(response["status"], recorded_text(response)), "Unable to create record"
    )
    result = classify_error(error)
    assert result.outcome is SendOutcome(row["expected"]["classified"])
    assert result.retry_after == retry_after(row)
    assert result.external_id is None


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_send_through_the_twilio_client_returns_the_failure_class_of_each_recorded_response(twilio, row):
    fake, url = twilio
    if row["response"].get("refused"):
        url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    else:
        fake.answers.append(row["response"])
    result = send(url, row)
    expected = row["expected"]
    assert result.outcome is SendOutcome(expected["sent"]), result.error
    if result.outcome is SendOutcome.sent:
        assert result.external_id and result.external_id.startswith("SM")
    else:
        assert expected["error_has"] in (result.error or ""), result.error
        assert result.retry_after == retry_after(row)


def test_after_63016_the_push_goes_once_more_as_the_approved_template_with_the_text_as_its_variable(twilio):
    fake, url = twilio
    [row] = [r for r in ROWS if r["expected"].get("template_sent")]
    fake.answers.append(row["response"])
    result = send(url, row)
    assert result.outcome is SendOutcome.sent
    free_form, template = fake.requests
    assert free_form["Body"] == "Tiket 1234-5678: DIPROSES" and "ContentSid" not in free_form
    assert template["ContentSid"] == TEMPLATE_SID and "Body" not in template
    assert json.loads(template["ContentVariables"]) == {"1": "Tiket 1234-5678: DIPROSES"}
    assert template["To"] == f"whatsapp:{CITIZEN}"


def test_a_failed_send_is_tried_once_by_the_client_the_dispatcher_decides_about_retries(twilio):
    fake, url = twilio
    [row] = [r for r in ROWS if r["name"] == "500 internal server error"]
    fake.answers.extend([row["response"], row["response"]])
    assert send(url, row).outcome is SendOutcome.retry
    assert len(fake.requests) == 1
