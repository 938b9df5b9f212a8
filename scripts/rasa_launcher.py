"""Start Rasa with its HTTP API token taken from the environment, never from the command line.

Rasa 3.6 reads its token only from ``--auth-token`` (no environment variable, no file), and a
process's command line is readable by every local user (``ps``, ``/proc/<pid>/cmdline``). This
runs Rasa's own entry point in this process with the token appended to ``sys.argv``, which the
kernel does not show. It runs in the engine's Python 3.10 and imports only rasa and the stdlib.

    RASA_TOKEN=... .venv/engine/bin/python scripts/rasa_launcher.py run --enable-api ...

With ``ADUAN_PARENT_PID`` set, the engine also ends when that process dies, even by SIGKILL
(Linux's parent-death signal): a killed ``aduan run`` leaves no orphaned engine holding its port.
"""

import ctypes
import os
import signal
import sys

TOKEN_VARIABLE = "RASA_TOKEN"
PARENT_VARIABLE = "ADUAN_PARENT_PID"
PR_SET_PDEATHSIG = 1


def _end_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the signal was armed
        sys.exit(0)


def main() -> int:
    parent = os.environ.pop(PARENT_VARIABLE, "")
    if parent:
        _end_with_parent(int(parent))
    token = os.environ.pop(TOKEN_VARIABLE, "")  # Rasa's own children need not see it either
    # "--auth-token=..." in one word: a token may begin with "-" (token_urlsafe does, 1 time in 64)
    sys.argv = ["rasa", *sys.argv[1:], *([f"--auth-token={token}"] if token else [])]
    from rasa.__main__ import main as rasa_main

    return rasa_main()


if __name__ == "__main__":
    sys.exit(main())
