"""Logging for operators: readable lines, and no personal data.

Every record passes lokal-id's Samaran filter, which masks phone numbers, NIK, names after
cues and the like ("[PHONE_1]"), whatever logger wrote it (ours, uvicorn's access log, a
library's). Our own code also avoids logging addresses at all (channels.urns.redact_urn).

The masking costs 0.4 ms per record on an idle machine and 1-2 ms under load, and uvicorn writes
an access-log record per request on the event loop: it was ~30% of the loop's own work under
load (docs/benchmarks.md section 5). So the root handler only queues the record (the message
formatted, a copy, microseconds) and one listener thread masks, formats and writes it.
``flush()`` waits until everything queued is written (tests; the listener is also stopped, and
so drained, when the process exits).
"""

from __future__ import annotations

import atexit
import logging
import logging.handlers
import os
import queue
import re
import threading

from storage import redaction


# Rasa's ?token=, Open311's ?api_key= (also percent-encoded, as the app reads it too), signed media links' &sig=
_SECRET_PARAMETER = re.compile(r"((?:token|secret|api(?:_|%5f)key|sig)=)[^&\s\"']+", re.IGNORECASE)


class SecretParameterFilter(logging.Filter):
    """Secrets in a query (Rasa's ?token=, Open311's ?api_key=, media links' sig=): never in a log line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAMETER.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_listener_lock = threading.Lock()
_listener: logging.handlers.QueueListener | None = None


def _stop_listener() -> None:
    global _listener
    with _listener_lock:
        if _listener is not None:
            _listener.stop()  # writes what is queued, then ends the thread
            _listener = None


atexit.register(_stop_listener)


def flush() -> None:
    """Wait until every record queued so far has been written."""
    with _listener_lock:
        if _listener is not None:
            _listener.stop()
            _listener.start()


def configure_logging(level: str = "INFO") -> logging.Handler:
    """Route every record through the queue to one masked stream handler; that handler (its stream: stderr)."""
    global _listener
    output = logging.StreamHandler()
    # an app instance of `aduan run --apps N` names itself in each line ("app-2"), as the engines do
    instance = os.environ.get("ADUAN_INSTANCE", "")
    prefix = f"{instance} " if instance else ""
    output.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)-7s {prefix}%(name)s: %(message)s", datefmt="%H:%M:%S")
    )
    output.addFilter(SecretParameterFilter())
    output.addFilter(redaction.log_filter())  # the same masking as the stored delivery errors
    records: queue.SimpleQueue = queue.SimpleQueue()
    _stop_listener()
    with _listener_lock:
        _listener = logging.handlers.QueueListener(records, output)
        _listener.start()
    root = logging.getLogger()
    root.handlers[:] = [logging.handlers.QueueHandler(records)]
    root.setLevel(level.upper())
    # httpx logs request URLs, which carry Rasa's token as a query parameter; twilio's client
    # logs every request in full at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("twilio").setLevel(logging.WARNING)
    return output
