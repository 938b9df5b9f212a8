"""Every text the app composes has its English translation, with the same placeholders."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n

BOT = Path(__file__).resolve().parents[2] / "bot"


def source_messages() -> set[str]:
    return {message for _, _, message, _, _ in extract_from_dir(str(BOT), method_map=[("**.py", "python")])}


def english_catalog() -> dict[str, str]:
    with open(i18n.LOCALES / "en" / "LC_MESSAGES" / "messages.po", "rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id}


def test_every_app_text_has_an_english_translation():
    catalog = english_catalog()
    missing = sorted(m for m in source_messages() if not catalog.get(m))
    assert missing == [], "run pybabel extract/update and translate bot/locale/en (README)"


def test_translations_keep_the_placeholders():
    for source, english in english_catalog().items():
        assert set(re.findall(r"{\w+}", source)) == set(re.findall(r"{\w+}", english)), source


def test_indonesian_is_the_source_and_english_is_translated():
    assert i18n.translator("id")("Lokasi yang mana?") == "Lokasi yang mana?"
    assert i18n.translator("en")("Lokasi yang mana?") == "Which place do you mean?"
    assert i18n.translator("fr")("Lokasi yang mana?") == "Lokasi yang mana?"  # unknown: Indonesian
