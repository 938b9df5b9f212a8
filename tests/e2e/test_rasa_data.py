"""Rasa's own consistency check of domain, NLU data and rules (run by the engine's Python 3.10)."""

from __future__ import annotations

import os
import subprocess

from bot.cli import ROOT, quiet_engine_environment, rasa_binary


def test_rasa_data_validate_passes():
    result = subprocess.run(
        [rasa_binary(), "data", "validate", "--data", "nlu_data", "--domain", "domain.yml", "--config", "config.yml",
         "--fail-on-warnings"],
        cwd=ROOT, capture_output=True, text=True, env=quiet_engine_environment(dict(os.environ)), timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]


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
