"""Sends through Telegram, courier-style: recorded Bot API error responses -> the failure class.

Each row of tests/data/outgoing_telegram.json is an answer to ``sendMessage`` as the Bot API (or
the proxy in front of it) sends it: the HTTP status and the body, ``{"ok": false, "error_code":
..., "description": ..., "parameters": ...}``. The adapter classifies python-telegram-bot's
exceptions inside ``TelegramAdapter.send`` (there is no classifier of its own to call), so every
row runs twice through ``send``: with the recorded answer handed to python-telegram-bot in
process (its own request layer, no socket), and with the real client against a loopback server
that answers with it. The class decides what the dispatcher does next.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot
from telegram.request import BaseRequest

from channels.base import OutgoingMessage, SendOutcome
from channels.telegram import TelegramAdapter
from tests.fakes.server import BackgroundServer, free_port

ROWS = json.loads((Path(__file__).parents[1] / "data" / "outgoing_telegram.json").read_text())
ANSWERED = [row for row in ROWS if not row["response"].get("refused")]
TOKEN = "4242:test-token"
CHAT_ID = 123456789
BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Aduan", "username": "aduan_bot"}
TEXT = "Tiket 1234-5678: DIPROSES"


def ids(rows: list[dict]) -> list[str]:
    return [row["name"] for row in rows]


def recorded_bytes(response: dict) -> bytes:
    return (json.dumps(response["body"]) if "body" in response else response["text"]).encode()


def accepted(chat_id: int, text: str, message_id: int) -> dict:
    return {
        "ok": True,
        "result": {"message_id": message_id, "date": int(time.time()), "text": text,
                   "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER},
    }


class ReplayRequest(BaseRequest):
    """python-telegram-bot's request layer answering from the recording instead of the network."""

    def __init__(self, answers: list[dict]) -> None:
        self.answers = answers

    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(self, url, method, request_data=None, **timeouts) -> tuple[int, bytes]:
        if url.endswith("/getMe"):
            return 200, json.dumps({"ok": True, "result": BOT_USER}).encode()
        if url.endswith("/sendMessage") and self.answers:
            answer = self.answers.pop(0)
            return answer["status"], recorded_bytes(answer)
        return 200, json.dumps(accepted(CHAT_ID, TEXT, 100)).encode()


class RecordedTelegram:
    """A Bot API on loopback: getMe answers, sendMessage answers with a recorded response, then accepts."""

    def __init__(self) -> None:
        self.answers: list[dict] = []
        self.sent: list[dict] = []

    async def _method(self, request: Request) -> Response:
        method = request.path_params["method"]
        if method == "getMe":
            return JSONResponse({"ok": True, "result": BOT_USER})
        if method != "sendMessage":
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        params = await request.json() if request.headers.get("content-type", "").startswith("application/json") \
            else dict(await request.form())
        self.sent.append(params)
        if self.answers:
            answer = self.answers.pop(0)
            media_type = "application/json" if "body" in answer else "text/html"
            return Response(recorded_bytes(answer), status_code=answer["status"], media_type=media_type)
        return JSONResponse(accepted(int(params["chat_id"]), params["text"], 100 + len(self.sent)))

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/bot{token}/{method}", self._method, methods=["POST", "GET"])])


@pytest.fixture(scope="module")
def server():
    fake = RecordedTelegram()
    running = BackgroundServer(fake.app()).start()
    yield fake, running.url
    running.stop()


@pytest.fixture
def telegram(server):
    fake, url = server
    fake.answers.clear()
    fake.sent.clear()
    return fake, url


def message() -> OutgoingMessage:
    return OutgoingMessage(message_id=1, urn=f"telegram:{CHAT_ID}", channel="telegram", text=TEXT)


def send(adapter: TelegramAdapter):
    async def go():
        try:
            return await adapter.send(message())
        finally:
            await adapter.aclose()

    return asyncio.run(go())


def assert_classified(result, row: dict) -> None:
    expected = row["expected"]
    assert result.outcome is SendOutcome(expected["outcome"]), result.error
    assert expected["error_has"] in (result.error or ""), result.error
    seconds = expected.get("retry_after_seconds")
    assert result.retry_after == (None if seconds is None else timedelta(seconds=seconds))
    assert result.external_id is None


@pytest.mark.parametrize("row", ANSWERED, ids=ids(ANSWERED))
def test_each_recorded_bot_api_error_handed_to_python_telegram_bot_gets_its_failure_class(row):
    adapter = TelegramAdapter(token=TOKEN)
    replay = ReplayRequest([row["response"]])
    adapter.bot = Bot(TOKEN, request=replay, get_updates_request=ReplayRequest([]))
    assert_classified(send(adapter), row)
    assert replay.answers == []  # the recorded answer was the one classified


@pytest.mark.parametrize("row", ROWS, ids=ids(ROWS))
def test_send_through_the_bot_api_client_returns_the_failure_class_of_each_recorded_response(telegram, row):
    fake, url = telegram
    if row["response"].get("refused"):
        url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    else:
        fake.answers.append(row["response"])
    assert_classified(send(TelegramAdapter(token=TOKEN, api_url=url)), row)
    if not row["response"].get("refused"):
        assert [int(m["chat_id"]) for m in fake.sent] == [CHAT_ID]  # tried once: the dispatcher retries


def test_an_accepted_send_is_delivered_with_the_chat_and_message_id_as_its_external_id(telegram):
    fake, url = telegram
    result = send(TelegramAdapter(token=TOKEN, api_url=url))
    assert (result.outcome, result.status, result.error) == (SendOutcome.sent, "delivered", None)
    assert result.external_id == f"{CHAT_ID}:101"
    assert fake.sent[0]["text"] == TEXT
