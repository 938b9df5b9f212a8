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
