"""The Markdown report: the numbers, the machine, and the targets next to them (informational)."""

from __future__ import annotations

from bench import machine
from bench.stats import fmt

TARGET_P95_RATIO = 1.10
TARGET_THROUGHPUT_RATIO = 0.90
TARGET_STORE_MS = 5.0
TARGET_SMS_SEGMENTS = 2
OPERATIONS = ("ping", "lookup", "list_open_page", "list_open_busiest", "status_change", "file")


def _mark(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "**missed**")


def _size(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def _mib(kib: int | None) -> str:
    return "-" if not kib else f"{kib / 1024:,.0f} MiB"


def markdown(results: dict) -> str:
    info, config = results["machine"], results["config"]
    lines = [
        f"# Aduan benchmarks, {info['date']}",
        "",
        f"Machine: {machine.one_line(info)}; load average at start {info['load_average_at_start']}, "
        f"at end {info.get('load_average_at_end', '-')}.",
        f"Run: parts {', '.join(config['parts'])}{' (--quick)' if config['quick'] else ''}, took {results.get('seconds', 0):.0f} s"
        + (" (**interrupted**)" if results.get("interrupted") else "")
        + (f" (**failed**: {results['error'][:300]})" if results.get("error") else "") + ".",
        "Targets are informational, not pass/fail. Load generator, app, Rasa and database share the same cores.",
        "",
    ]
    parts = results["parts"]
    if "latency" in parts:
        lines += _latency(parts["latency"], results.get("stack", {}))
    if "memory" in parts:
        lines += _memory(parts["memory"])
    if "store" in parts:
        lines += _store(parts["store"])
    if "sms" in parts:
        lines += _sms(parts["sms"])
    if "places" in parts or "stall" in parts:
        from bench import places

        lines += places.markdown(parts)
    if "scale" in parts:
        lines += _scale(parts["scale"])
    return "\n".join(lines) + "\n"


LATENCY_LABELS = {"app": "app (Twilio SMS)", "simulator": "app (simulator)", "rasa": "rasa"}


def _latency_paths(latency: dict) -> tuple[list[str], dict[str, str]]:
    """The measured paths in report order, and their labels (in runs before the Twilio path, `app` was the simulator)."""
    if latency.get("app_path") == "twilio":
        return [p for p in ("app", "simulator", "rasa") if p in latency["paths"]], LATENCY_LABELS
    return ["app", "rasa"], {"app": "app (simulator)", "rasa": "rasa"}


def _ratios(level: dict) -> dict[str, dict]:
    ratios = level.get("ratios") or {}
    return {"app": ratios} if "p95_app_over_rasa" in ratios else ratios  # older runs: one app path


def _latency(latency: dict, stack: dict) -> list[str]:
    paths, labels = _latency_paths(latency)
    described = {
        "app": "*app (Twilio SMS)* = `POST /webhooks/twilio` with the form fields Twilio sends and a valid "
        "X-Twilio-Signature; the app acknowledges at once and answers through the outbox with calls to Twilio's REST "
        "API (a fake on loopback): timed from the webhook to the arrival of the last SMS that answers the turn (how many "
        "SMS answer each turn is calibrated per dialogue first, one citizen at a time)",
        "simulator": "*app (simulator)* = `POST /simulator/messages`, the pipeline without the provider's round trips, "
        "request to response",
        "rasa": "*rasa* = `POST /webhooks/rest/webhook` on the engine directly with fresh `sim-sms:` senders (the floor; "
        "Rasa still calls the app's custom actions), request to response",
    }
    if latency.get("app_path") != "twilio":
        described["app"] = described["simulator"]  # older runs: the app path was the simulator
    lines = [
        "## 1. Turn latency: the app vs Rasa alone",
        "",
        (latency["note"] + " " if latency.get("note") else "")
        + "Each simulated citizen runs step-by-step dialogues of 6 turns "
        "(\"lapor\", problem, place, anonymity, \"ya\", \"cek status <ticket>\"); "
        + "; ".join(described[p] for p in paths) + ". "
        f"Stack store: {stack.get('store', 'sqlite')}; model {stack.get('health', {}).get('rasa', {}).get('model', '-')}; "
        f"stack start-up {stack.get('startup_seconds', '-')} s"
        + (" (including a training: the training data changed while the benchmark started)" if stack.get("trained_during_start") else "")
        + ".",
        "",
        "| citizens | path | dialogues | turns | errors | no ticket | empty replies | msg/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for level in latency["levels"]:
        for path in paths:
            s = level[path]
            lines.append(
                f"| {level['concurrency']} | {labels[path]} | {s['dialogues']} | {s['turns']} | {s['errors']} | "
                f"{s['dialogues_without_ticket']} | {s['empty_replies']} | {fmt(s['messages_per_second'], 2)} | {fmt(s['p50_ms'])} | "
                f"{fmt(s['p95_ms'])} | {fmt(s['p99_ms'])} | {fmt(s['max_ms'])} |"
            )
    lines += [
        "",
        f"Targets: the app adds at most 10% to Rasa's p95 (ratio <= {TARGET_P95_RATIO:.2f}) and keeps >= 90% of its "
        f"throughput (ratio >= {TARGET_THROUGHPUT_RATIO:.2f}).",
        "",
        "| citizens | path | p95 / rasa p95 | p95 added ms | p95 target | msg/s / rasa msg/s | throughput target |",
        "|---:|---|---:|---:|---|---:|---|",
    ]
    for level in latency["levels"]:
        for path, r in _ratios(level).items():
            p95, tput = r["p95_app_over_rasa"], r["throughput_app_over_rasa"]
            lines.append(
                f"| {level['concurrency']} | {labels[path]} | {fmt(p95, 2)} | {fmt(r['p95_added_ms'])} | "
                f"{_mark(None if p95 is None else p95 <= TARGET_P95_RATIO)} | {fmt(tput, 2)} | "
                f"{_mark(None if tput is None else tput >= TARGET_THROUGHPUT_RATIO)} |"
            )
    lines += [
        "",
        "Median (p50) ms by turn of the dialogue:",
        "",
        "| citizens | path | lapor | problem | place | anonymity | ya (files) | cek status |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for level in latency["levels"]:
        for path in paths:
            cells = " | ".join(fmt(v) for v in level[path]["p50_ms_by_turn"])
            lines.append(f"| {level['concurrency']} | {labels[path]} | {cells} |")
    calibrated = (latency.get("twilio_calibration") or {}).get("sms_per_turn")
    if calibrated:
        lines += ["", "SMS answering each turn (Twilio path calibration, one row per dialogue): "
                  + "; ".join(", ".join(fmt(n) for n in row) for row in calibrated) + "."]
    problems = [
        f"{level['concurrency']} citizens, {labels[path]}: {', '.join(level[path]['examples'])}"
        for level in latency["levels"] for path in paths if level[path]["examples"]
    ]
    if problems:
        lines += ["", "Problems seen: " + "; ".join(problems) + "."]
    lines.append("")
    log = stack.get("log") or {}
    if log.get("turn_failures") or log.get("errors"):
        lines.append(
            f"- the stack's log: {log['turn_failures']} failed turns (the app's Rasa call failed or timed out after "
            f"RASA_TIMEOUT_SECONDS and the turn was retried later), {log['errors']} ERROR lines, "
            f"{log['tracebacks']} tracebacks; e.g. {'; '.join(log['turn_failure_examples'] + log['error_examples'])[:400]}"
        )
    for level in latency["levels"]:
        for path in paths:
            lines += _latency_notes(level["concurrency"], labels[path], level[path])
    return lines + [""]


def _latency_notes(concurrency: int, label: str, s: dict) -> list[str]:
    notes = []
    if s.get("busy_notices"):
        notes.append(
            f"- {concurrency} citizens, {label}: {s['busy_notices']} turns answered with the \"layanan sedang "
            "sibuk\" notice (the turn timed out and waits for a retry)."
        )
    if s.get("empty_replies") and s.get("empty_reply_dialogues_answered_outside_the_request") is not None:
        notes.append(
            f"- {concurrency} citizens, {label}: {s['empty_replies']} turns answered with an empty `replies`; in "
            f"{s['empty_reply_dialogues_answered_outside_the_request']} of those dialogues the citizen did get "
            "the answer (GET /simulator/messages lists more SMS than the responses did), i.e. another task ran the turn."
        )
    if s.get("short_turns") or s.get("late_messages"):
        notes.append(
            f"- {concurrency} citizens, {label}: {s.get('short_turns', 0)} turns got fewer SMS than calibrated (taken as "
            f"complete after a silence), {s.get('late_messages', 0)} SMS reached Twilio after their turn was taken as "
            "complete: the count rule did not hold, so some of these turns' latencies are off."
        )
    return notes


def _memory(memory: dict) -> list[str]:
    lines = [
        "## 2. Memory",
        "",
        "Sampled every "
        f"{memory['sample_interval_seconds']} s from /proc/<pid>/status: the app is the `aduan run` process, the engine "
        "its child `rasa run` (and any children of it; a `rasa train` child is not counted). VmHWM is the kernel's own "
        "peak RSS of the process.",
        "",
        "| process | VmHWM after part 1 | peak sampled RSS in part 1 | VmHWM after the SMS part |",
        "|---|---:|---:|---:|",
    ]
    latency_phases = {k: v for k, v in memory["phases"].items() if k.startswith("latency")}
    after_sms = memory.get("after_sms", {})
    for key, label in (("app", "app (`aduan run`)"), ("engine", "engine (`rasa run`)")):
        peak = max((p[f"{key}_peak_rss_kib"] for p in latency_phases.values()), default=None)
        lines.append(
            f"| {label} | {_mib(memory[key]['vm_hwm_kib'])} | {_mib(peak)} | "
            f"{_mib(after_sms.get(key, {}).get('vm_hwm_kib'))} |"
        )
    lines += ["", "| phase | app peak RSS | engine peak RSS |", "|---|---:|---:|"]
    for phase, p in (after_sms.get("phases") or memory["phases"]).items():
        lines.append(f"| {phase} | {_mib(p['app_peak_rss_kib'])} | {_mib(p['engine_peak_rss_kib'])} |")
    return lines + [""]


def _store(store: dict) -> list[str]:
    lines = [
        "## 3. Store operations",
        "",
        "Schema from `storage.migrate.upgrade(url)`, bulk-loaded (SQLite: executemany; PostgreSQL: COPY, then "
        "VACUUM ANALYZE as autovacuum would). Each operation is one `session_scope` transaction on the app's engine "
        f"(`storage.db.make_engine`); {store['repetitions']} timed repetitions for reads, half as many for writes. "
        "Milliseconds, median / p95; SQL statements per operation as SQLAlchemy sends them (SQLite: the "
        "`BEGIN IMMEDIATE` of each transaction included), and round trips: the statements plus BEGIN (PostgreSQL), "
        "COMMIT and liveness pings of pooled connections (on SQLite calls into the library, not network trips).",
        "",
    ]
    for note in store.get("notes", []):
        lines += [f"Note: {note}", ""]
    for backend, steps in store["backends"].items():
        if not steps:
            continue
        lines += [f"### {backend}", "", "| complaints | load s | complaints/s loaded | rows written | database size |", "|---:|---:|---:|---:|---:|"]
        for step in steps:
            load = step["load"]
            lines.append(
                f"| {_size(step['size'])} | {fmt(load['seconds'])} | {fmt(load['complaints_per_second'])} | "
                f"{fmt(load['rows_written'])} | {step['database_bytes'] / 2**20:,.0f} MiB |"
            )
        header = "| operation | " + " | ".join(_size(s["size"]) for s in steps) + " | SQL statements | round trips |"
        lines += ["", header, "|---|" + "---:|" * (len(steps) + 2)]
        for op in OPERATIONS:
            cells = []
            for step in steps:
                v = step["operations"].get(op)
                cells.append(f"{v['p50_ms']:.2f} / {v['p95_ms']:.2f}" if v else "-")
            statements = steps[-1]["operations"].get(op, {}).get("statements", "-")
            round_trips = steps[-1]["operations"].get(op, {}).get("round_trips", "-")  # not in reports before 2026-11-28
            lines.append(f"| {op} | " + " | ".join(cells) + f" | {statements} | {round_trips} |")
        busiest = [f"{_size(s['size'])}: {s['operations']['list_open_busiest']['rows_matching']:,}" for s in steps]
        lines += ["", "Rows behind `list_open_busiest` (the national queue's open list): " + ", ".join(busiest) + ".", ""]
    lines += _store_target(store)
    return lines + [""]


def _store_target(store: dict) -> list[str]:
    steps = store["backends"].get("postgresql") or []
    at_million = [s for s in steps if s["size"] >= 1_000_000]
    if not at_million:
        largest = _size(steps[-1]["size"]) if steps else "none"
        return [
            f"Target: every store operation under {TARGET_STORE_MS:.0f} ms at 1M complaints on PostgreSQL: "
            f"not measured in this run (largest PostgreSQL size: {largest})."
        ]
    ops = at_million[-1]["operations"]
    cells = ", ".join(
        f"{op} p95 {ops[op]['p95_ms']:.2f} ms {_mark(ops[op]['p95_ms'] < TARGET_STORE_MS)}" for op in OPERATIONS if op in ops and op != "ping"
    )
    return [f"Target: every store operation under {TARGET_STORE_MS:.0f} ms (p95) at 1M complaints on PostgreSQL: {cells}."]


def _sms(sms: dict) -> list[str]:
    lines = [
        "## 4. SMS per complaint",
        "",
        "The corpus (bench/corpus.py) through the simulator's SMS channel, one complaint at a time; a scripted citizen "
        "answers what the bot asks. Each string in `replies` is one SMS (GSM-7, <= 160 characters). Turns and SMS are "
        "counted until the ticket arrives; the status check after it is not included.",
        "",
        "| kind | complaints | filed | turns / filed (mean, max) | SMS / filed (mean, max) | most SMS in one turn | "
        "turns answered by 1 SMS | place asked | category asked | wrong kab/kota in summary |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for kind, a in (*sms["by_kind"].items(), ("all", sms["all"])):
        share = a["turns_answered_with_one_sms_share"]
        lines.append(
            f"| {kind} | {a['complaints']} | {a['filed']} | {fmt(a['turns_per_filed_mean'], 2)}, {fmt(a['turns_per_filed_max'])} | "
            f"{fmt(a['sms_per_filed_mean'], 2)}, {fmt(a['sms_per_filed_max'])} | {fmt(a['max_sms_in_one_turn'])} | "
            f"{'-' if share is None else f'{share:.0%}'} | {a['place_asked']} | {a['category_asked']} | {a['place_mismatches']} |"
        )
    a = sms["all"]
    one = sms["one_message_sms_per_complaint"]
    one_turn = sms["one_message_max_sms_per_turn"]
    share = a["replies_one_segment_share"]
    lines += [
        "",
        f"Replies that fit one segment (<= 160 septets): {'-' if share is None else f'{share:.1%}'} of {a['replies']} "
        f"(status checks included); replies with characters outside GSM-7: {sms['non_gsm7_replies']}; "
        f"turns whose answer was missing from the response and arrived later (read back with GET /simulator/messages): "
        f"{a['turns_answered_late']}.",
        "",
        f"One-message complaints: {fmt(sum(one) / len(one), 2) if one else '-'} SMS segments per complaint in all "
        f"(max {max(one, default='-')}), at most {max(one_turn, default='-')} in one bot turn (the summary). "
        f"Target: {TARGET_SMS_SEGMENTS} segments or fewer per one-message complaint: "
        f"whole exchange {_mark(bool(one) and max(one) <= TARGET_SMS_SEGMENTS) if one else '-'}, "
        f"per bot turn {_mark(bool(one_turn) and max(one_turn) <= TARGET_SMS_SEGMENTS) if one_turn else '-'}.",
    ]
    mismatches = [r for r in sms["runs"] if r["place_matches"] is False]
    if mismatches:
        lines += ["", "Summaries showing another kab/kota than the citizen meant (the place was read from the problem text):"]
        lines += [f"- \"{r['opening']}\" -> {r['place_in_summary']} (meant {r['place_expected']})" for r in mismatches]
    not_filed = [r for r in sms["runs"] if not r["filed"]]
    if not_filed:
        lines += ["", "Not filed:"] + [
            f"- \"{r['opening']}\": {(r['stuck_on'] or '').replace(chr(10), ' / ')}" for r in not_filed
        ]
    example = sms.get("example_one_message")
    if example:
        lines += ["", "Example, a one-message complaint (each bot line is one SMS):", "", "```"]
        for step in example:
            lines.append(f"> {step['citizen']}")
            lines += [f"< [{len(text)}] " + text.replace("\n", " / ") for text in step["bot_sms"]]
        lines.append("```")
    return lines + [""]


SCALE_KINDS = (
    ("aduan run", "`aduan run`"),
    ("app instance", "app instances"),
    ("reading worker", "reading workers"),
    ("rasa server", "Rasa servers"),
    ("other child", "other children"),
    ("postgresql", "PostgreSQL (all its processes)"),
    ("redis-server", "Redis"),
    ("benchmark", "the benchmark (load, fake Twilio)"),
)


def _scale(scale: dict) -> list[str]:
    layouts = scale.get("layouts") or []
    names = ", ".join(layout["layout"] for layout in layouts) or "-"
    lines = [
        "## Scale-out: app instances and Rasa servers on one machine",
        "",
        f"Layouts {names} (APPSxENGINES: `aduan run --apps A --engines E`), one after the other, each on a fresh "
        f"PostgreSQL store and tracker store (PostgreSQL {scale.get('postgresql') or '-'}) and Redis "
        f"{scale.get('redis') or '-'} at {scale.get('redis_url', '-')} (Rasa's lock store when E > 1); "
        f"READING_WORKERS {scale.get('reading_workers', '-')}. The latency part's Twilio SMS path, the same dialogues "
        "in every layout: signed webhooks posted to the app instances in turn (round robin, as a load balancer; "
        "signed over the one PUBLIC_BASE_URL), a turn timed from the webhook to the arrival at the fake Twilio of "
        "the last SMS that answers it. Closed loop: each citizen sends its next message when the last one was "
        "answered; calibration and a warm-up of a few dialogues first, not measured. *failed*: turns with no "
        "complete answer in 180 s or an HTTP error (the stack's \"turn failed\" log lines, a Rasa call that failed "
        "and was retried, in brackets).",
        "",
        "| layout | citizens | dialogues | turns | wall s | turns/s | p50 ms | p95 ms | p99 ms | max ms | busy notices "
        "| failed | no ticket | short / late | webhooks per instance |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for layout in layouts:
        for level in layout.get("levels") or []:
            spread = " / ".join(str(n) for n in (level.get("webhooks_by_instance") or {}).values())
            lines.append(
                f"| {layout['layout']} | {level['concurrency']} | {level['dialogues']} | {level['turns']} | "
                f"{fmt(level['wall_seconds'])} | {fmt(level['turns_per_second'], 2)} | {fmt(level['p50_ms'])} | "
                f"{fmt(level['p95_ms'])} | {fmt(level['p99_ms'])} | {fmt(level['max_ms'])} | {level['busy_notices']} | "
                f"{level['errors']} ({level['turn_failures_in_log']}) | {level['dialogues_without_ticket']} | "
                f"{level['short_turns']} / {level['late_messages'] if level['late_messages'] is not None else '-'} | {spread} |"
            )
    lines.append("")
    for row in scale.get("ratios") or []:
        cells = "; ".join(
            f"{r['concurrency']} citizens: throughput x{fmt(r['throughput'], 2)}, p95 x{fmt(r['p95'], 2)}" for r in row["levels"]
        )
        lines += [f"**{row['layout']} / {row['baseline']}**: {cells or 'no level in common'}.", ""]
    lines += [
        "CPU seconds per kind of process during each level (utime + stime from /proc/<pid>/stat, between the "
        "level's first webhook and its last answer); *machine* is all cores' busy time from /proc/stat (everything "
        "on the machine, also other work), in cores: the machine's cores are saturated when it nears their number.",
        "",
        "| layout | citizens | wall s | machine busy cores | stack cores | "
        + " | ".join(label for _, label in SCALE_KINDS) + " |",
        "|---|---:|---:|---:|---:|" + "---:|" * len(SCALE_KINDS),
    ]
    for layout in layouts:
        for level in layout.get("levels") or []:
            cpu = level["cpu"]
            cells = " | ".join(fmt(cpu["seconds_by_kind"].get(kind), 1) for kind, _ in SCALE_KINDS)
            lines.append(
                f"| {layout['layout']} | {level['concurrency']} | {fmt(cpu['wall_seconds'])} | "
                f"{fmt(cpu['machine_busy_cores'], 2)} of {cpu['cores']} ({_share(cpu['machine_busy_share'])}) | "
                f"{fmt(cpu['stack_cores'], 2)} | {cells} |"
            )
    lines += [
        "",
        "Memory while the levels ran (sampled every "
        f"{_interval(layouts)} s; RSS and PSS from /proc/<pid>/smaps_rollup; PSS splits shared pages among the "
        "processes that share them, so PSS adds up and RSS does not). Per process of the kind: max and mean over the "
        "samples; *all of the kind*: the largest sum over the kind's processes in one sample.",
        "",
        "| layout | process | processes | RSS max | RSS mean | PSS max | PSS mean | PSS of all of the kind, max |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for layout in layouts:
        memory = layout.get("memory") or {}
        for kind, label in SCALE_KINDS:
            m = (memory.get("by_kind") or {}).get(kind)
            if not m:
                continue
            if kind == "aduan run":
                label += " (the app itself)" if layout["apps"] == 1 and layout["engines"] == 1 else " (supervisor, action relay)"
            count = m["processes"] if m["processes"] is not None else f"{m['pids_seen']} seen"
            lines.append(
                f"| {layout['layout']} | {label} | {count} | {_mib(m['rss_max_kib'])} | {_mib(m['rss_mean_kib'])} | "
                f"{_mib(m['pss_max_kib'])} | {_mib(m['pss_mean_kib'])} | {_mib(m['sum_pss_max_kib'])} |"
            )
        total = (memory.get("stack_pss_kib") or {}).get("all")
        if total:
            lines.append(
                f"| {layout['layout']} | **the stack** (`aduan run` and its descendants), PSS summed | | | | "
                f"{_mib(total['max'])} | {_mib(total['mean'])} | |"
            )
    notes = []
    for layout in layouts:
        name = layout["layout"]
        if layout.get("startup_seconds") is not None:
            notes.append(f"{name}: ready after {layout['startup_seconds']:.0f} s")
        if "tracker_user_events" in layout:
            user = layout["tracker_user_events"]
            notes.append(
                f"{name}: **Rasa's tracker database could not be read**" if user is None
                else f"{name}: {user:,} user messages in Rasa's PostgreSQL tracker store"
            )
        if layout.get("restarts_in_log"):
            notes.append(f"{name}: **{layout['restarts_in_log']} children died** and were restarted during the run (see its log)")
        log = layout.get("log") or {}
        if log.get("errors") or log.get("tracebacks"):
            notes.append(f"{name}: {log.get('errors', 0)} ERROR lines, {log.get('tracebacks', 0)} tracebacks in the stack's log")
        if layout.get("error"):
            notes.append(f"{name}: **failed**: {layout['error'][:300]}")
        for level in layout.get("levels") or []:
            if level.get("examples"):
                notes.append(f"{name}, {level['concurrency']} citizens: {', '.join(level['examples'])[:300]}")
    if notes:
        lines += ["", "Notes: " + "; ".join(notes) + "."]
    lines += [
        "",
        "On a machine with few cores the app instances, the Rasa servers, PostgreSQL and the load generator compete "
        "for the same cores: more processes buy no throughput once the cores are busy; what the comparison shows is "
        "that the scaled-out stack works under the same load and what it costs (memory, CPU, latency).",
        "",
    ]
    return lines


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _interval(layouts: list[dict]) -> str:
    for layout in layouts:
        interval = (layout.get("memory") or {}).get("sample_interval_seconds")
        if interval:
            return f"{interval:g}"
    return "-"
