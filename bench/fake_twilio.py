"""Twilio's side of the SMS path, on loopback: the REST API that captures the app's outgoing SMS,
and the signed webhooks with which Twilio delivers a citizen's SMS to the app.

The REST API is the test suite's fake (tests/fakes/twilio_api.py, the real ``twilio`` client
talks to it through TWILIO_API_URL), with the arrival time of every accepted message kept per
recipient, so that the latency part can tell when a turn's replies have all gone out.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse
from twilio.request_validator import RequestValidator

from tests.fakes.twilio_api import FakeTwilio

SMS_FROM = "+6281100001708"  # the service's number: the To of citizens' SMS, the From of the replies
WEBHOOK_PATH = "/webhooks/twilio"


@dataclass(frozen=True)
class Arrival:
    at: float  # time.perf_counter() when the Messages.json request reached the fake
    body: str


class RepliesTimeout(Exception):
    def __init__(self, received: list[Arrival]) -> None:
        super().__init__(f"{len(received)} messages received before the timeout")
        self.received = received


@dataclass
class CapturingTwilio(FakeTwilio):
    """The fake Twilio REST API, serving in its own thread (``start()``/``stop()``), with arrivals by recipient.

    Coroutines on the benchmark's event loop (``attach``) wait for messages with ``replies``; the
    server thread wakes them with ``call_soon_threadsafe``, so no one polls.
    """

    account_sid: str = field(default_factory=lambda: "AC" + secrets.token_hex(16))
    auth_token: str = field(default_factory=lambda: secrets.token_hex(16))
    arrivals: dict[str, list[Arrival]] = field(default_factory=dict)  # To -> accepted messages, in order

    def __post_init__(self) -> None:
        super().__post_init__()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._events: dict[str, asyncio.Event] = {}

    async def _create_message(self, request: Request) -> JSONResponse:
        arrived = time.perf_counter()  # before the form is read: the app's API call has reached "Twilio"
        response = await super()._create_message(request)
        if response.status_code == 201:
            created = json.loads(response.body)
            self.arrivals.setdefault(created["to"], []).append(Arrival(arrived, created["body"]))
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._wake, created["to"])
        return response

    def attach(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """The event loop whose coroutines wait in ``replies`` (None: nobody waits)."""
        self._loop = loop
        self._events = {}

    def _wake(self, to: str) -> None:
        event = self._events.get(to)
        if event is not None:
            event.set()

    def count(self, to: str) -> int:
        return len(self.arrivals.get(to, ()))

    async def replies(
        self, to: str, after: int, *, expected: int | None, counts: Callable[[str], bool], timeout: float, quiet: float
    ) -> list[Arrival]:
        """The messages to ``to`` that came after its first ``after``, once the turn is complete.

        Complete: ``expected`` of them satisfy ``counts``; without ``expected``, at least one
        does and nothing more came for ``quiet`` seconds. Raises RepliesTimeout otherwise.
        """
        loop = asyncio.get_running_loop()
        event = self._events.setdefault(to, asyncio.Event())
        deadline = loop.time() + timeout
        while True:
            event.clear()  # cleared before looking: a message arriving after the look sets it again
            new = self.arrivals.get(to, [])[after:]
            answered = sum(counts(a.body) for a in new)
            if expected is not None and answered >= expected:
                return new
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise RepliesTimeout(new)
            wait = min(quiet, remaining) if expected is None and answered else remaining
            try:
                await asyncio.wait_for(event.wait(), wait)
            except TimeoutError:
                if expected is None and answered:
                    return new


class TwilioWebhooks:
    """A citizen's SMS as Twilio posts it to ``PUBLIC_BASE_URL/webhooks/twilio``: the form fields of
    an incoming SMS, signed in X-Twilio-Signature with the auth token over the public URL."""

    def __init__(self, public_base_url: str, account_sid: str, auth_token: str) -> None:
        self.url = public_base_url.rstrip("/") + WEBHOOK_PATH
        self._account_sid = account_sid
        self._validator = RequestValidator(auth_token)
        self._run = secrets.token_hex(4)
        self._sids = itertools.count(1)

    def request(self, sender: str, text: str) -> tuple[bytes, dict[str, str]]:
        """Body and headers of one webhook; every message gets its own MessageSid (the app dedups on it)."""
        sid = f"SM{self._run}{next(self._sids):024x}"  # SM + 32 hex digits
        params = {
            "ToCountry": "ID", "ToState": "", "ToCity": "", "ToZip": "",
            "FromCountry": "ID", "FromState": "", "FromCity": "", "FromZip": "",
            "SmsMessageSid": sid, "SmsSid": sid, "MessageSid": sid, "SmsStatus": "received",
            "NumMedia": "0", "NumSegments": "1" if len(text) <= 160 else str(-(-len(text) // 153)),
            "Body": text, "From": sender, "To": SMS_FROM,
            "AccountSid": self._account_sid, "ApiVersion": "2010-04-01",
        }  # fmt: skip
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": self._validator.compute_signature(self.url, params),
        }
        return urlencode(params).encode(), headers
