"""A fake Rasa engine on loopback: the REST channel and /status, with a switch to fail."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class FakeRasa:
    """Answers each turn with ``replies_for(text)``; ``failing`` makes it answer 500."""

    failing: bool = False
    turns: list[dict] = field(default_factory=list)
    port: int = 0

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
        return JSONResponse(self.replies_for(body["sender"], body["message"]))

    async def _status(self, request: Request) -> JSONResponse:
        return JSONResponse({"model_file": "fake.tar.gz"})

    def start(self) -> "FakeRasa":
        app = Starlette(
            routes=[
                Route("/webhooks/rest/webhook", self._webhook, methods=["POST"]),
                Route("/status", self._status, methods=["GET"]),
            ]
        )
        self.port = free_port()
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Rasa did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
