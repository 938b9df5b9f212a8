"""A fake Rasa engine on loopback: the REST channel and /status, with a switch to fail."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import FakeService


@dataclass
class FakeRasa(FakeService):
    """Answers each turn with ``replies_for(text)``; ``failing`` makes it answer 500."""

    failing: bool = False
    turns: list[dict] = field(default_factory=list)
    triggered: list[dict] = field(default_factory=list)  # trigger_intent calls: sender, name, entities
    token: str = "t"
    refusing: bool = False  # answer trigger_intent with 400, as Rasa does for an intent its model lacks
    # conversation -> its events as Rasa's tracker endpoint returns them (a user event, its bot events)
    events: dict[str, list[dict]] = field(default_factory=dict)

    def replies_for(self, sender: str, text: str) -> list[dict]:
        if text == "panjang":
            return [{"recipient_id": sender, "text": "Kalimat panjang “dengan kutip” 😀 " + "kata " * 60}]
        if text == "dua":
            return [{"recipient_id": sender, "text": "satu"}, {"recipient_id": sender, "text": "dua"}]
        return [{"recipient_id": sender, "text": f"balasan: {text}"}]

    async def _webhook(self, request: Request) -> JSONResponse:
        body = await request.json()
        if self.failing:
            return JSONResponse({"error": "down"}, status_code=500)
        self.turns.append(body)
        replies = self.replies_for(body["sender"], body["message"])
        self.events.setdefault(body["sender"], []).extend(
            [{"event": "user", "text": body["message"], "metadata": body.get("metadata") or {}}]
            + [{"event": "bot", "text": r["text"], "data": {"buttons": r.get("buttons")}} for r in replies]
        )
        return JSONResponse(replies)

    async def _tracker(self, request: Request) -> JSONResponse:
        if request.query_params.get("token") != self.token:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if self.failing:
            return JSONResponse({"error": "down"}, status_code=500)
        sender = request.path_params["sender"]
        return JSONResponse({"sender_id": sender, "events": self.events.get(sender, [])})

    async def _trigger_intent(self, request: Request) -> JSONResponse:
        if request.query_params.get("token") != self.token:
            return JSONResponse({"error": "unauthorized"}, status_code=401)
        if self.failing:
            return JSONResponse({"error": "down"}, status_code=500)
        body = await request.json()
        if self.refusing:
            return JSONResponse({"error": f"unknown intent {body['name']}"}, status_code=400)
        self.triggered.append({"sender": request.path_params["sender"], **body})
        return JSONResponse({"tracker": {}, "messages": []})

    async def _status(self, request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "fake.tar.gz"})

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
                Route("/status", self._status, methods=["GET"]),
                Route("/conversations/{sender}/trigger_intent", self._trigger_intent, methods=["POST"]),
                Route("/conversations/{sender}/tracker", self._tracker, methods=["GET"]),
            ]
        )
