"""Rasa's custom-action calls, relayed to a live app instance (``aduan run --apps N`` only).

Rasa takes ONE action endpoint URL. In production that URL is the internal load balancer in front
of the app instances (docs/deployment.md); on one machine there is none, so ``aduan run`` starts
this relay on loopback and points every engine at it. It passes each call to the app instances in
turn and, when one cannot be connected to (killed, restarting), to the next: the call never
reached it, so nothing ran twice. A call cut off after it reached an instance (killed mid-call) goes to the next instance too when
its action may run twice: every action but ``action_thread_answer`` only reads, or, like filing,
finds what the same message did before (``filed_by_message_id``); a thread answer would be relayed
to the officers twice, so its call is answered 502 (Rasa logs it and goes on without the action's
events; the app then asks the citizen to send the message again).
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

log = logging.getLogger("aduan.action-relay")

ACTION_TIMEOUT = 60.0  # an action reads free text and writes the store: seconds at most under load
NOT_SAFE_TO_REPEAT = frozenset({"action_thread_answer"})  # relays the citizen's words to officers


class ActionRelay:
    def __init__(self, app_urls: list[str]) -> None:
        self._apps = list(app_urls)
        self._next = itertools.count()
        self._http = httpx.Client(timeout=ACTION_TIMEOUT)
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server protocol
                length = int(self.headers.get("content-length") or 0)
                status, body, kind = relay.forward(self.path, self.rfile.read(length), self.headers.get("content-type"))
                try:
                    self.send_response(status)
                    self.send_header("content-type", kind)
                    self.send_header("content-length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    # Rasa gave up on the call (the turn it belonged to was cancelled): nobody to answer
                    log.info("Rasa closed an action call before its answer")

            def log_message(self, format: str, *args: object) -> None:  # the path carries the token
                return

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address) -> None:  # not a traceback on stderr, unmasked
                log.exception("the action relay failed on a call")

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="action-relay", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/webhook"

    def start(self) -> "ActionRelay":
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():  # shutdown() waits for a serve_forever() that never began otherwise
            self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def forward(self, path: str, body: bytes, content_type: str | None) -> tuple[int, bytes, str]:
        first = next(self._next) % len(self._apps)
        for app in self._apps[first:] + self._apps[:first]:
            try:
                response = self._http.post(
                    app + path, content=body, headers={"content-type": content_type or "application/json"}
                )
            except (httpx.ConnectError, httpx.ConnectTimeout):
                continue  # never reached it: the next instance
            except httpx.HTTPError as exc:
                action = _action_of(body)
                if action not in NOT_SAFE_TO_REPEAT:
                    log.warning("an action call (%s) to %s was cut off (%s): the next instance", action, app, type(exc).__name__)
                    continue
                log.error("an action call (%s) to %s was cut off (%s)", action, app, type(exc).__name__)
                return 502, b'{"error": "the app instance did not answer"}', "application/json"
            return response.status_code, response.content, response.headers.get("content-type", "application/json")
        log.error("no app instance could be reached for an action call")
        return 502, b'{"error": "no app instance is reachable"}', "application/json"


def _action_of(body: bytes) -> str:
    try:
        return str(json.loads(body).get("next_action") or "")
    except (ValueError, AttributeError):
        return ""
