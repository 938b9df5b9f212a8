"""Part 1, latency: N concurrent simulated citizens, each running scripted complaint dialogues.

The same dialogues, with fresh senders, on three paths (each turn timed from the request):

* ``app``: Twilio's SMS webhook, ``POST /webhooks/twilio`` with the form fields Twilio sends and
  a valid X-Twilio-Signature. The app stores the message and answers at once with empty TwiML;
  the turn runs in the background and its replies leave through the outbox and the dispatcher
  as calls to Twilio's REST API, here a fake on loopback (bench/fake_twilio.py). The turn ends
  when the last of its SMS reaches that API (see ``TwilioPath``);
* ``simulator``: the app's simulator channel, ``POST /simulator/messages``, which runs the turn
  and dispatches its replies inside the request: the pipeline without the provider's round trips;
* ``rasa``: Rasa's REST channel directly, ``POST /webhooks/rest/webhook`` with a fresh
  ``sim-sms:+62...`` sender: the engine alone, the floor. Rasa still calls the custom actions,
  which the app serves, so every path does the same dialogue work.
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
from bench.fake_twilio import CapturingTwilio, RepliesTimeout, TwilioWebhooks
from bench.stack import Stack
from bench.stats import summary_ms

TICKET = re.compile(r"nomor tiket\s+(\d{4}-\d{4})\b", re.IGNORECASE)  # the filing reply, not the help text's example
TIMEOUT = 180.0
PATHS = ("app", "rasa", "simulator")
# Twilio path: how long a turn's SMS may pause before the turn is taken as complete without the
# calibrated count (calibration: CALIBRATION_QUIET; measurement: SHORT_TURN_QUIET, a fallback
# that should not happen), and how long to wait after a level for SMS that come late.
CALIBRATION_QUIET = 1.0
SHORT_TURN_QUIET = 10.0
LATE_WAIT = 3.0


def is_busy(text: str) -> bool:
    """The app's "layanan sedang sibuk" notice: Rasa timed out, the real answer comes after a retry."""
    return "sedang sibuk" in text.lower()


class Senders:
    """Fresh, valid Indonesian mobile numbers, unique within a run (and very likely across runs)."""

    def __init__(self) -> None:
        self._run = random.randrange(10, 99)
        self._counter = itertools.count(1)

    def next(self, prefix: str) -> str:
        return f"{prefix}{self._run:02d}{next(self._counter):06d}"  # 0812 + 8 digits


@dataclass
class PathResult:
    path: str  # app | rasa | simulator
    concurrency: int
    dialogues: int
    turns: int = 0
    errors: int = 0
    dialogues_without_ticket: int = 0
    status_checks_failed: int = 0
    empty_replies: int = 0  # turns answered with no message at all
    busy_notices: int = 0  # turns answered with the app's "service busy, saved, will answer" notice
    received: dict[str, int] = field(default_factory=dict)  # sender -> messages seen in its turns
    empty_reply_senders: set[str] = field(default_factory=set)
    answered_elsewhere: int | None = None  # simulator: dialogues with an empty turn whose citizen got more SMS
    short_turns: int = 0  # app: turns taken as complete with fewer SMS than calibrated
    late_messages: int | None = None  # app: SMS that reached Twilio after their turn was taken as complete
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
            "short_turns": self.short_turns,
            "late_messages": self.late_messages,
            "wall_seconds": round(self.wall_seconds, 3),
            "messages_per_second": round(throughput, 3) if throughput else None,
            **summary_ms(self.latencies),
            "p50_ms_by_turn": [summary_ms(self.by_position[k])["p50_ms"] for k in sorted(self.by_position)],
            "examples": self.examples[:5],
        }


@dataclass
class Turn:
    replies: list[str]
    seconds: float
    short: bool = False  # fewer replies than expected


class Path_:
    """How one turn is sent on a path, and when it counts as answered: here, when the response arrives."""

    name = ""
    prefix = "0812"

    def __init__(self, stack: Stack, senders: Senders) -> None:
        self.stack = stack
        self.senders = senders

    def new_sender(self) -> str:
        return self.senders.next(self.prefix)

    async def turn(self, client: httpx.AsyncClient, sender: str, text: str, key: tuple[int, int]) -> Turn:
        """``key``: (dialogue, position in it), for paths that know what a turn answers."""
        started = time.perf_counter()
        replies = await self.send(client, sender, text)
        return Turn(replies, time.perf_counter() - started)

    async def send(self, client: httpx.AsyncClient, sender: str, text: str) -> list[str]:
        raise NotImplementedError

    async def after_level(self, client: httpx.AsyncClient, result: PathResult) -> None:
        """Checks once a level is done (not timed)."""


class RasaPath(Path_):
    name = "rasa"

    def new_sender(self) -> str:
        return "sim-sms:+62" + self.senders.next("0813")[1:]  # what the app would send Rasa

    async def send(self, client: httpx.AsyncClient, sender: str, text: str) -> list[str]:
        response = await client.post(
            f"{self.stack.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
        )
        response.raise_for_status()
        return [r.get("text") or "" for r in response.json() or []]


