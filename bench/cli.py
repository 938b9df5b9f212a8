"""``python -m bench``: pick the parts and sizes, run them, write bench/results/<stamp>.{md,json}."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from bench import machine, report
from bench.fake_twilio import CapturingTwilio
from bench.stack import Stack, start_stack
from bot.cli import ROOT

PARTS = ("latency", "store", "sms", "memory", "places", "stall", "scale")
DEFAULT_PARTS = [p for p in PARTS if p != "scale"]  # scale needs Redis and starts two stacks: only when asked
LATENCY_PATHS = ("app", "rasa", "simulator")
RESULTS = ROOT / "bench" / "results"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/6"
DEFAULT_PG_ADMIN = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")

FULL = {
    "sizes": [10_000, 100_000, 1_000_000], "concurrency": [1, 10, 50], "min_turns": 120, "repetitions": 300, "sms_per_kind": None,
    "scale_concurrency": [10, 30], "scale_min_turns": 300,
}  # fmt: skip
QUICK = {
    "sizes": [1_000, 5_000], "concurrency": [1, 5], "min_turns": 12, "repetitions": 30, "sms_per_kind": 2,
    "scale_concurrency": [5], "scale_min_turns": 30,
}  # fmt: skip


def _ints(text: str) -> list[int]:
    values = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        if not part:
            continue
        multiplier = 1
        if part.endswith("k"):
            part, multiplier = part[:-1], 1_000
        elif part.endswith("m"):
            part, multiplier = part[:-1], 1_000_000
        values.append(int(float(part) * multiplier))
    if not values or any(v <= 0 for v in values):
        raise argparse.ArgumentTypeError("a comma-separated list of positive numbers")
    return values


def _choices(allowed: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        chosen = [p.strip() for p in text.split(",") if p.strip()]
        if set(chosen) - set(allowed) or not chosen:
            raise argparse.ArgumentTypeError(f"choose from {', '.join(allowed)}")
        return chosen

    return parse


def _layouts(text: str) -> list[tuple[int, int]]:
    from bench.scale import parse_layouts

    try:
        return parse_layouts(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Aduan's benchmarks: turn latency app vs Rasa, memory, store operations, SMS cost.",
    )
    parser.add_argument(
        "--parts", type=_choices(PARTS), default=list(DEFAULT_PARTS),
        help="comma-separated: latency,store,sms,memory,places,stall,scale (default: all but scale)",
    )
    parser.add_argument("--places-before", default="HEAD", help="git revision whose place and category readers the places part also times (default HEAD; 'none' to skip)")
    parser.add_argument("--stall-citizens", type=int, default=10, help="citizens filing at once in the stall part (default 10)")
    parser.add_argument("--sizes", type=_ints, help="store sizes in complaints (default 10000,100000,1000000; --quick 1000,5000); 10k and 1m work")
    parser.add_argument("--concurrency", type=_ints, help="simulated citizens at once (default 1,10,50; --quick 1,5)")
    parser.add_argument(
        "--latency-paths", type=_choices(LATENCY_PATHS), default=list(LATENCY_PATHS),
        help="latency paths: app (Twilio SMS webhook), rasa (the engine alone), simulator (default all three)",
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run of every selected part (a few minutes)")
    parser.add_argument("--backends", default="sqlite,postgresql", help="store backends: sqlite,postgresql (default both)")
    parser.add_argument("--repetitions", type=int, help="timed repetitions per store read (writes: half); default 300, --quick 30")
    parser.add_argument("--min-turns", type=int, help="at least this many turns per concurrency level and path (default 120, --quick 12)")
    parser.add_argument("--sms-per-kind", type=int, help="only the first N complaints of each kind of the SMS corpus (default all 18)")
    parser.add_argument(
        "--scale-layouts", type=_layouts, default=[(1, 1), (2, 2)],
        help="scale part: stacks to compare, APPSxENGINES, comma-separated (default 1x1,2x2; the first is the baseline)",
    )
    parser.add_argument("--scale-concurrency", type=_ints, help="scale part: citizens at once (default 10,30; --quick 5)")
    parser.add_argument("--scale-min-turns", type=int, help="scale part: at least this many turns per level and layout (default 300, --quick 30)")
    parser.add_argument(
        "--scale-redis-url", default=DEFAULT_REDIS_URL,
        help=f"scale part: Redis for Rasa's lock store (default {DEFAULT_REDIS_URL})",
    )
    parser.add_argument("--stack-db", choices=("sqlite", "postgresql"), default="sqlite", help="the store of the running stack (default sqlite, as `make run`)")
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN, help="PostgreSQL server to create the benchmark databases on (default $TEST_POSTGRES_URL or postgres@127.0.0.1:5432/test)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the .md and .json go (default bench/results)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (stack log, SQLite files)")
    parser.add_argument("--render", type=Path, metavar="JSON", help="only rewrite the .md of an earlier run from its .json")
    return parser


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    if args.render:
        results = json.loads(args.render.read_text())
        markdown = report.markdown(results)
        args.render.with_suffix(".md").write_text(markdown)
        print(markdown)
        return
    preset = QUICK if args.quick else FULL
    config = {
        "parts": args.parts,
        "quick": args.quick,
        "sizes": sorted(set(args.sizes or preset["sizes"])),
        "concurrency": args.concurrency or preset["concurrency"],
        "latency_paths": args.latency_paths,
        "backends": [b.strip() for b in args.backends.split(",") if b.strip()],
        "repetitions": args.repetitions or preset["repetitions"],
        "min_turns": args.min_turns or preset["min_turns"],
        "sms_per_kind": args.sms_per_kind or preset["sms_per_kind"],
        "stack_db": args.stack_db,
        "places_before": None if args.places_before.lower() == "none" else args.places_before,
        "stall_citizens": args.stall_citizens,
    }
    if "scale" in args.parts:
        config.update(
            scale_layouts=[f"{a}x{e}" for a, e in args.scale_layouts],
            scale_concurrency=args.scale_concurrency or preset["scale_concurrency"],
            scale_min_turns=args.scale_min_turns or preset["scale_min_turns"],
        )
    for backend in config["backends"]:
        if backend not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown backend {backend!r}: sqlite or postgresql")

    # SIGTERM ends the run like Ctrl-C, so that the stack and the databases are cleaned up.
    signal.signal(signal.SIGTERM, _interrupt)

    from bench.store import postgres_version

    info = machine.describe()
    info["postgresql"] = postgres_version(args.pg_admin_url)
    if "scale" in config["parts"]:
        from bench.scale import preflight, safe_redis_url

        info["redis"] = preflight(args.pg_admin_url, args.scale_redis_url)["redis"]  # before anything runs: SystemExit
        config["scale_redis_url"] = safe_redis_url(args.scale_redis_url)
    print(f"[bench] machine: {machine.one_line(info)}", flush=True)
    print(f"[bench] config: {json.dumps(config)}", flush=True)

    workdir = Path(tempfile.mkdtemp(prefix="aduan-bench-"))
    results: dict = {"machine": info, "config": config, "parts": {}}
    started = time.monotonic()
    try:
        if "places" in config["parts"]:
            from bench import places

            results["parts"]["places"] = places.run_cpu(config["places_before"], per_length=5 if args.quick else 100)
        if {"latency", "sms", "memory", "stall"} & set(config["parts"]):
            _stack_parts(config, results, workdir, args.pg_admin_url)
        if "scale" in config["parts"]:  # after the single stack has stopped: never two stacks at once
            from bench import scale

            results["parts"]["scale"] = {}
            scale.run(args.scale_layouts, config["scale_concurrency"], config["scale_min_turns"], args.pg_admin_url,
                      args.scale_redis_url, workdir, out=results["parts"]["scale"])  # fmt: skip
        if "store" in config["parts"]:
            from bench import store

            results["parts"]["store"] = {}
            store.run(config["sizes"], config["backends"], config["repetitions"], args.pg_admin_url, workdir,
                      out=results["parts"]["store"])
    except KeyboardInterrupt:
        print("\n[bench] interrupted: writing what was measured", flush=True)
        results["interrupted"] = True
    except BaseException as exc:
        args.keep = True  # the stack log is the first thing to read
        results["error"] = f"{type(exc).__name__}: {str(exc)[:500]}"
        raise
    finally:
        results["seconds"] = round(time.monotonic() - started, 1)
        results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        if args.keep:
            print(f"[bench] kept {workdir} (stack logs: {workdir}/stack/stack.log, {workdir}/scale-*/stack.log)", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        _write(results, args.out)  # what was measured, also when a part failed


def _stack_parts(config: dict, results: dict, workdir: Path, pg_admin_url: str) -> None:
    twilio = CapturingTwilio().start()  # the SMS provider's REST API, on loopback; stopped after the stack
    database_url, drop = None, None
    if config["stack_db"] == "postgresql":
        from bench.store import postgres_backend

        backend = postgres_backend(pg_admin_url)  # migrated; `aduan run` migrates again (idempotent)
        backend.engine.dispose()
        database_url, drop = backend.url, backend.close
    stack: Stack | None = None
    try:
        stack = start_stack(workdir / "stack", database_url, twilio)
        results["stack"] = {
            "startup_seconds": round(stack.startup_seconds, 1),
            "health": stack.health(),
            "store": config["stack_db"],
            "app_pid": stack.process.pid,
            "engine_pids": stack.engine_pids,
            "processes": {str(pid): command for pid, command in stack.sampler.commands.items()},
            "sms_provider": f"Twilio, REST API faked at {twilio.url}",
            "trained_during_start": stack.sampler.trained_during_start,
        }
        time.sleep(2)
        stack.sampler.set_phase("idle after start")
        time.sleep(3)
        if "latency" in config["parts"] or "memory" in config["parts"]:
            from bench import latency

            measured = latency.run(stack, config["concurrency"], config["min_turns"], config["latency_paths"])
            if "latency" in config["parts"]:
                results["parts"]["latency"] = measured
            if "memory" in config["parts"]:
                results["parts"]["memory"] = _memory(stack, during="latency")
        if "stall" in config["parts"]:
            from bench import places

            results["parts"]["stall"] = places.run_stall(stack, config["stall_citizens"])
        if "sms" in config["parts"]:
            from bench import sms

            results["parts"]["sms"] = sms.run(stack, config["sms_per_kind"])
            if "memory" in config["parts"]:
                results["parts"]["memory"]["after_sms"] = _memory(stack, during="sms")
    finally:
        if stack is not None:
            print("[stack] stopping (SIGINT, as Ctrl-C)", flush=True)
            stack.stop()
            results.setdefault("stack", {})["exit_code"] = stack.process.returncode
            results["stack"]["log"] = _log_summary(stack.log)
            results["stack"]["twilio_api_requests"] = twilio.requests
        twilio.stop()
        if drop is not None:
            drop()


def _log_summary(log: Path) -> dict:
    """What went wrong inside the stack: failed turns (Rasa timeouts), warnings, errors, tracebacks."""
    lines = log.read_text(errors="replace").splitlines() if log.exists() else []
    return {
        "lines": len(lines),
        "turn_failures": sum("turn failed" in line for line in lines),
        "turn_failure_examples": [line[:200] for line in lines if "turn failed" in line][:3],
        "warnings": sum(" WARNING " in line for line in lines),
        "errors": sum(" ERROR " in line for line in lines),
        "tracebacks": sum(line.startswith("Traceback") for line in lines),
        "error_examples": [line[:200] for line in lines if " ERROR " in line][:3],
    }


def _memory(stack: Stack, during: str) -> dict:
    now = stack.sampler.sample()
    return {
        "during": during,
        "app": {"pid": stack.process.pid, "cmd": "aduan run (uvicorn, the app)", "vm_hwm_kib": now["app_hwm_kib"], "vm_rss_kib": now["app_rss_kib"]},
        "engine": {
            "pids": stack.engine_pids,
            "cmd": "rasa run (the engine) and its children",
            "vm_hwm_kib": now["engine_hwm_kib"],
            "vm_rss_kib": now["engine_rss_kib"],
        },
        "phases": {
            phase: {"app_peak_rss_kib": p.app_rss_kib, "engine_peak_rss_kib": p.engine_rss_kib, "samples": p.samples}
            for phase, p in stack.sampler.peaks.items()
        },
        "sample_interval_seconds": stack.sampler.interval,
    }


def _write(results: dict, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if results["config"]["quick"] else "")
    markdown = report.markdown(results)
    json_path, md_path = out / f"bench-{stamp}.json", out / f"bench-{stamp}.md"
    json_path.write_text(json.dumps(results, indent=2, default=str) + "\n")
    md_path.write_text(markdown)
    print("\n" + markdown, flush=True)
    print(f"[bench] results: {md_path.relative_to(ROOT) if md_path.is_relative_to(ROOT) else md_path}, {json_path.name}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
