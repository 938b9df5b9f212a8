"""What the ``aduan`` command modules share: one store transaction per command, refusals as exit messages.

bot/cli.py (the parser and the stack's commands), bot/cli_agencies.py and bot/cli_officers.py
all use these; they live apart so that those modules do not import each other.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from bot.administration import AdministrationError
from bot.config import Settings
from storage.db import make_engine, session_scope


def store_session(settings: Settings):
    """One transaction on the configured store: committed when the command succeeds, rolled back on any error."""
    return session_scope(make_engine(settings.database_url))


@contextmanager
def refusals_exit(hints: Mapping[str, str] | None = None) -> Iterator[None]:
    """A rule of bot/administration.py that refused the change ends the command with its message.

    ``hints`` adds, per refusal code, where to look next (``"; see `aduan agency list`"``).
    """
    try:
        yield
    except AdministrationError as error:
        raise SystemExit(f"{error.message}{(hints or {}).get(error.code, '')}") from None
