"""`aduan evaluate`: how well the bot understands citizens, on a held-out set never trained on.

- intent macro-F1 over tests/nlu/heldout_nlu.yml (parsed by the trained Rasa model);
- category accuracy (the category the bot proposes first), how often it decides without asking
  and how often it is right then, kab/kota accuracy, and the share of one-message complaints that
  need no more than the two closing questions (anonymity, confirmation), over
  tests/nlu/heldout_complaints.yml.

A one-message complaint counts when the model reads it as a complaint and the first message
already gives the description, a confident category and a resolved kab/kota: exactly what
`action_start_complaint` keeps before the form asks its remaining questions.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from bot.actions.complaint import prefill_from_first_message
from bot.categories import best_guess, confident_guess, likely_options
from bot.regions import resolve

ROOT = Path(__file__).resolve().parent.parent
HELDOUT_NLU = ROOT / "tests" / "nlu" / "heldout_nlu.yml"
HELDOUT_COMPLAINTS = ROOT / "tests" / "nlu" / "heldout_complaints.yml"
TARGETS = {"intent_macro_f1": 0.95, "category_accuracy": 0.90, "region_accuracy": 0.95, "one_message_share": 0.85}

_ANNOTATION = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def heldout_intents(path: Path = HELDOUT_NLU) -> list[tuple[str, str]]:
    data = yaml.safe_load(path.read_text())
    examples = []
    for block in data["nlu"]:
        if "intent" not in block:
            continue
        for line in block["examples"].splitlines():
            line = line.strip()
            if line.startswith("- "):
                examples.append((_ANNOTATION.sub(r"\1", line[2:].strip()), block["intent"]))
    return examples


def parse_with_model(texts: list[str], model: Path, python: Path) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "texts.json", Path(tmp) / "parses.json"
        source.write_text(json.dumps(texts))
        result = subprocess.run(
            [str(python), str(ROOT / "scripts" / "nlu_parse.py"), str(model), str(source), str(target)],
            capture_output=True, text=True, cwd=ROOT,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"},
        )
        if result.returncode != 0:
            raise RuntimeError(f"parsing with the model failed:\n{result.stderr[-3000:]}")
        return json.loads(target.read_text())


def macro_f1(gold: list[str], predicted: list[str]) -> tuple[float, dict[str, float]]:
    per_label = {}
    for label in sorted(set(gold)):
        tp = sum(1 for g, p in zip(gold, predicted) if g == label and p == label)
        fp = sum(1 for g, p in zip(gold, predicted) if g != label and p == label)
        fn = sum(1 for g, p in zip(gold, predicted) if g == label and p != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        per_label[label] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return sum(per_label.values()) / len(per_label), per_label


@dataclass
class Report:
    numbers: dict[str, float]
    per_intent_f1: dict[str, float]
    confusions: list[tuple[str, str, str]]  # (text, expected, got) samples for reading

    def table(self) -> str:
        lines = ["| measure | value | target |", "|---|---|---|"]
        for key, value in self.numbers.items():
            target = TARGETS.get(key)
            mark = "" if target is None else (" ok" if value >= target else " BELOW")
            lines.append(f"| {key} | {value:.3f} | {'' if target is None else f'>= {target}'}{mark} |")
        lines += ["", "| intent | F1 |", "|---|---|"]
        lines += [f"| {intent} | {f1:.3f} |" for intent, f1 in self.per_intent_f1.items()]
        return "\n".join(lines)


def evaluate(model: Path, engine_python: Path) -> Report:
    intents = heldout_intents()
    complaints = yaml.safe_load(HELDOUT_COMPLAINTS.read_text())
    texts = [text for text, _ in intents] + [c["text"] for c in complaints]
    parses = parse_with_model(texts, model, engine_python)
    intent_parses, complaint_parses = parses[: len(intents)], parses[len(intents) :]

    gold = [intent for _, intent in intents]
    predicted = [p["intent"] for p in intent_parses]
    f1, per_intent = macro_f1(gold, predicted)
    confusions = [(t, g, p) for (t, g), p in zip(intents, predicted) if g != p]

    category_hits = category_offered = decided = decided_right = region_hits = one_message = 0
    for complaint, parse in zip(complaints, complaint_parses):
        text, category = complaint["text"], complaint["category"]
        chosen = confident_guess(text)
        category_hits += best_guess(text).value == category
        decided += chosen is not None
        decided_right += chosen is not None and chosen.value == category
        category_offered += category in [slug.value for slug in likely_options(text)]
        place = resolve(text).place
        region_hits += place is not None and place.region_code == complaint["region_code"]
        prefilled = prefill_from_first_message(text)
        one_message += (
            parse["intent"] == "file_complaint"
            and bool(prefilled.get("description"))
            and bool(prefilled.get("category"))
            and bool(prefilled.get("region_code"))
        )
        if best_guess(text).value != category:
            confusions.append((text, category, best_guess(text).value))
        if place is None or place.region_code != complaint["region_code"]:
            confusions.append((text, complaint["region_code"], place.region_code if place else "-"))
    n = len(complaints)
    numbers = {
        "intent_macro_f1": f1,
        "intent_accuracy": sum(g == p for g, p in zip(gold, predicted)) / len(gold),
        "category_accuracy": category_hits / n,
        "category_in_top3": category_offered / n,
        "category_decided_without_asking": decided / n,
        "category_precision_when_decided": decided_right / decided if decided else 0.0,
        "region_accuracy": region_hits / n,
        "one_message_share": one_message / n,
        "heldout_intent_examples": float(len(intents)),
        "heldout_complaints": float(n),
    }
    return Report(numbers=numbers, per_intent_f1=per_intent, confusions=confusions)

