"""Part 4, SMS cost: the scripted corpus (bench/corpus.py) through the simulator's SMS channel.

A scripted citizen sends the opening message(s) of a complaint, then answers whatever the bot
asks from the complaint's fields, until a ticket arrives (at most ``MAX_TURNS`` turns). Each
string in ``replies`` is one SMS the app sent (the app already splits bot messages into GSM-7
SMS of at most 160 characters). Counted per complaint: the citizen's turns until filing, the
SMS the bot sent until filing, which questions were asked, and whether the place in the summary
is the place the citizen meant. After filing, one "cek status <ticket>" turn is sent and
counted separately.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from dataclasses import asdict, dataclass, field

import httpx

from bench.corpus import CORPUS, KINDS, ScriptedComplaint
from bench.stack import Stack
from bot.regions import resolve
from channels.gsm7 import GSM7_BASIC, GSM7_EXTENSION, SINGLE_SEGMENT, septets

_GSM7 = set(GSM7_BASIC + GSM7_EXTENSION) - {"\x1b"}

MAX_TURNS = 12
TICKET = re.compile(r"tiket\s+(\d{4}-\d{4})\b", re.IGNORECASE)  # "... nomor tiket 1234-5678", not "STATUS 1234-5678"
OPTION = re.compile(r"^\s*(\d+)\.\s*(.+?)\s*$", re.MULTILINE)


@dataclass
class ComplaintRun:
    kind: str
    opening: str
    filed: bool = False
    ticket: str | None = None
    turns: int = 0  # citizen messages until the ticket (or until giving up)
    sms: int = 0  # SMS sent by the bot until the ticket
    sms_per_turn: list[int] = field(default_factory=list)
    septets: list[int] = field(default_factory=list)
    asked: list[str] = field(default_factory=list)  # the questions, in order
    place_in_summary: str | None = None
    place_expected: str | None = None
    place_matches: bool | None = None
    status_sms: int = 0
    status_ok: bool | None = None
    stuck_on: str | None = None
    late_replies: int = 0  # turns whose answer did not come in the response but was delivered later
    transcript: list[tuple[str, list[str]]] = field(default_factory=list)


def classify(replies: list[str]) -> str:
    """What the bot's turn asks for (or says)."""
    text = "\n".join(replies).lower()
    if TICKET.search(text) and "status" in text and "ceritakan" not in text:
        return "ticket"
    if "lokasi yang mana" in text:
        return "place_option"
    if "pilih kategori" in text:
        return "category"
    if "termasuk apa" in text:
        return "category_options"
    if "di mana lokasinya" in text or "lokasi belum dikenali" in text:
        return "place"
    if "rahasiakan identitas" in text or "boleh tahu" in text:
        return "anonymous"
    if "periksa laporan" in text and "balas ya" in text:
        return "confirm"
    if "ceritakan" in text:
        return "description"
    return "other"


def _category_label(number: str) -> str | None:
    """The label of a category by its number in the full menu (bot.categories)."""
    from bot import categories

    try:
        return categories.CATEGORIES[int(number) - 1].label_id
    except (ValueError, IndexError, AttributeError):
        return None


def _answer_category_options(replies: list[str], number: str) -> str:
    """A short menu of the likeliest categories: the intended one if listed, else "Kategori lain"."""
    wanted = (_category_label(number) or "").lower()
    options = OPTION.findall("\n".join(replies))
    for option, name in options:
        if wanted and name.lower() == wanted:
            return option
    for option, name in options:
        if "lain" in name.lower() and "lainnya" not in name.lower():
            return option  # "Kategori lain": the full menu follows
    return options[-1][0] if options else number


def _answer_privacy(replies: list[str], anonymous: str) -> str:
    """Yes/no to anonymity, or the matching number when the question lists numbered options."""
    options = OPTION.findall("\n".join(replies))
    if not options:
        return anonymous
    want_anonymous = anonymous.strip().lower() in ("ya", "y", "iya")
    for option, name in options:
        lowered = name.lower()
        if want_anonymous and "rahasiakan" in lowered:
            return option
        if not want_anonymous and "rahasiakan" not in lowered:
            return option
    return anonymous


