"""No citizen text tells people to send an SMS opt-out word.

Twilio (and the carriers) read a message that is only STOP, STOPALL, UNSUBSCRIBE, CANCEL, END,
QUIT, REVOKE or OPTOUT as "never message me again": a citizen told "reply CANCEL" to stop a
report would stop hearing from the service, their agency's answers included. The bot tells them
BATAL instead, and still understands "cancel" when someone types it.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import i18n

ROOT = Path(__file__).resolve().parents[2]
OPT_OUT_WORDS = ("STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT-OUT")
_WORD = "|".join(re.escape(word) for word in OPT_OUT_WORDS)
# Written as a command (in capitals, or quoted), or after a verb that tells people to send it.
_AS_COMMAND = re.compile(rf"(?<![\w-])({_WORD})(?![\w-])|[\"'“‘](?i:{_WORD})[\"'”’]")
_TOLD_TO_SEND = re.compile(rf"\b(send|reply|text|type|kirim|balas|ketik)\s+(with\s+|dengan\s+)?({_WORD})\b", re.IGNORECASE)


def domain_texts() -> list[str]:
    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
    return [variant["text"] for variants in domain["responses"].values() for variant in variants if "text" in variant]


def catalog_texts() -> list[str]:
    with open(i18n.LOCALES / "en" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    return [text for message in catalog if message.id for text in (message.id, message.string) if text]


def source_texts() -> list[str]:
    return [message for _, _, message, _, _ in extract_from_dir(str(ROOT / "bot"), method_map=[("**.py", "python")])]


def offending(texts: list[str]) -> list[str]:
    return [text for text in texts if _AS_COMMAND.search(text) or _TOLD_TO_SEND.search(text)]


def test_the_scan_finds_an_opt_out_word_given_as_a_command():
    assert offending(["Cancel: CANCEL.", "or reply cancel", "send 'stop' to end", "Balas STOP"]) == [
        "Cancel: CANCEL.", "or reply cancel", "send 'stop' to end", "Balas STOP"
    ]
    assert offending(["Report cancelled.", "To cancel, send BATAL.", "at the end of the day"]) == []


def test_no_dialogue_response_tells_citizens_to_send_an_opt_out_word():
    assert offending(domain_texts()) == []


def test_no_translated_or_source_text_tells_citizens_to_send_an_opt_out_word():
    assert offending(catalog_texts()) == []
    assert offending(source_texts()) == []


def test_english_texts_name_batal_where_they_say_how_to_cancel():
    help_en = next(v["text"] for v in yaml.safe_load((ROOT / "domain.yml").read_text())["responses"]["utter_help"] if "condition" in v)
    assert "BATAL" in help_en
    assert "BATAL" in i18n.translator("en")(
        "Periksa laporan: {description}\nLokasi: {place}\nKategori: {category}\nDikirim {privacy}.\n"
        "Balas YA untuk kirim, 1-4 untuk ubah (1 isi 2 lokasi 3 kategori 4 identitas), atau BATAL."
    )


def test_cancel_typed_by_a_citizen_is_still_understood_as_cancelling():
    nlu = yaml.safe_load((ROOT / "nlu_data" / "nlu.yml").read_text(encoding="utf-8"))
    cancel = next(block["examples"] for block in nlu["nlu"] if block.get("intent") == "cancel")
    examples = {line.strip()[2:].strip().lower() for line in cancel.splitlines() if line.strip().startswith("- ")}
    assert {"batal", "cancel"} <= examples
