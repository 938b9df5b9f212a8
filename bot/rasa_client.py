"""The app's client of its Rasa servers: turns, pushes, a turn's answer read back, status.

With several servers (``RASA_URLS``) each conversation has its own order of servers, a stable
hash of its address: it goes to its first server while that one is up, so its turns do not hop
between servers for nothing, and conversations spread evenly. When a server cannot be connected
to (down, restarting), the request never reached it and goes to the next one at once; any other
failure (a timeout, a connection cut while Rasa answered) may have happened after Rasa processed
the turn, so it is not sent anywhere else: the caller asks the tracker first (``answer_to``) on
the next attempt. Every server reads and writes the one tracker store (PostgreSQL), so any of them
can answer for any conversation.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import quote

import httpx

T = TypeVar("T")


class EngineUnavailable(Exception):
    """Rasa did not answer (down, restarting, timing out, or an error)."""


class EngineUnreachable(EngineUnavailable):
    """The request never reached Rasa (no connection): safe to send to another server."""


class EngineRefused(Exception):
    """Rasa answered that the request itself is wrong (4xx): retrying will not help."""


_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class RasaClient:
    """Rasa's REST channel for turns; its HTTP API (token-protected) for pushes, trackers and status."""

    def __init__(self, base_urls: str | list[str], token: str, timeout: float = 30.0) -> None:
        urls = [base_urls] if isinstance(base_urls, str) else list(base_urls)
        if not urls:
            raise ValueError("at least one Rasa server is needed")
        self._token = token
        self._servers = [httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout) for url in urls]

    @property
    def urls(self) -> list[str]:
        return [str(server.base_url) for server in self._servers]

    def servers_for(self, sender: str) -> list[httpx.AsyncClient]:
        """This conversation's servers, its own first (a hash stable across processes and restarts)."""
        first = zlib.crc32(sender.encode()) % len(self._servers)
        return self._servers[first:] + self._servers[:first]

    async def _on_servers(self, sender: str, call: Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]) -> httpx.Response:
        failure: Exception | None = None
        for server in self.servers_for(sender):
            try:
                return await call(server)
            except _NOT_SENT as exc:
                failure = exc  # it never got there: the next server
            except httpx.HTTPError as exc:
                raise EngineUnavailable(type(exc).__name__) from exc
        raise EngineUnreachable(f"no Rasa server could be reached ({type(failure).__name__})")

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self._on_servers(
            sender,
            lambda server: server.post(
                "/webhooks/rest/webhook", json={"sender": sender, "message": text, "metadata": metadata}
            ),
        )
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        return _json(response) or []

    async def trigger_intent(self, sender: str, intent: str, entities: dict[str, Any]) -> list[dict[str, Any]]:
        """Tell a conversation what happened outside it (an ``EXTERNAL_`` intent); returns the bot's messages."""
        response = await self._on_servers(
            sender,
            lambda server: server.post(
                # Rasa (Sanic) does not percent-decode the conversation id: send the URN as it is
                f"/conversations/{quote(sender, safe=':+')}/trigger_intent",
                params={"token": self._token},
                json={"name": intent, "entities": entities},
            ),
        )
        if 400 <= response.status_code < 500 and response.status_code not in (401, 408, 409, 429):
            raise EngineRefused(f"HTTP {response.status_code}: {response.text[:200]}")
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        return (_json(response) or {}).get("messages") or []

    async def answer_to(self, sender: str, message_id: int) -> list[dict[str, Any]] | None:
        """What Rasa answered to our inbound message ``message_id``, or None if it never processed it.

        Rasa keeps the metadata we send with a turn on its user event, and saves a turn's events
        together once the turn is over: a user event carrying this id means the whole turn ran,
        and the bot events after it (up to the next user event) are its answer.
        """
        response = await self._on_servers(
            sender,
            lambda server: server.get(
                f"/conversations/{quote(sender, safe=':+')}/tracker",
                params={"token": self._token, "include_events": "ALL"},
            ),
        )
        if response.status_code != 200:
            raise EngineUnavailable(f"HTTP {response.status_code}")
        return answer_in_events((_json(response) or {}).get("events") or [], message_id)

    async def status(self) -> dict[str, Any]:
        """The status of the first server that answers (model loaded); raises EngineUnavailable."""
        states = await self.statuses()
        for state in states:
            if state.get("state") == "ok":
                return state
        raise EngineUnavailable("; ".join(f"{s['url']}: {s['state']}" for s in states))

    async def statuses(self) -> list[dict[str, Any]]:
        """Each server's state, for the health refresh (asked at once: a hung server costs its timeout once)."""

        async def ask(server: httpx.AsyncClient) -> dict[str, Any]:
            state: dict[str, Any] = {"url": str(server.base_url)}
            try:
                response = await server.get("/status", params={"token": self._token}, timeout=3.0)
                if response.status_code == 200:
                    state |= {"state": "ok", "model_file": response.json().get("model_file")}
                else:
                    state["state"] = f"unreachable: HTTP {response.status_code}"
            except (httpx.HTTPError, ValueError) as exc:
                state["state"] = f"unreachable: {type(exc).__name__}"
            return state

        return list(await asyncio.gather(*(ask(server) for server in self._servers)))

    async def aclose(self) -> None:
        for server in self._servers:
            await server.aclose()


def answer_in_events(events: list[dict[str, Any]], message_id: int) -> list[dict[str, Any]] | None:
    """The bot messages after the user event of ``message_id`` (in REST channel form), or None."""
    answer: list[dict[str, Any]] | None = None
    for event in events:
        kind = event.get("event")
        if kind == "user":
            if answer is not None:
                break  # the next turn began
            if (event.get("metadata") or {}).get("message_id") == message_id:
                answer = []
        elif kind == "bot" and answer is not None:
            data = event.get("data") or {}
            answer.append({"text": event.get("text"), "buttons": data.get("buttons")})
    return answer


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError as exc:  # a cut-off answer (the engine killed while answering): like no answer
        raise EngineUnavailable("the answer is not JSON") from exc