class SimulatorPath(Path_):
    name = "simulator"

    async def send(self, client: httpx.AsyncClient, sender: str, text: str) -> list[str]:
        response = await client.post(
            f"{self.stack.base_url}/simulator/messages", json={"channel": "sms", "sender": sender, "text": text}
        )
        response.raise_for_status()
        return response.json()["replies"]

    async def after_level(self, client: httpx.AsyncClient, result: PathResult) -> None:
        """Did the citizens with an empty turn get the answer anyway (another task ran the turn)?"""
        if not result.empty_reply_senders:
            return
        await asyncio.sleep(LATE_WAIT)  # let background loops finish
        answered = 0
        for sender in result.empty_reply_senders:
            try:
                response = await client.get(
                    f"{self.stack.base_url}/simulator/messages", params={"channel": "sms", "sender": sender}
                )
            except httpx.HTTPError as exc:
                result.examples.append(f"checking empty replies failed: {type(exc).__name__}: {exc}"[:200])
                return
            if response.status_code == 200 and len(response.json()["messages"]) > result.received[sender]:
                answered += 1
        result.answered_elsewhere = answered


class TwilioPath(Path_):
    """A citizen's SMS through Twilio: a signed webhook in, the replies out through the fake REST API.

    The webhook's response (empty TwiML) says nothing about the answer, so a turn runs from sending
    the webhook to the arrival at the fake of the last SMS that answers it, matched by To. How many
    SMS answer a turn is learned per (dialogue, position) from a calibration run, one citizen at a
    time: the SMS that came until none came for ``CALIBRATION_QUIET`` s (the dispatcher sends a
    turn's SMS in one pass, milliseconds apart). A measured turn is complete when that many have
    arrived; "sedang sibuk" notices do not count. Should fewer come, the turn is taken as complete
    after ``SHORT_TURN_QUIET`` s of silence and counted short; SMS that come after a turn was taken
    as complete are counted late at the end of the level (they would have been taken for the next
    turn's). Neither waiting time is part of any latency: a turn ends at its last SMS.
    """

    name = "app"
    prefix = "+62815"  # Twilio sends E.164

    def __init__(self, stack: Stack, senders: Senders) -> None:
        super().__init__(stack, senders)
        if stack.twilio is None:
            raise RuntimeError("the stack was started without the fake Twilio")
        self.twilio: CapturingTwilio = stack.twilio
        self.webhooks = TwilioWebhooks(stack.env["PUBLIC_BASE_URL"], self.twilio.account_sid, self.twilio.auth_token)
        self.expected: dict[tuple[int, int], int] = {}

    async def calibrate(self) -> None:
        """Every dialogue once, one at a time, to learn how many SMS answer each of its turns."""
        self.twilio.attach(asyncio.get_running_loop())
        self.expected.clear()
        result = await run_path(self, 1, len(LATENCY_DIALOGUES))
        if result.errors or result.dialogues_without_ticket:
            raise RuntimeError(f"calibration of the Twilio path failed: {result.summary()['examples']}")

    async def turn(self, client: httpx.AsyncClient, sender: str, text: str, key: tuple[int, int]) -> Turn:
        body, headers = self.webhooks.request(sender, text)
        expected = self.expected.get(key)
        before = self.twilio.count(sender)
        started = time.perf_counter()
        response = await client.post(self.webhooks.url, content=body, headers=headers)
        response.raise_for_status()
        try:
            arrivals = await self.twilio.replies(
                sender,
                before,
                expected=expected,
                counts=lambda body: not is_busy(body),
                timeout=TIMEOUT,
                quiet=CALIBRATION_QUIET if expected is None else SHORT_TURN_QUIET,
            )
        except RepliesTimeout as exc:
            raise TimeoutError(f"no complete answer to {text!r} after {TIMEOUT:.0f} s ({exc})") from None
        answers = sum(not is_busy(a.body) for a in arrivals)
        if expected is None:
            self.expected[key] = answers
        return Turn([a.body for a in arrivals], arrivals[-1].at - started, short=expected is not None and answers < expected)

    async def after_level(self, client: httpx.AsyncClient, result: PathResult) -> None:
        await asyncio.sleep(LATE_WAIT)
        result.late_messages = sum(self.twilio.count(s) - n for s, n in result.received.items())


