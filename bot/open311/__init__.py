"""Open311 GeoReport v2 for other systems (issue #15): an agency's own system, a city's web form or
a mobile app files complaints into Aduan and reads them back; back offices post their updates.

- routes.py: the endpoints under ``/open311/v2`` (``.xml`` or ``.json``)
- formats.py: XML and JSON from the same data, W3C datetimes, the spec's errors
- catalog.py: the 13 categories as services, and their attributes
- requests.py: complaints as service requests, and who may read what
- intake.py: ``POST requests`` filed as a complaint
- updates.py: mySociety's ``servicerequestupdates`` extension

Keys are issued with ``aduan open311 key add`` (bot/cli_open311.py, storage/open311_keys.py).
"""

from bot.open311.routes import router

__all__ = ["router"]
