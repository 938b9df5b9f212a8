"""No personal data in logs: the filter is on the handler every record passes."""

from __future__ import annotations

import io
import threading
import logging

from bot import logs
from bot.logs import configure_logging


def test_phone_numbers_and_nik_are_masked_in_every_logger():
    # Under `aduan run` uvicorn's loggers propagate to the root handler (log_config=None); a logger
    # of our own stands in for its access log here, since other tests' servers configure uvicorn's.
    access = logging.getLogger("aduan.tests.access")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        stream = io.StringIO()
        configure_logging("INFO").setStream(stream)
        access.info(
            '%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5555", "GET", "/simulator/messages?channel=sms&sender=081234567890", 200
        )
        logging.getLogger("bot.anything").warning("from sim-sms:+6281234567890 with NIK 3201011508950001")
        access.info('%s - "POST %s HTTP/1.1" 200', "127.0.0.1:1", "/webhook?token=s3cr3t-Value")
        access.info('%s - "GET %s HTTP/1.1" 200', "127.0.0.1:1", "/open311/v2/requests.json?api_key=o311_KeySecret&x=1")
        access.info('%s - "GET %s HTTP/1.1" 200', "127.0.0.1:1", "/open311/v2/requests.json?API%5FKEY=o311_Encoded")
        access.info('%s - "GET %s HTTP/1.1" 200', "127.0.0.1:1", "/media/12?exp=1&sig=SignatureSecret")
        logs.flush()
        output = stream.getvalue()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert "081234567890" not in output and "6281234567890" not in output
    assert "3201011508950001" not in output
    assert "GET /simulator/messages" in output
    assert "s3cr3t-Value" not in output and "/webhook?token=***" in output
    for secret in ("o311_KeySecret", "o311_Encoded", "SignatureSecret"):  # issue #26
        assert secret not in output, secret
    assert "requests.json?api_key=***&x=1" in output and "/media/12?exp=1&sig=***" in output


def test_engine_output_goes_through_the_redaction_filter_with_rasa_s_levels():
    # `aduan run` relays every line the engine prints as a log record of the "rasa" logger
    # (bot.engine_process.relay_output); a bare write to stdout would bypass the filters.
    from bot.engine_process import relay_output

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        stream = io.StringIO()
        configure_logging("INFO").setStream(stream)
        relay_output(
            [
                "2026-12-01 21:00:00 DEBUG    rasa.core.processor  - Received user message from sim-sms:+6281234567890\n",
                "2026-12-01 21:00:01 ERROR    rasa.core.processor  - Action failed for 081234567890\n",
                "Traceback (most recent call last):\n",
                "\n",
                '  GET /status?token=s3cr3t-Value "sender": "+6281234567891"\n',
            ],
            logging.getLogger("rasa"),
        )
        logs.flush()
        output = stream.getvalue()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert "6281234567890" not in output and "081234567890" not in output and "6281234567891" not in output
    assert "s3cr3t-Value" not in output
    assert "Received user message" not in output  # Rasa's DEBUG stays below LOG_LEVEL=INFO
    lines = output.splitlines()
    assert len(lines) == 3
    assert "ERROR   rasa: rasa.core.processor  - Action failed for " in lines[0]
    assert "ERROR   rasa: Traceback" in lines[1]  # a continuation keeps the level of its line


def test_the_event_loop_only_queues_a_record_the_listener_thread_masks_and_writes_it():
    # the masking costs a millisecond a record under load; uvicorn's access log writes one per request
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    written_by: list[str] = []

    class Recording(io.StringIO):
        def write(self, text: str) -> int:
            written_by.append(threading.current_thread().name)
            return super().write(text)

    try:
        stream = Recording()
        configure_logging("INFO").setStream(stream)
        logging.getLogger("aduan.tests.loop").warning("lapor dari 081234567890")
        logs.flush()
        output = stream.getvalue()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert "081234567890" not in output and "lapor dari" in output
    assert written_by and threading.current_thread().name not in written_by