def _pick_option(replies: list[str], wanted: str | None) -> str:
    options = OPTION.findall("\n".join(replies))
    for number, name in options:
        if wanted and wanted.lower() in name.lower():
            return number
    return options[0][0] if options else "1"


def _expected_place(complaint: ScriptedComplaint) -> str | None:
    resolution = resolve(complaint.place)
    return resolution.place.name if resolution.place else None


def _kabkota(name: str) -> str:
    """"Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)" -> "Kab. Sleman"."""
    return name.split(" (")[0].split(", ")[-1].strip().lower()


def _summary_place(replies: list[str]) -> str | None:
    match = re.search(r"^Lokasi:\s*(.+)$", "\n".join(replies), re.MULTILINE)
    return match.group(1).strip() if match else None


def run_complaint(client: httpx.Client, stack: Stack, complaint: ScriptedComplaint, sender: str) -> ComplaintRun:
    run = ComplaintRun(kind=complaint.kind, opening=complaint.opening[-1] if complaint.kind != "step_by_step" else " / ".join(complaint.opening))
    run.place_expected = _expected_place(complaint)

    delivered = 0  # messages delivered to this sender so far

    def say(text: str) -> list[str]:
        nonlocal delivered
        response = client.post(
            f"{stack.base_url}/simulator/messages", json={"channel": "sms", "sender": sender, "text": text}
        )
        response.raise_for_status()
        replies = response.json()["replies"]
        if not replies:
            # The turn's answer may have been delivered outside this request (a background loop
            # ran the turn): count what reached the citizen, as a phone would show it.
            replies = _late_replies(client, stack, sender, delivered)
            if replies:
                run.late_replies += 1
        delivered += len(replies)
        run.transcript.append((text, replies))
        return replies

    def count(replies: list[str]) -> None:
        run.turns += 1
        run.sms += len(replies)
        run.sms_per_turn.append(len(replies))
        run.septets += [septets(r) for r in replies]

    replies: list[str] = []
    for text in complaint.opening:
        replies = say(text)
        count(replies)
    place_answers = 0
    while run.turns < MAX_TURNS:
        kind = classify(replies)
        run.asked.append(kind)
        if kind != "ticket" and run.asked.count(kind) > 2:
            run.stuck_on = f"asked the same ({kind}) three times: {' | '.join(replies)[:160]}"
            break
        if kind == "ticket":
            run.filed = True
            run.ticket = TICKET.search("\n".join(replies)).group(1)
            break
        if kind == "confirm":
            run.place_in_summary = _summary_place(replies)
            answer = "ya"
        elif kind == "place":
            if place_answers >= 2:
                run.stuck_on = "place not recognised twice"
                break
            place_answers += 1
            answer = complaint.place
        elif kind == "place_option":
            answer = _pick_option(replies, complaint.option)
        elif kind == "category":
            answer = complaint.category
        elif kind == "category_options":
            answer = _answer_category_options(replies, complaint.category)
        elif kind == "anonymous":
            answer = _answer_privacy(replies, complaint.anonymous)
        elif kind == "description":
            answer = complaint.description
        else:
            run.stuck_on = f"unexpected reply: {' | '.join(replies)[:160]}"
            break
        replies = say(answer)
        count(replies)
    else:
        run.stuck_on = f"no ticket after {MAX_TURNS} turns"
    if run.place_in_summary and run.place_expected:
        # Same kab/kota is right ("kota yogyakarta" for a place in Jetis, Kota Yogyakarta); another is wrong.
        run.place_matches = _kabkota(run.place_in_summary) == _kabkota(run.place_expected)
    if run.ticket:
        status = say(f"cek status {run.ticket}")
        run.status_sms = len(status)
        run.status_ok = any(run.ticket in r for r in status)
        run.septets += [septets(r) for r in status]
    return run


