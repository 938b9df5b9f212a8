"""Message catalogs for the texts the app renders itself (Babel / gettext).

Indonesian is the source language: msgids are the Indonesian texts, and
bot/locale/<language>/LC_MESSAGES/messages.po holds the translations (English today).
Catalogs are compiled in memory from the .po files, so no build step can be forgotten.

    pybabel extract -F babel.cfg -o bot/locale/messages.pot bot/
    pybabel update -i bot/locale/messages.pot -d bot/locale
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "id"
LANGUAGES = ("id", "en")


@lru_cache(maxsize=None)
def translations(language: str) -> NullTranslations:
    if language == SOURCE_LANGUAGE or language not in LANGUAGES:
        return NullTranslations()
    with open(LOCALES / language / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def translator(language: str) -> Callable[[str], str]:
    """``_ = translator("en"); _("Lokasi yang mana?")`` -> "Which place do you mean?"."""
    return translations(language).gettext
