"""Logging for operators: readable lines, and no personal data.

Every record passes lokal-id's Samaran filter, which masks phone numbers, NIK, names after
cues and the like ("0812****7890"), whatever logger wrote it (ours, uvicorn's access log, a
library's). Our own code also avoids logging addresses at all (channels.urns.redact_urn).
"""

from __future__ import annotations

import logging
import re

from channels import redaction


_SECRET_PARAMETER = re.compile(r"((?:token|auth_token|secret)=)[^&\s\"']+", re.IGNORECASE)


class SecretParameterFilter(logging.Filter):
    """Rasa calls the action endpoint with ?token=...; access log lines must not carry it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET_PARAMETER.sub(r"\1***", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"))
    handler.addFilter(SecretParameterFilter())
    handler.addFilter(redaction.log_filter())  # the same masking as the stored delivery errors
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs request URLs, which carry Rasa's token as a query parameter; twilio's client
    # logs every request in full at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("twilio").setLevel(logging.WARNING)