def _late_replies(client: httpx.Client, stack: Stack, sender: str, seen: int, wait: float = 10.0) -> list[str]:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        response = client.get(f"{stack.base_url}/simulator/messages", params={"channel": "sms", "sender": sender})
        response.raise_for_status()
        messages = response.json()["messages"]
        if len(messages) > seen:
            time.sleep(0.5)  # let the rest of the turn's messages arrive
            response = client.get(f"{stack.base_url}/simulator/messages", params={"channel": "sms", "sender": sender})
            return [m["text"] for m in response.json()["messages"][seen:]]
        time.sleep(0.25)
    return []


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 2) if values else None


def _aggregate(runs: list[ComplaintRun]) -> dict:
    filed = [r for r in runs if r.filed]
    all_septets = [s for r in runs for s in r.septets]
    turn_sms = [n for r in runs for n in r.sms_per_turn]
    return {
        "complaints": len(runs),
        "filed": len(filed),
        "turns_per_filed_mean": _mean([r.turns for r in filed]),
        "turns_per_filed_max": max((r.turns for r in filed), default=None),
        "sms_per_filed_mean": _mean([r.sms for r in filed]),
        "sms_per_filed_max": max((r.sms for r in filed), default=None),
        "max_sms_in_one_turn": max(turn_sms, default=None),
        "replies": len(all_septets),
        "replies_one_segment_share": round(sum(s <= SINGLE_SEGMENT for s in all_septets) / len(all_septets), 4)
        if all_septets else None,
        "turns_answered_with_one_sms_share": round(sum(n == 1 for n in turn_sms) / len(turn_sms), 4) if turn_sms else None,
        "place_asked": sum("place" in r.asked for r in runs),
        "category_asked": sum("category" in r.asked or "category_options" in r.asked for r in runs),
        "place_mismatches": sum(r.place_matches is False for r in runs),
        "status_checks_ok": sum(bool(r.status_ok) for r in runs),
        "turns_answered_late": sum(r.late_replies for r in runs),
    }


def run(stack: Stack, limit_per_kind: int | None = None) -> dict:
    corpus = list(CORPUS)
    if limit_per_kind:
        corpus = [c for kind in KINDS for c in [c for c in CORPUS if c.kind == kind][:limit_per_kind]]
    stack.sampler.set_phase("sms corpus")
    prefix = random.randrange(10, 99)
    runs: list[ComplaintRun] = []
    started = time.monotonic()
    with httpx.Client(timeout=180) as client:
        for index, complaint in enumerate(corpus, start=1):
            sender = f"0857{prefix:02d}{index:06d}"
            stack.check_alive()
            result = run_complaint(client, stack, complaint, sender)
            runs.append(result)
            flag = "" if result.filed else f"  NOT FILED ({result.stuck_on})"
            if result.place_matches is False:
                flag += f"  place in summary {result.place_in_summary!r} != {result.place_expected!r}"
            print(
                f"[sms] {index:2}/{len(corpus)} {complaint.kind:13} turns {result.turns} sms {result.sms} "
                f"asked {','.join(result.asked)}{flag}",
                flush=True,
            )
    stack.sampler.set_phase("after sms")
    by_kind = {kind: _aggregate([r for r in runs if r.kind == kind]) for kind in KINDS}
    one_message = [r for r in runs if r.kind == "one_message" and r.filed]
    return {
        "seconds": round(time.monotonic() - started, 1),
        "by_kind": by_kind,
        "all": _aggregate(runs),
        "one_message_sms_per_complaint": [r.sms for r in one_message],
        "one_message_max_sms_per_turn": [max(r.sms_per_turn) for r in one_message],
        "non_gsm7_replies": sum(
            1 for r in runs for _, replies in r.transcript for text in replies if set(text) - _GSM7
        ),
        "example_one_message": _example(runs, "one_message"),
        "runs": [
            {k: v for k, v in asdict(r).items() if k != "transcript"} | {"transcript": r.transcript} for r in runs
        ],
    }


def _example(runs: list[ComplaintRun], kind: str) -> list[dict] | None:
    for r in runs:
        if r.kind == kind and r.filed:
            return [{"citizen": text, "bot_sms": replies} for text, replies in r.transcript]
    return None
