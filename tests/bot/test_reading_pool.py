"""The readers of free text run in worker processes, off the app's GIL (bot/reading_pool.py).

What the citizens are protected from: one long complaint's reading holding the interpreter that
serves everyone else's webhooks and turns; a reading worker that died failing every later turn;
the pool answering differently from the readers themselves.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from concurrent.futures.process import BrokenProcessPool

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import category_model, reading_pool, regions
from bot.actions import complaint as actions
from bot.actions.complaint import ActionStartComplaint

SENDER = "whatsapp:+6281234567890"
STORY = (
    "Kami warga sudah berkali-kali melapor ke RT dan RW tetapi belum ada tindakan sama sekali. "
    "Setiap malam anak-anak dan orang tua takut lewat karena gelap. "
)
TEXTS = [
    "lampu jalan mati di kec. mlati sleman sudah 2 minggu",
    "jalan berlubang besar di depok",
    "ada pungli di kantor kelurahan, saya dimintai uang 200 ribu untuk urus KTP",
    "sampah menumpuk di pasar kemis kab. tangerang " + STORY * 40,  # about 4,000 characters
    "mau lapor",
    "Mlati, Sleman",
]


def tracker(text: str) -> Tracker:
    return Tracker(
        sender_id=SENDER,
        slots={"language": "id", "requested_slot": None},
        latest_message={"text": text, "intent": {"name": "file_complaint"}, "metadata": {}},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def start_complaint(text: str) -> list[dict]:
    """What action_start_complaint answers, run as rasa-sdk runs it: a coroutine on its own loop."""
    return asyncio.run(ActionStartComplaint().run(CollectingDispatcher(), tracker(text), {}))


@pytest.fixture(scope="module")
def pool():
    reading_pool.start(1)
    try:
        reading_pool.warm()
        yield reading_pool.current()
    finally:
        reading_pool.stop()
    assert reading_pool.current() is None


def worker_pid() -> int:
    return asyncio.run(reading_pool.read(os.getpid))


def test_without_a_pool_the_readers_run_in_the_calling_thread():
    assert reading_pool.current() is None
    assert worker_pid() == os.getpid()


def test_with_the_pool_the_readers_run_in_another_process(pool):
    assert worker_pid() != os.getpid()
    text = "jembatan ambruk di kec. ngaglik sleman, warga tidak bisa menyeberang"
    regions._parse.cache_clear()
    category_model._probabilities.cache_clear()
    events = start_complaint(text)
    assert {"event": "slot", "name": "region_code", "value": "34.04"} in [
        {key: event[key] for key in ("event", "name", "value")} for event in events
    ]
    # neither the place reader nor the category model ran here: their caches in this process stay empty
    assert regions._parse.cache_info().currsize == 0
    assert category_model._probabilities.cache_info().currsize == 0


@pytest.mark.parametrize("text", TEXTS)
def test_the_pool_answers_what_the_readers_answer_in_this_process(pool, text):
    in_pool = asyncio.run(_all_readings(text))
    reading_pool._pool = None  # the fallback: the same functions in this thread
    try:
        here = asyncio.run(_all_readings(text))
    finally:
        reading_pool._pool = pool
    assert in_pool == here
    assert start_complaint(text) == _without_pool(start_complaint, text, pool)


async def _all_readings(text: str) -> list:
    return [
        await reading_pool.read(actions.prefill_from_first_message, text),
        await reading_pool.read(actions.describe_location, text),
        await reading_pool.read(actions.describe_location, text, answer=False),
        await reading_pool.read(actions.description_slots, text, category=True, place=True),
        await reading_pool.read(actions.other_category_options, text, "infrastruktur"),
    ]


def _without_pool(function, text, pool):
    reading_pool._pool = None
    try:
        return function(text)
    finally:
        reading_pool._pool = pool


def test_a_pool_whose_worker_died_is_replaced_and_the_turn_still_answered(pool):
    text = "lampu jalan mati di kec. mlati sleman sudah 2 minggu"
    expected = _without_pool(start_complaint, text, pool)
    dead = worker_pid()
    os.kill(dead, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _alive(dead):
        time.sleep(0.05)

    assert start_complaint(text) == expected  # answered: by a new pool
    replacement = reading_pool.current()
    assert replacement is not None and replacement is not pool
    assert worker_pid() not in (dead, os.getpid())
    assert start_complaint(text) == expected  # and every later turn too


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class _AlwaysBroken:
    """An executor whose workers die at once (say, a reading that runs out of memory)."""

    def submit(self, *args, **kwargs):
        raise BrokenProcessPool("a worker died")

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_a_pool_that_breaks_again_reads_in_this_process(monkeypatch):
    monkeypatch.setattr(reading_pool, "_pool", _AlwaysBroken())
    monkeypatch.setattr(reading_pool, "_workers", 1)
    monkeypatch.setattr(reading_pool, "_new_pool", lambda workers: _AlwaysBroken())
    text = "lampu jalan mati di kec. mlati sleman sudah 2 minggu"
    assert asyncio.run(reading_pool.read(actions.prefill_from_first_message, text)) == actions.prefill_from_first_message(text)
    assert asyncio.run(reading_pool.read(os.getpid)) == os.getpid()


def test_reading_workers_come_from_the_settings(monkeypatch):
    from bot.config import Settings

    monkeypatch.setenv("READING_WORKERS", "2")
    assert Settings().reading_workers == 2
    monkeypatch.delenv("READING_WORKERS")
    assert Settings().reading_workers == reading_pool.DEFAULT_WORKERS
    assert reading_pool.start(0) is None  # 0: no pool, the readers run in the app's threads


def test_a_worker_ends_when_its_app_is_killed_instead_of_staying_an_orphan():
    import subprocess
    import sys

    app = subprocess.Popen(
        [sys.executable, "-c", "from bot import reading_pool; import time; reading_pool.start(1); "
         "print(reading_pool.warm()[0], flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        worker = int(app.stdout.readline())
        os.kill(app.pid, signal.SIGKILL)  # no shutdown of the pool runs
        app.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{worker}") and _alive(worker):
            time.sleep(0.2)
        assert not _alive(worker), "the worker outlived its app"
    finally:
        app.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"  # a zombie has ended
    except FileNotFoundError:
        return False
