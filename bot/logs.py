"""Logging for operators: readable lines, and no personal data.

Every record passes lokal-id's Samaran filter, which masks phone numbers, NIK, names after
cues and the like ("0812****7890"), whatever logger wrote it (ours, uvicorn's access log, a
library's). Our own code also avoids logging addresses at all (channels.urns.redact_urn).
"""

from __future__ import annotations

import logging

from lokal.samaran.logging import SamaranFilter


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%H:%M:%S"))
    handler.addFilter(SamaranFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # httpx logs request URLs, which carry Rasa's token as a query parameter
    logging.getLogger("httpx").setLevel(logging.WARNING)
