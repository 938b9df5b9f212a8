"""No personal data in logs: the filter is on the handler every record passes."""

from __future__ import annotations

import io
import logging

from bot.logs import configure_logging


def test_phone_numbers_and_nik_are_masked_in_every_logger():
    # Under `aduan run` uvicorn's loggers propagate to the root handler (log_config=None); a logger
    # of our own stands in for its access log here, since other tests' servers configure uvicorn's.
    access = logging.getLogger("aduan.tests.access")
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        stream = io.StringIO()
        root.handlers[0].setStream(stream)
        access.info(
            '%s - "%s %s HTTP/1.1" %d', "127.0.0.1:5555", "GET", "/simulator/messages?channel=sms&sender=081234567890", 200
        )
        logging.getLogger("bot.anything").warning("from sim-sms:+6281234567890 with NIK 3201011508950001")
        access.info('%s - "POST %s HTTP/1.1" 200', "127.0.0.1:1", "/webhook?token=s3cr3t-Value")
        output = stream.getvalue()
    finally:
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    assert "081234567890" not in output and "6281234567890" not in output
    assert "3201011508950001" not in output
    assert "GET /simulator/messages" in output
    assert "s3cr3t-Value" not in output and "/webhook?token=***" in output
