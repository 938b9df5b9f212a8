#!/usr/bin/env bash
# Installs what is missing, and nothing more: the app venv (Python 3.11) and the Rasa engine
# venv (Python 3.10, rasa 3.6.21). Each is reinstalled only when its requirements change.
set -euo pipefail
cd "$(dirname "$0")/.."

APP_VENV=.venv/app
ENGINE_VENV=.venv/engine

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
die() { printf 'setup: %s\n' "$*" >&2; exit 1; }

python_is() {  # python_is <interpreter> <major.minor>: true when it runs and has that version
  "$1" -c "import sys; sys.exit(0 if '%d.%d' % sys.version_info[:2] == '$2' else 1)" >/dev/null 2>&1
}

find_python() {  # find_python <major.minor> <override variable>
  local want=$1 override=${!2:-} candidate prefix
  if [[ -n $override ]]; then
    python_is "$override" "$want" || die "$2=$override is not a working Python $want"
    echo "$override"; return
  fi
  for candidate in "python$want" python3; do
    if command -v "$candidate" >/dev/null && python_is "$candidate" "$want"; then
      command -v "$candidate"; return
    fi
  done
  if command -v pyenv >/dev/null; then
    for version in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}\.[0-9]+$" | sort -t. -k3 -n -r); do
      prefix=$(pyenv prefix "$version" 2>/dev/null) || continue
      if python_is "$prefix/bin/python$want" "$want"; then echo "$prefix/bin/python$want"; return; fi
    done
  fi
  die "Python $want is needed but was not found. Install it (e.g. 'pyenv install $want') or set $2 to its path."
}

fingerprint() { cat "$@" | sha256sum | cut -c1-16; }

# uv installs both venvs from their lock files (requirements/*.txt, written by `make lock`); it is
# itself pinned and installed with the machine's pip into a small venv of its own.
UV_VERSION=0.13.9
TOOLS_VENV=.venv/tools
UV=$TOOLS_VENV/bin/uv

ensure_uv() {
  if [[ -x $UV ]] && [[ $("$UV" --version 2>/dev/null) == "uv $UV_VERSION"* ]]; then return; fi
  say "installing uv $UV_VERSION into $TOOLS_VENV"
  [[ -x $TOOLS_VENV/bin/python ]] || "$1" -m venv "$TOOLS_VENV"
  "$TOOLS_VENV/bin/python" -m pip install --quiet "uv==$UV_VERSION"
}

ensure_venv() {  # ensure_venv <dir> <python> <label> <lock file> [editable project]
  local dir=$1 python=$2 label=$3 lock=$4 editable=${5:-} stamp
  stamp=$(fingerprint "$lock" pyproject.toml)
  if [[ -f $dir/.installed && $(cat "$dir/.installed") == "$stamp" ]]; then
    return
  fi
  say "installing the $label into $dir ($("$python" --version)) from $lock"
  [[ -x $dir/bin/python ]] || "$UV" venv --quiet --seed --python "$python" "$dir"
  # exactly what the lock says (hashes checked), nothing more, nothing less
  "$UV" pip sync --quiet --python "$dir/bin/python" --require-hashes "$lock"
  if [[ -n $editable ]]; then
    "$UV" pip install --quiet --python "$dir/bin/python" --no-deps -e "$editable"
  fi
  echo "$stamp" > "$dir/.installed"
}

PY311=$(find_python 3.11 ADUAN_PYTHON311)
ensure_uv "$PY311"
ensure_venv "$APP_VENV" "$PY311" "app (FastAPI, rasa-sdk, SQLModel)" requirements/app.txt .

PY310=$(find_python 3.10 ADUAN_PYTHON310)
ensure_venv "$ENGINE_VENV" "$PY310" "Rasa engine (rasa 3.6.21)" requirements/engine.txt