async def _citizen(path: Path_, client: httpx.AsyncClient, index: int, repetitions: int, result: PathResult) -> None:
    for repetition in range(repetitions):
        dialogue_index = (index + repetition) % len(LATENCY_DIALOGUES)
        dialogue = LATENCY_DIALOGUES[dialogue_index]
        sender = path.new_sender()
        result.received[sender] = 0
        ticket = None
        for position, text in enumerate((*dialogue, STATUS_CHECK)):
            if text == STATUS_CHECK:
                if ticket is None:
                    break  # nothing to check; counted below
                text = STATUS_CHECK.format(ticket=ticket)
            try:
                turn = await path.turn(client, sender, text, (dialogue_index, position))
            except (httpx.HTTPError, TimeoutError, ValueError, KeyError) as exc:
                result.errors += 1
                result.examples.append(f"{type(exc).__name__}: {exc}"[:200])
                break
            result.latencies.append(turn.seconds)
            result.by_position.setdefault(position, []).append(turn.seconds)
            result.turns += 1
            result.received[sender] += len(turn.replies)
            if turn.short:
                result.short_turns += 1
                result.examples.append(f"fewer SMS than calibrated for {text!r} (turn {position + 1})")
            if not turn.replies:
                result.empty_replies += 1
                result.empty_reply_senders.add(sender)
                result.examples.append(f"no reply to {text!r} (turn {position + 1})")
            joined = "\n".join(turn.replies)
            if is_busy(joined):
                result.busy_notices += 1
            if text.startswith("cek status"):
                if ticket not in joined:
                    result.status_checks_failed += 1
                    result.examples.append(f"status check answered {joined[:150]!r}")
            elif ticket is None and (match := TICKET.search(joined)):
                ticket = match.group(1)
        if ticket is None:
            result.dialogues_without_ticket += 1


async def run_path(path: Path_, concurrency: int, repetitions: int) -> PathResult:
    result = PathResult(path.name, concurrency, dialogues=concurrency * repetitions)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    async with httpx.AsyncClient(timeout=TIMEOUT, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(*(_citizen(path, client, i, repetitions, result) for i in range(concurrency)))
        result.wall_seconds = time.perf_counter() - started
        path.stack.check_alive()  # a stack that stopped under us explains the errors better than the checks below
        await path.after_level(client, result)
    return result


def repetitions_for(concurrency: int, min_turns: int) -> int:
    """Dialogues per citizen so that every level sends at least ``min_turns`` turns."""
    turns_per_dialogue = min(len(d) for d in LATENCY_DIALOGUES) + 1
    return max(1, math.ceil(min_turns / (concurrency * turns_per_dialogue)))


def run(stack: Stack, concurrency_levels: list[int], min_turns: int, paths: tuple[str, ...] | list[str] = PATHS) -> dict:
    senders = Senders()
    kinds = {"rasa": RasaPath, "app": TwilioPath, "simulator": SimulatorPath}
    # The floor first, then the app, on the same (growing) tracker store.
    selected = [kinds[name](stack, senders) for name in ("rasa", "app", "simulator") if name in paths]
    levels = []
    calibration: dict = {}

    async def main() -> None:
        stack.sampler.set_phase("latency: warm-up")
        for path in selected:  # the first turns load TensorFlow graphs and caches: not measured
            if isinstance(path, TwilioPath):
                print("[latency] app : calibrating the Twilio path (every dialogue once) ...", end=" ", flush=True)
                await path.calibrate()
                calibration["sms_per_turn"] = [
                    [path.expected.get((d, p)) for p in range(len(LATENCY_DIALOGUES[d]) + 1)]
                    for d in range(len(LATENCY_DIALOGUES))
                ]
                print(f"SMS per turn {calibration['sms_per_turn']}", flush=True)
            else:
                await run_path(path, 1, 2)
        for concurrency in concurrency_levels:
            repetitions = repetitions_for(concurrency, min_turns)
            level = {"concurrency": concurrency, "dialogues_per_citizen": repetitions}
            for path in selected:
                stack.sampler.set_phase(f"latency: {path.name} x{concurrency}")
                print(
                    f"[latency] {path.name:9}: {concurrency} citizens x {repetitions} dialogues ...",
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
                    f"empty replies {summary['empty_replies']}, busy notices {summary['busy_notices']}"
                    + (f", short turns {summary['short_turns']}, late SMS {summary['late_messages']}" if path.name == "app" else ""),
                    flush=True,
                )
            if "rasa" in level:
                level["ratios"] = {name: _ratios(level[name], level["rasa"]) for name in ("app", "simulator") if name in level}
            levels.append(level)
        stack.sampler.set_phase("after latency")

    try:
        asyncio.run(main())
    finally:
        if stack.twilio is not None:
            stack.twilio.attach(None)
    return {
        "paths": [p.name for p in selected],
        "app_path": "twilio",
        "twilio_calibration": calibration,
        "dialogues": [list(d) + [STATUS_CHECK] for d in LATENCY_DIALOGUES],
        "levels": levels,
    }


def _ratios(app: dict, rasa: dict) -> dict:
    def ratio(a, b):
        return round(a / b, 3) if a is not None and b else None

    return {
        "p95_app_over_rasa": ratio(app["p95_ms"], rasa["p95_ms"]),
        "p50_app_over_rasa": ratio(app["p50_ms"], rasa["p50_ms"]),
        "throughput_app_over_rasa": ratio(app["messages_per_second"], rasa["messages_per_second"]),
        "p95_added_ms": round(app["p95_ms"] - rasa["p95_ms"], 3) if app["p95_ms"] and rasa["p95_ms"] else None,
    }
