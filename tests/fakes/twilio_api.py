"""A fake Twilio REST API on loopback, spoken to by the real `twilio` client (TWILIO_API_URL)."""

from __future__ import annotations

import asyncio
import base64
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from tests.fakes.server import FakeService


@dataclass
class FakeTwilio(FakeService):
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "twilio-test-token"
    sent: list[dict] = field(default_factory=list)  # every accepted Messages.json request, in order
    # errors to answer with, in order, before accepting again: (http status, twilio error code)
    errors: list[tuple[int, int]] = field(default_factory=list)
    requests: int = 0
    media: dict[str, bytes] = field(default_factory=dict)  # media id -> content, served as Twilio serves MediaUrl
    # When set, a send's StatusCallback gets a signed "sent" callback this many seconds after the send
    # was accepted, as Twilio does; the record's "callback" then says how it went: "delivered" (a 2xx),
    # "HTTP <status>", or the name of the error when no address took it
    status_callback_delay: float | None = None
    # the addresses to try, in order, for a callback URL (a load balancer in front of several app
    # instances); the signature stays that of the URL itself, as behind a real load balancer
    callback_addresses: Callable[[str], list[str]] = lambda url: [url]

    def __post_init__(self) -> None:
        self._sids = itertools.count(1)
        self._callbacks: set[asyncio.Task] = set()

    async def _create_message(self, request: Request) -> JSONResponse:
        self.requests += 1
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        form = dict(await request.form())
        if self.errors:
            status, code = self.errors.pop(0)
            return JSONResponse({"code": code, "message": f"error {code}", "status": status}, status_code=status)
        sid = f"SM{next(self._sids):032x}"
        record = {**form, "sid": sid, "accepted_at": time.monotonic()}  # when the send reached "Twilio"
        self.sent.append(record)
        if self.status_callback_delay is not None and form.get("StatusCallback"):
            task = asyncio.get_running_loop().create_task(self._call_back(record))
            self._callbacks.add(task)
            task.add_done_callback(self._callbacks.discard)
        return JSONResponse(
            {
                "sid": sid,
                "account_sid": self.account_sid,
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body", ""),
                "status": "queued",
                "num_segments": "1",
                "direction": "outbound-api",
            },
            status_code=201,
        )

    async def _call_back(self, record: dict) -> None:
        await asyncio.sleep(self.status_callback_delay)
        url = record["StatusCallback"]
        params = {
            "AccountSid": self.account_sid, "ApiVersion": "2010-04-01", "From": record.get("From", ""),
            "To": record.get("To", ""), "MessageSid": record["sid"], "SmsSid": record["sid"],
            "MessageStatus": "sent", "SmsStatus": "sent",
        }
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        outcome = "no address"
        async with httpx.AsyncClient(timeout=15) as http:  # Twilio's own callback timeout
            for address in self.callback_addresses(url):
                try:
                    response = await http.post(address, data=params, headers={"X-Twilio-Signature": signature})
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                    continue
                outcome = "delivered" if response.is_success else f"HTTP {response.status_code}"
                break
        record["callback"] = outcome

    def media_url(self, media_id: str, message_sid: str = "MM" + "1" * 32) -> str:
        return f"{self.url}/2010-04-01/Accounts/{self.account_sid}/Messages/{message_sid}/Media/{media_id}"

    async def _media(self, request: Request) -> Response:
        """Like Twilio: the API checks the credentials, then redirects to the file's storage."""
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"code": 20003, "message": "Authenticate", "status": 401}, status_code=401)
        media_id = request.path_params["media_id"]
        if media_id not in self.media:
            return JSONResponse({"code": 20404, "message": "Not found", "status": 404}, status_code=404)
        return RedirectResponse(f"/storage/{media_id}", status_code=307)

    async def _storage(self, request: Request) -> Response:
        return Response(self.media[request.path_params["media_id"]], media_type="image/jpeg")

    def bodies_to(self, to: str) -> list[str]:
        return [m.get("Body", "") for m in self.sent if m.get("To") == to]

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/2010-04-01/Accounts/{sid}/Messages.json", self._create_message, methods=["POST"]),
                Route("/2010-04-01/Accounts/{sid}/Messages/{msid}/Media/{media_id}", self._media, methods=["GET"]),
                Route("/storage/{media_id}", self._storage, methods=["GET"]),
            ]
        )
