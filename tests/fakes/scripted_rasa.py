"""An in-process stand-in for ``bot.rasa_client.RasaClient``, for interleavings decided by the test.

The HTTP fake (tests/fakes/rasa.py) answers at once; this one lets a test hold a turn "at Rasa"
while something else happens (an officer answers, the retry loop runs), then let it go, and
records what the dialogue was told in the order the engine received it. It also plays the part
of the thread rules (bot/actions/thread.py) in a few lines: after an EXTERNAL_officer_reply the
citizen's next words are relayed to the complaint, after an EXTERNAL_resolution_check "belum"
reopens it and "ya" closes it, through the same casework functions the real actions call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from bot.rasa_client import EngineUnavailable


class ScriptedRasa:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []  # ("turn", text) or ("push", intent), as received
        self.held: dict[str, asyncio.Event] = {}  # turn text -> released when set
        self.arrived: dict[str, asyncio.Event] = {}  # turn text -> set when the turn reached the engine
        self.turns_down = False  # the REST channel answers 500
        self.pushes_down = False  # trigger_intent answers 500
        self.raising: set[str] = set()  # turn texts whose answer makes our code fail (not JSON-like)
        self.in_flight = 0
        self.most_in_flight = 0
        self.threads: dict[str, tuple[str, str] | None] = {}  # sender -> (kind, ticket) of the open thread
        self.on_answer: Callable[[str, str, str, str], Awaitable[str]] | None = None  # kind, ticket, sender, text
        self.yields = 0  # extra scheduling points in each call (a test varies them)
        self.answers: dict[int, list[dict[str, Any]]] = {}  # our message id -> what the tracker holds
        self.silent: set[str] = set()  # turn texts answered with no bot message (an action call was lost)
        self.losing: set[str] = set()  # turn texts processed, whose answer is then lost (a read timeout)
        self.tracker_reads: list[int] = []  # answer_to calls (not in ``calls``: the dialogue is not told)
        self.tracker_down = False  # the tracker cannot be read (the HTTP API answers 500)

    def hold(self, text: str) -> asyncio.Event:
        self.held[text] = asyncio.Event()
        return self.held[text]

    def reached(self, text: str) -> asyncio.Event:
        return self.arrived.setdefault(text, asyncio.Event())

    async def _pause(self) -> None:
        for _ in range(self.yields):
            await asyncio.sleep(0)

    async def turn(self, sender: str, text: str, metadata: dict[str, Any]) -> list[dict[str, Any]]:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            self.reached(text).set()
            if text in self.held:
                await self.held[text].wait()
            await self._pause()
            if self.turns_down:
                raise EngineUnavailable("HTTP 500")
            self.calls.append(("turn", text))
            if text in self.raising:
                return None  # type: ignore[return-value]  # bot_texts() fails on it: a fault in our code
            thread = self.threads.pop(sender, None)
            if thread is not None and self.on_answer is not None:
                kind, ticket = thread
                answer = [{"text": await self.on_answer(kind, ticket, sender, text)}]
            elif text in self.silent:
                answer = []
            else:
                answer = [{"text": f"balasan: {text}"}]
            self.answers[metadata["message_id"]] = answer
            if text in self.losing:
                raise EngineUnavailable("ReadTimeout")  # processed and saved; the answer never came back
            return answer
        finally:
            self.in_flight -= 1

    async def trigger_intent(self, sender: str, intent: str, entities: dict[str, Any]) -> list[dict[str, Any]]:
        await self._pause()
        if self.pushes_down:
            raise EngineUnavailable("HTTP 500")
        self.calls.append(("push", intent))
        if intent == "EXTERNAL_officer_reply":
            self.threads[sender] = ("reply", entities["ticket"])
        elif intent == "EXTERNAL_resolution_check":
            self.threads[sender] = ("feedback", entities["ticket"])
        return []

    async def answer_to(self, sender: str, message_id: int) -> list[dict[str, Any]] | None:
        await self._pause()
        if self.tracker_down:
            raise EngineUnavailable("HTTP 500")
        self.tracker_reads.append(message_id)
        return self.answers.get(message_id)

    async def status(self) -> dict[str, Any]:
        return {"model_file": "scripted"}

    async def aclose(self) -> None:
        return None
