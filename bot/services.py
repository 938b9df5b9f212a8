"""The one process-wide access point, for the code the app cannot hand its objects to.

rasa-sdk's ``ActionExecutor`` instantiates the custom actions (bot/actions/) itself, so they cannot
be given the store's engine; and what they call (filing, and casework's notice to officers with
signed links to a citizen's photos) runs inside their transaction. So the app's lifespan
``install``s its engine, media links and public address here once at start and ``clear``s them at shutdown.

Everything the app builds itself (the gateway, its conversations and dispatcher, the routes
through ``request.app.state``) is handed the same objects instead and does not read this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

from bot.media_links import MediaLinks
from storage import db
from storage.models import Attachment

T = TypeVar("T")


@dataclass(frozen=True)
class Services:
    engine: Engine
    media_links: MediaLinks | None = None  # None: no public URL or no link secret, so no links
    public_base_url: str = ""  # PUBLIC_BASE_URL: pushes link the public ticket page; empty, no link


_installed: Services | None = None


def install(services: Services) -> None:
    """Make these the running app's services (its lifespan does, at start)."""
    global _installed
    _installed = services


def clear() -> None:
    """No services any more (the app's lifespan, at shutdown)."""
    global _installed
    _installed = None


def current() -> Services:
    if _installed is None:
        raise RuntimeError("no app is running: its lifespan installs bot.services (or call bot.services.install)")
    return _installed


async def in_transaction(work: Callable[[Session], T]) -> T:
    """Run blocking store work in one transaction on a worker thread, off the event loop."""
    return await db.in_transaction(current().engine, work)


def public_base_url() -> str:
    """The app's public address, or "" when it has none or no app is running (a script, the tests of casework)."""
    return _installed.public_base_url if _installed is not None else ""


def media_link(attachment: Attachment) -> str | None:
    """The officer's link to a file, or None: a location pin, links not configured, or no app running
    (a script or the benchmark filing straight into the store)."""
    if attachment.kind == "link":  # an integration's own URL (Open311 media_url): shown as it was given
        return attachment.url
    links = _installed.media_links if _installed is not None else None
    return links.link_for(attachment) if links is not None else None
