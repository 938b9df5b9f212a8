"""A fake engine install for ``aduan run``: point RASA_BIN at ``install(dir)`` and it starts in a moment.

``dir/bin/rasa`` and ``dir/bin/python`` are wrappers around the app's own Python with
``tests/fakes/engine`` (a stand-in ``rasa`` package) first on PYTHONPATH, so ``aduan train`` and
the real launcher (``scripts/rasa_launcher.py``, which imports ``rasa.__main__``) run the fake.
"""

from __future__ import annotations

import sys
from pathlib import Path

FAKE_PACKAGE_DIR = Path(__file__).resolve().parent / "engine"


def install(directory: Path) -> Path:
    """Writes the wrappers; returns the path for RASA_BIN."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    wrappers = {
        "python": f'exec "{sys.executable}" "$@"',
        "rasa": f'exec "{sys.executable}" -m rasa "$@"',
    }
    for name, line in wrappers.items():
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexport PYTHONPATH="{FAKE_PACKAGE_DIR}"\n{line}\n')
        script.chmod(0o755)
    return bin_dir / "rasa"
