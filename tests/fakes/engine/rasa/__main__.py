"""A fake Rasa engine: ``train`` writes an empty model, ``run`` serves what the app asks of Rasa.

- ``GET /status?token=`` answers 200 only with the token ``--auth-token`` gave (Rasa answers 401),
  so a test sees that the token arrived although it was not on the command line;
- the REST channel answers each turn with ``balasan palsu: <text>``; ``trigger_intent`` with no
  messages;
- it prints a line with a phone number at start-up and for each turn (as Rasa's debug log does with
  sender ids), for the redaction tests;
- ``FAKE_ENGINE_IGNORES_SIGTERM=1``: it ignores SIGTERM, so only SIGKILL ends it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

STARTUP_PHONE = "081234567890"


def main() -> int:
    parser = argparse.ArgumentParser(prog="rasa")
    parser.add_argument("command")
    parser.add_argument("--port", type=int, default=5005)
    parser.add_argument("--interface", default="127.0.0.1")
    parser.add_argument("--auth-token", default=None)
    parser.add_argument("--out", default="models")
    parser.add_argument("--fixed-model-name", default="model")
    args, _ = parser.parse_known_args(sys.argv[1:])
    if args.command == "train":
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{args.fixed_model_name}.tar.gz").write_bytes(b"")
        return 0
    if os.environ.get("FAKE_ENGINE_IGNORES_SIGTERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = ThreadingHTTPServer((args.interface, args.port), _handler(args.auth_token))
    print(f"2026-12-01 21:00:00 INFO     rasa.fake  - fake engine up; operator on call: {STARTUP_PHONE}", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _handler(token: str | None):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlparse(self.path)
            if url.path != "/status":
                return self._json(404, {"error": "not found"})
            if token and parse_qs(url.query).get("token", [""])[0] != token:
                return self._json(401, {"error": "unauthorized"})
            self._json(200, {"model_file": "fake.tar.gz"})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            path = urlparse(self.path).path
            if path == "/webhooks/rest/webhook":
                sender = body.get("sender", "")
                print(f"fake engine: a turn from {sender}", flush=True)
                return self._json(200, [{"recipient_id": sender, "text": f"balasan palsu: {body.get('message', '')}"}])
            if path.endswith("/trigger_intent"):
                return self._json(200, {"tracker": {}, "messages": []})
            self._json(404, {"error": "not found"})

        def _json(self, status: int, payload: object) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:  # quiet, like Rasa at INFO
            pass

    return Handler


if __name__ == "__main__":
    sys.exit(main())
