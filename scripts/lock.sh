#!/usr/bin/env bash
# Writes the lock files both venvs are installed from (scripts/setup.sh):
#   requirements/app.txt     from pyproject.toml (with the test extra), for Python 3.11
#   requirements/engine.txt  from engine-requirements.txt (rasa 3.6.21), for Python 3.10
# Versions already in a lock are kept unless they no longer fit; `scripts/lock.sh --upgrade`
# (or `--upgrade-package NAME`) moves them to the newest releases. Commit the result.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=.venv/tools/bin/uv
[[ -x $UV ]] || { echo "lock: run 'make install' first (it installs uv into .venv/tools)" >&2; exit 1; }
export UV_CUSTOM_COMPILE_COMMAND="scripts/lock.sh"
"$UV" pip compile pyproject.toml --extra test --python-version 3.11 --generate-hashes \
  --output-file requirements/app.txt "$@"
"$UV" pip compile engine-requirements.txt --python-version 3.10 --generate-hashes \
  --output-file requirements/engine.txt "$@"
