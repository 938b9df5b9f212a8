"""What the numbers were measured on: cores, CPU model, RAM, software versions."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from bot.cli import ROOT


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _engine_python() -> str:
    python = ROOT / ".venv" / "engine" / "bin" / "python"
    if not python.exists():
        return "missing"
    try:
        return subprocess.run([str(python), "--version"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def describe() -> dict[str, object]:
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "hostname": platform.node(),
        "cores": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "ram_gib": _ram_gib(),
        "kernel": platform.release(),
        "app_python": platform.python_version(),
        "engine_python": _engine_python(),
        "sqlite": sqlite3.sqlite_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def one_line(machine: dict[str, object]) -> str:
    return (
        f"{machine['cores']} cores, {machine['cpu_model']}, {machine['ram_gib']} GiB RAM, "
        f"Linux {machine['kernel']}, app Python {machine['app_python']}, engine {machine['engine_python']}, "
        f"SQLite {machine['sqlite']}" + (f", PostgreSQL {machine['postgresql']}" if machine.get("postgresql") else "")
    )
