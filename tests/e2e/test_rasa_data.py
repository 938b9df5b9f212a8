"""Rasa's own consistency check of domain, NLU data and rules (run by the engine's Python 3.10)."""

from __future__ import annotations

import os
import re
import subprocess

from bot.cli import ROOT, quiet_engine_environment, rasa_binary


# The EXTERNAL_ intents are told by the app (trigger_intent), never read from text, so they have no
# NLU examples by design; utterances named only by custom actions are not in any rule. Rasa warns
# about both; any other warning fails the check (what --fail-on-warnings did before the EXTERNAL_ intents).
EXPECTED_WARNINGS = (
    re.compile(r"The intent 'EXTERNAL_\w+' is listed in the domain file, but is not found in the NLU training data"),
    re.compile(r"The utterance '\w+' is not used in any story or rule"),
)


def test_rasa_data_validate_passes():
    result = subprocess.run(
        [rasa_binary(), "data", "validate", "--data", "nlu_data", "--domain", "domain.yml", "--config", "config.yml"],
        cwd=ROOT, capture_output=True, text=True, env=quiet_engine_environment(dict(os.environ)), timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    warnings = re.findall(r"UserWarning: (.*)", output)
    unexpected = [w for w in warnings if not any(p.search(w) for p in EXPECTED_WARNINGS)]
    assert not unexpected, unexpected
    assert "No story structure conflicts found" in output


def test_dialogue_test_stories_pass(model, tmp_path):
    """`rasa test core` on tests/stories: filing (one message, step by step, corrected), cancel, status, help."""
    result = subprocess.run(
        [rasa_binary(), "test", "core", "--stories", "tests/stories", "--model", str(model),
         "--out", str(tmp_path), "--fail-on-prediction-errors", "--no-plot"],
        cwd=ROOT, capture_output=True, text=True, env=quiet_engine_environment(dict(os.environ)), timeout=600,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details[-4000:] + result.stdout[-3000:] + result.stderr[-3000:]
