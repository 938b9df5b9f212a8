"""A fake Telegram Bot API on loopback, spoken to by the real python-telegram-bot (TELEGRAM_API_URL)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.server import FakeService

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "Aduan", "username": "aduan_bot"}


@dataclass
class FakeTelegram(FakeService):
    token: str = "4242:test-token"
    sent: list[dict] = field(default_factory=list)  # sendMessage parameters, in order
    blocked_chats: set[int] = field(default_factory=set)  # answer 403 as Telegram does
    throttle_next: int = 0  # answer 429 (retry_after 1) this many times
    pending_updates: list[dict] = field(default_factory=list)  # served by getUpdates
    webhook: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # file_id -> content (getFile, then the file URL)

    def __post_init__(self) -> None:
        self._ids = itertools.count(100)

    async def _params(self, request: Request) -> dict:
        if request.headers.get("content-type", "").startswith("application/json"):
            return await request.json()
        params = {}
        for key, value in (await request.form()).items():
            try:
                params[key] = json.loads(value)
            except (TypeError, ValueError):
                params[key] = value
        return params

    async def _method(self, request: Request) -> JSONResponse:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401, "description": "Unauthorized"}, status_code=401)
        method, params = request.path_params["method"], await self._params(request)
        if method == "getMe":
            return self._ok(BOT_USER)
        if method in ("setWebhook", "deleteWebhook"):
            self.webhook = params if method == "setWebhook" else {}
            return self._ok(True)
        if method == "getUpdates":
            updates, self.pending_updates = self.pending_updates, []
            if not updates:
                await asyncio.sleep(0.2)
            return self._ok(updates)
        if method == "getFile":
            file_id = params["file_id"]
            if file_id not in self.files:
                return JSONResponse({"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                                    status_code=400)
            return self._ok({"file_id": file_id, "file_unique_id": "u" + file_id[-6:],
                             "file_size": len(self.files[file_id]), "file_path": f"photos/{file_id}.jpg"})
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            if chat_id in self.blocked_chats:
                return JSONResponse(
                    {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
                    status_code=403,
                )
            if self.throttle_next:
                self.throttle_next -= 1
                return JSONResponse(
                    {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                     "parameters": {"retry_after": 1}},
                    status_code=429,
                )
            message_id = next(self._ids)
            self.sent.append({**params, "message_id": message_id})
            return self._ok(
                {"message_id": message_id, "date": int(time.time()), "text": params["text"],
                 "chat": {"id": chat_id, "type": "private"}, "from": BOT_USER}
            )
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)

    @staticmethod
    def _ok(result) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent if int(m["chat_id"]) == chat_id]

    async def _file(self, request: Request) -> Response:
        if request.path_params["token"] != self.token:
            return JSONResponse({"ok": False, "error_code": 401}, status_code=401)
        file_id = request.path_params["path"].removeprefix("photos/").removesuffix(".jpg")
        return Response(self.files[file_id], media_type="image/jpeg")

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/bot{token}/{method}", self._method, methods=["POST", "GET"]),
            Route("/file/bot{token}/{path:path}", self._file, methods=["GET"]),
        ])
