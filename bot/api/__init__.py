"""The officers' REST API under /api/v1 (DESIGN.md section 4): thin routes over bot/casework.py and bot/administration.py.

Bearer tokens are issued per officer by the CLI (``aduan officer token``). An officer sees only
the complaints of the agency (admins see all), and a reporter's identity only when the
reporter did not ask to be anonymous.

    deps.py      the session (one transaction per request), the officer of the token, the admin check
    schemas.py   the request and response shapes
    routes/      complaints, deliveries, agencies (and routing rules), officers

bot/app.py includes ``router``.
"""

from __future__ import annotations

from fastapi import APIRouter

from bot.api.routes import agencies, complaints, deliveries, officers

router = APIRouter(prefix="/api/v1")
router.include_router(complaints.router)
router.include_router(deliveries.router)
router.include_router(agencies.router)
router.include_router(officers.router)
