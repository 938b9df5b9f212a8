"""Part 1, latency: N concurrent simulated citizens, each running scripted complaint dialogues.

Every turn is timed from sending the request to receiving the response, on two paths:

* ``app``: the app's simulator channel, ``POST /simulator/messages`` (the real pipeline: the
  inbound message is stored, the turn goes to Rasa, the replies go through the outbox and the
  dispatcher, and the response lists what was delivered during the turn);
* ``rasa``: Rasa's REST channel directly, ``POST /webhooks/rest/webhook`` with a fresh
  ``sim-sms:+62...`` sender: the engine alone, the floor. Rasa still calls the custom actions,
  which the app serves, so both paths do the same dialogue work.

The Twilio adapter does not exist yet, so there is no real SMS provider path to measure.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import re
import time
from dataclasses import dataclass, field

import httpx

from bench.corpus import LATENCY_DIALOGUES, STATUS_CHECK
from bench.stack import Stack
from bench.stats import summary_ms

TICKET = re.compile(r"nomor tiket\s+(\d{4}-\d{4})\b", re.IGNORECASE)  # the filing reply, not the help text's example
TIMEOUT = 180.0


class Senders:
    """Fresh, valid Indonesian mobile numbers, unique within a run (and very likely across runs)."""

    def __init__(self) -> None:
        self._run = random.randrange(10, 99)
        self._counter = itertools.count(1)

    def next(self, prefix: str) -> str:
        return f"{prefix}{self._run:02d}{next(self._counter):06d}"  # 0812 + 8 digits


@dataclass
class PathResult:
    path: str  # app | rasa
    concurrency: int
    dialogues: int
    turns: int = 0
    errors: int = 0
    dialogues_without_ticket: int = 0
    status_checks_failed: int = 0
    empty_replies: int = 0  # turns answered with no message at all
    busy_notices: int = 0  # turns answered with the app's "service busy, saved, will answer" notice
    empty_reply_senders: dict[str, int] = field(default_factory=dict)  # app path: sender -> SMS seen in responses
    answered_elsewhere: int | None = None  # of those senders, how many got more SMS than the responses showed
    wall_seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    by_position: dict[int, list[float]] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        throughput = self.turns / self.wall_seconds if self.wall_seconds else None
        return {
            "path": self.path,
            "concurrency": self.concurrency,
            "dialogues": self.dialogues,
            "turns": self.turns,
            "errors": self.errors,
            "dialogues_without_ticket": self.dialogues_without_ticket,
            "status_checks_failed": self.status_checks_failed,
            "empty_replies": self.empty_replies,
            "busy_notices": self.busy_notices,
            "empty_reply_dialogues_answered_outside_the_request": self.answered_elsewhere,
            "wall_seconds": round(self.wall_seconds, 3),
            "messages_per_second": round(throughput, 3) if throughput else None,
            **summary_ms(self.latencies),
            "p50_ms_by_turn": [summary_ms(self.by_position[k])["p50_ms"] for k in sorted(self.by_position)],
            "examples": self.examples[:5],
        }


class Path_:
    """How one turn is sent on a path, and how its replies are read."""

    def __init__(self, name: str, stack: Stack, senders: Senders) -> None:
        self.name = name
        self.stack = stack
        self.senders = senders

    def new_sender(self) -> str:
        if self.name == "app":
            return self.senders.next("0812")  # the simulator turns it into sim-sms:+62812...
        return "sim-sms:+62" + self.senders.next("0813")[1:]  # what the app would send Rasa

    async def turn(self, client: httpx.AsyncClient, sender: str, text: str) -> list[str]:
        if self.name == "app":
            response = await client.post(
                f"{self.stack.base_url}/simulator/messages", json={"channel": "sms", "sender": sender, "text": text}
            )
            response.raise_for_status()
            return response.json()["replies"]
        response = await client.post(
            f"{self.stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        response.raise_for_status()
        return [r.get("text") or "" for r in response.json() or []]


async def _citizen(path: Path_, client: httpx.AsyncClient, index: int, repetitions: int, result: PathResult) -> None:
    for repetition in range(repetitions):
        dialogue = LATENCY_DIALOGUES[(index + repetition) % len(LATENCY_DIALOGUES)]
        sender = path.new_sender()
        ticket = None
        received = 0
        for position, text in enumerate((*dialogue, STATUS_CHECK)):
            if text == STATUS_CHECK:
                if ticket is None:
                    break  # nothing to check; counted below
                text = STATUS_CHECK.format(ticket=ticket)
            started = time.perf_counter()
            try:
                replies = await path.turn(client, sender, text)
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                result.errors += 1
                result.examples.append(f"{type(exc).__name__}: {exc}"[:200])
                break
            elapsed = time.perf_counter() - started
            result.latencies.append(elapsed)
            result.by_position.setdefault(position, []).append(elapsed)
            result.turns += 1
            received += len(replies)
            if not replies:
                result.empty_replies += 1
                result.empty_reply_senders[sender] = -1
                result.examples.append(f"no reply to {text!r} (turn {position + 1})")
            joined = "\n".join(replies)
            if "sedang sibuk" in joined.lower():
                result.busy_notices += 1
            if text.startswith("cek status"):
                if ticket not in joined:
                    result.status_checks_failed += 1
                    result.examples.append(f"status check answered {joined[:150]!r}")
            elif ticket is None and (match := TICKET.search(joined)):
                ticket = match.group(1)
        if ticket is None:
            result.dialogues_without_ticket += 1
        if sender in result.empty_reply_senders:
            result.empty_reply_senders[sender] = received


async def run_path(path: Path_, concurrency: int, repetitions: int) -> PathResult:
    result = PathResult(path.name, concurrency, dialogues=concurrency * repetitions)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_citizen(path, client, i, repetitions, result) for i in range(concurrency)))
        result.wall_seconds = time.perf_counter() - started
        if path.name == "app" and result.empty_reply_senders:
            await asyncio.sleep(3)  # let background loops finish
            result.answered_elsewhere = 0
            for sender, received in result.empty_reply_senders.items():
                response = await client.get(
                    f"{path.stack.base_url}/simulator/messages", params={"channel": "sms", "sender": sender}
                )
                if response.status_code == 200 and len(response.json()["messages"]) > received:
                    result.answered_elsewhere += 1
    return result


def repetitions_for(concurrency: int, min_turns: int) -> int:
    """Dialogues per citizen so that every level sends at least ``min_turns`` turns."""
    turns_per_dialogue = min(len(d) for d in LATENCY_DIALOGUES) + 1
    return max(1, math.ceil(min_turns / (concurrency * turns_per_dialogue)))


def run(stack: Stack, concurrency_levels: list[int], min_turns: int) -> dict:
    senders = Senders()
    app, rasa = Path_("app", stack, senders), Path_("rasa", stack, senders)
    levels = []

    async def main() -> None:
        stack.sampler.set_phase("latency: warm-up")
        for path in (rasa, app):  # the first turns load TensorFlow graphs and caches: not measured
            await run_path(path, 1, 2)
        for concurrency in concurrency_levels:
            repetitions = repetitions_for(concurrency, min_turns)
            level = {"concurrency": concurrency, "dialogues_per_citizen": repetitions}
            # The floor first, then the app, on the same (growing) tracker store.
            for path in (rasa, app):
                stack.sampler.set_phase(f"latency: {path.name} x{concurrency}")
                print(
                    f"[latency] {path.name:4}: {concurrency} citizens x {repetitions} dialogues ...",
                    end=" ", flush=True,
                )
                result = await run_path(path, concurrency, repetitions)
                stack.check_alive()
                summary = result.summary()
                level[path.name] = summary
                print(
                    f"{summary['turns']} turns in {summary['wall_seconds']:.1f} s, "
                    f"{summary['messages_per_second']} msg/s, p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
                    f"errors {summary['errors']}, without ticket {summary['dialogues_without_ticket']}, "
                    f"empty replies {summary['empty_replies']}, busy notices {summary['busy_notices']}",
                    flush=True,
                )
            level["ratios"] = _ratios(level["app"], level["rasa"])
            levels.append(level)
        stack.sampler.set_phase("after latency")

    asyncio.run(main())
    return {
        "note": _provider_note(),
        "dialogues": [list(d) + [STATUS_CHECK] for d in LATENCY_DIALOGUES],
        "levels": levels,
    }


def _provider_note() -> str:
    from bot.cli import ROOT

    if (ROOT / "channels" / "twilio.py").exists():
        return (
            "No real SMS provider path is measured: the Twilio adapter (channels/twilio.py) is being written and is "
            "not part of this benchmark (it needs provider credentials), so the app path is the simulator channel "
            "(POST /simulator/messages), the real pipeline with a pretend provider."
        )
    return (
        "The Twilio adapter does not exist yet: the app path is the simulator channel "
        "(POST /simulator/messages), the real pipeline with a pretend provider."
    )


def _ratios(app: dict, rasa: dict) -> dict:
    def ratio(a, b):
        return round(a / b, 3) if a is not None and b else None

    return {
        "p95_app_over_rasa": ratio(app["p95_ms"], rasa["p95_ms"]),
        "p50_app_over_rasa": ratio(app["p50_ms"], rasa["p50_ms"]),
        "throughput_app_over_rasa": ratio(app["messages_per_second"], rasa["messages_per_second"]),
        "p95_added_ms": round(app["p95_ms"] - rasa["p95_ms"], 3) if app["p95_ms"] and rasa["p95_ms"] else None,
    }
