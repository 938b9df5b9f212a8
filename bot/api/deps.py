"""What every route of the REST API is given: a session in one transaction, the officer, admin or not;
and how a refused administration change is answered.

Routes are plain (sync) functions: FastAPI runs them in its thread pool, so store work never runs
on the event loop. ``SessionDep`` opens one transaction per request and is a ``yield`` dependency
of scope ``"function"``: its exit (the commit) runs once the route has returned, BEFORE the
response is sent (FastAPI >= 0.121; the default scope would commit after sending). A commit that
fails therefore becomes a 500 instead of a success answer for a change that was lost, and an
error raised by the route (an ``HTTPException`` too) rolls the whole transaction back.
tests/bot/api/test_api_transactions.py pins both.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import BackgroundTasks, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from bot.administration import AdministrationError
from storage import officers as officer_store
from storage.db import session_scope
from storage.models import Officer, OfficerRole

_bearer = HTTPBearer(auto_error=False, description="Officer token issued by `aduan officer token`")


def request_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(request_session, scope="function")]


def current_officer(
    session: SessionDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Officer:
    """The officer whose bearer token came with the request (401 without one, or for a revoked one)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    officer = officer_store.authenticate_token(session, credentials.credentials)
    if officer is None:
        raise HTTPException(401, "invalid or revoked token", headers={"WWW-Authenticate": "Bearer"})
    return officer


OfficerDep = Annotated[Officer, Depends(current_officer)]


def current_admin(officer: OfficerDep) -> Officer:
    if officer.role != OfficerRole.admin.value:
        raise HTTPException(403, "admins only")
    return officer


AdminDep = Annotated[Officer, Depends(current_admin)]


async def _wake_dispatcher(request: Request) -> None:
    # async: FastAPI runs it on the event loop, where the dispatcher's asyncio.Event lives
    request.app.state.gateway.dispatcher.wake()


def send_after_commit(request: Request, background: BackgroundTasks) -> None:
    """Have the dispatcher send what this request put in the outbox, once it is committed.

    Background tasks run after the response is sent, so after the commit (see above): woken
    earlier, the dispatcher could look before the rows are there, and they would wait for its next poll.
    """
    background.add_task(_wake_dispatcher, request)


# AdministrationError codes -> HTTP status; the message is the detail
_REFUSAL_STATUS = {
    "invalid": 422,
    "unknown_agency": 422,
    "agency_exists": 409,
    "address_taken": 409,
    "officer_inactive": 409,
    "self_deactivation": 409,
    "no_officer": 404,
    "no_address": 404,
    "no_token": 404,
}


@contextmanager
def administration_refusals() -> Iterator[None]:
    """Answer a rule of bot/administration.py that refused the change with its 4xx (the transaction rolls back)."""
    try:
        yield
    except AdministrationError as error:
        raise HTTPException(_REFUSAL_STATUS.get(error.code, 409), error.message) from None
