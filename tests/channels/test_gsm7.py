"""SMS text rules (channels/gsm7.py) and per-channel rendering (channels/formatting.py).

hypothesis is not installed in .venv/app, so the properties are checked on parametrized cases
and on random texts drawn with a fixed seed.
"""

from __future__ import annotations

import random

import pytest

from channels import gsm7
from channels.formatting import TELEGRAM_LIMIT, WHATSAPP_LIMIT, render
from channels.gsm7 import segments, septets, split_for_sms, to_gsm7

# GSM 03.38 default alphabet (3GPP TS 23.038), written out independently of the module.
STANDARD_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
STANDARD_EXTENSION = set("\f^{}\\[]~|€")
GSM7 = STANDARD_BASIC | STANDARD_EXTENSION

# A mixed bag of what citizens paste into messages.
EMOJI = ["😀", "😡", "🙏", "👍🏽", "❤️", "🇮🇩", "🚧", "💧"]
NON_GSM = ["“", "”", "‘", "’", "–", "—", "…", "\u00a0", "\t", "•", "·", "á", "ç", "ô", "ı", "ß", "日本", "ğ", "€", "™", "©"]
WORDS = [
    "jalan", "rusak", "berlubang", "sampah", "menumpuk", "air", "PDAM", "mati", "café", "Rp50.000",
    "{x}", "[catatan]", "a~b", "50%", "€10", "^_^", "|", "\\", "déjà", "Ñ", "pak", "bu", "RT.05/RW.02",
]


def random_text(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(words):
        roll = rng.random()
        if roll < 0.1:
            out.append(rng.choice(EMOJI))
        elif roll < 0.25:
            out.append(rng.choice(WORDS) + rng.choice(NON_GSM))
        elif roll < 0.32:
            out.append("\n")
        else:
            out.append(rng.choice(WORDS))
    return " ".join(out)


def random_texts(seed: int, count: int, max_words: int) -> list[str]:
    rng = random.Random(seed)
    return [random_text(rng, rng.randint(0, max_words)) for _ in range(count)]


def is_gsm7(text: str) -> bool:
    return all(char in GSM7 for char in text)


def reference_septets(text: str) -> int:
    return sum(2 if char in STANDARD_EXTENSION else 1 for char in text)


# --- the alphabet --------------------------------------------------------------------------


def test_module_alphabet_is_the_gsm_03_38_alphabet():
    assert set(gsm7.GSM7_BASIC) - {"\x1b"} == STANDARD_BASIC
    assert len(STANDARD_BASIC) == 127  # 128 code points, escape excluded
    assert set(gsm7.GSM7_EXTENSION) == STANDARD_EXTENSION


# --- to_gsm7 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jalan rusak 😡🙏", "Jalan rusak"),
        ("Tolong 🙏 segera diperbaiki 👍🏽", "Tolong segera diperbaiki"),
        ("🚧🚧🚧", ""),
        ("Bendera 🇮🇩 ❤️ rusak", "Bendera rusak"),
    ],
)
def test_to_gsm7_removes_emoji(text, expected):
    assert to_gsm7(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("“Halo” katanya", '"Halo" katanya'),
        ("‘rusak’", "'rusak'"),
        ("„tanda”", '"tanda"'),
        ("Jum’at", "Jum'at"),
    ],
)
def test_to_gsm7_straightens_curly_quotes(text, expected):
    assert to_gsm7(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("08.00–16.00", "08.00-16.00"),
        ("jalan — rusak", "jalan - rusak"),
        ("suhu −5", "suhu -5"),
        ("tunggu…", "tunggu..."),
        ("• satu\n• dua", "- satu\n- dua"),
        ("a\u00a0b\tc", "a b c"),
    ],
)
def test_to_gsm7_maps_dashes_ellipsis_bullets_and_spaces(text, expected):
    assert to_gsm7(text) == expected


@pytest.mark.parametrize("text", ["café é è ù ì ò à", "Ñandu ÄÖÜ äöüñ", "Straße £5 ¥ § ¿¡", "€10 {a} [b] ~ | ^ \\", "ΔΦΓΛΩΠΨΣΘΞ"])
def test_to_gsm7_keeps_gsm7_characters_unchanged(text):
    assert to_gsm7(text) == text


@pytest.mark.parametrize(("text", "expected"), [("á ç ô ñ", "a c o ñ"), ("Škoda ŽŽ", "Skoda ZZ"), ("naïve", "naive")])
def test_to_gsm7_drops_accents_that_gsm7_lacks(text, expected):
    assert to_gsm7(text) == expected


def test_to_gsm7_removes_unrepresentable_scripts_and_collapses_spaces():
    assert to_gsm7("alamat 日本 jalan") == "alamat jalan"
    assert to_gsm7("  a   b  ") == "a b"


def test_to_gsm7_keeps_line_breaks():
    assert to_gsm7("baris satu\nbaris dua") == "baris satu\nbaris dua"


def test_to_gsm7_output_is_always_gsm7_on_random_texts():
    for text in random_texts(seed=7, count=400, max_words=60):
        out = to_gsm7(text)
        assert is_gsm7(out), (text, out)


def test_to_gsm7_output_is_gsm7_for_every_bmp_character():
    # Every BMP code point outside the surrogates, one at a time.
    for code in range(0x20, 0x10000):
        if 0xD800 <= code <= 0xDFFF:
            continue
        out = to_gsm7(chr(code))
        assert is_gsm7(out), (hex(code), out)


def test_to_gsm7_is_idempotent():
    for text in random_texts(seed=11, count=200, max_words=40):
        once = to_gsm7(text)
        assert to_gsm7(once) == once, text


def test_to_gsm7_does_not_turn_a_fraction_into_a_different_number():
    assert "12" not in to_gsm7("sudah ½ jam antre")


# --- septets / segments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("abc", 3), ("€", 2), ("{}[]", 8), ("a€b", 4), ("^~|\\", 8), ("é\n@", 3), ("Rp 10.000 {x}", 15)],
)
def test_septets_counts_extension_characters_as_two(text, count):
    assert septets(text) == count


def test_septets_matches_reference_on_random_texts():
    for text in random_texts(seed=3, count=200, max_words=50):
        gsm = to_gsm7(text)
        assert septets(gsm) == reference_septets(gsm)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),  # 2 x 153
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("€" * 80, 1),  # 160 septets
        ("€" * 81, 2),  # 162 septets
        ("a" * 159 + "€", 2),  # 161 septets
    ],
)
def test_segments_single_160_then_153_per_part(text, count):
    assert segments(text) == count


# --- split_for_sms -------------------------------------------------------------------------


def test_split_for_sms_short_and_empty():
    assert split_for_sms("") == []
    assert split_for_sms("   \n ") == []
    assert split_for_sms("  Halo, laporan diterima.  ") == ["Halo, laporan diterima."]
    assert split_for_sms("a" * 160) == ["a" * 160]
    assert split_for_sms("€" * 80) == ["€" * 80]  # exactly 160 septets


def test_split_for_sms_never_exceeds_160_septets_and_keeps_all_words_in_order():
    for text in random_texts(seed=42, count=300, max_words=150):
        gsm = to_gsm7(text)
        parts = split_for_sms(gsm)
        for part in parts:
            assert 0 < septets(part) <= 160, (gsm, part)
            assert part == part.strip()
        assert " ".join(parts).split() == gsm.split(), gsm


@pytest.mark.parametrize("limit", [20, 70, 153])
def test_split_for_sms_respects_a_custom_limit(limit):
    for text in random_texts(seed=limit, count=50, max_words=80):
        gsm = to_gsm7(text)
        parts = split_for_sms(gsm, limit=limit)
        assert all(septets(part) <= limit for part in parts)
        assert "".join("".join(parts).split()) == "".join(gsm.split())


def test_split_for_sms_splits_at_a_line_break_when_the_first_line_fills_an_sms():
    first = " ".join(["kata"] * 31) + " ok"  # 157 characters: not even "\nbaris" fits after it
    second = " ".join(["baris"] * 16)  # 95 characters
    assert split_for_sms(first + "\n" + second) == [first, second]  # the break is not carried over


def test_split_for_sms_keeps_line_breaks_inside_a_part():
    text = "Tiket 1234-5678\nStatus: DITERIMA\n" + " ".join(["kata"] * 40)
    parts = split_for_sms(text)
    assert parts[0].startswith("Tiket 1234-5678\nStatus: DITERIMA\n")
    assert all(septets(p) <= 160 for p in parts)


def test_split_for_sms_prefers_line_breaks_when_they_cost_no_extra_sms():
    lines = [" ".join([f"baris{n}"] + ["kata"] * 12) for n in range(3)]  # 3 lines of ~66 characters
    parts = split_for_sms("\n".join(lines))
    assert all(septets(p) <= 160 for p in parts)
    for line in lines:
        assert any(line in part for part in parts), line  # no line cut in two
    assert len(parts) == 2


def test_split_for_sms_uses_fewer_sms_over_keeping_lines_whole():
    lines = [" ".join([f"baris{n}"] + ["kata"] * 18) for n in range(3)]  # 3 lines of ~100 characters
    parts = split_for_sms("\n".join(lines))
    assert len(parts) == 2  # whole lines would need 3
    assert " ".join(" ".join(parts).split()) == " ".join(" ".join(lines).split())


def test_split_for_sms_cuts_a_word_longer_than_an_sms():
    url = "https://example.org/" + "a" * 300
    parts = split_for_sms("lihat " + url)
    assert all(septets(p) <= 160 for p in parts)
    assert "".join(parts).replace("lihat", "", 1) == url


@pytest.mark.parametrize("text", ["€" * 200, "halo " + "{" * 100])
def test_split_for_sms_cuts_long_words_of_extension_characters_within_160_septets(text):
    assert all(septets(part) <= 160 for part in split_for_sms(text))


# --- render --------------------------------------------------------------------------------


def test_render_sms_is_gsm7_and_at_most_160_septets_per_message():
    for text in random_texts(seed=2024, count=300, max_words=120):
        messages = render("sms", text)
        for message in messages:
            assert is_gsm7(message), message
            assert septets(message) <= 160, message
        assert " ".join(messages).split() == to_gsm7(text).split()


def test_render_sms_of_a_typical_reply():
    text = "Terima kasih 🙏 “laporan” Anda diterima — tiket 1234-5678…"
    assert render("sms", text) == ['Terima kasih "laporan" Anda diterima - tiket 1234-5678...']


def test_render_sms_of_emoji_only_sends_nothing():
    assert render("sms", "👍") == []


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
@pytest.mark.parametrize(
    "text",
    ["Terima kasih 🙏 “laporan” Anda — tiket 1234-5678…", "Baris 1\nBaris 2 ½ 日本 Ğ", "€ {} [] ~ | ^ \\"],
)
def test_render_whatsapp_and_telegram_leave_text_intact(channel, text):
    assert render(channel, text) == [text]


@pytest.mark.parametrize("channel", ["whatsapp", "telegram"])
def test_render_whatsapp_and_telegram_strip_outer_whitespace(channel):
    assert render(channel, "  halo\n") == ["halo"]


@pytest.mark.parametrize(("channel", "limit"), [("whatsapp", WHATSAPP_LIMIT), ("telegram", TELEGRAM_LIMIT)])
def test_render_long_texts_are_split_at_the_channel_limit_without_loss(channel, limit):
    text = ("Laporan 😀 panjang “sekali”. " * 400).strip()
    parts = render(channel, text)
    assert len(parts) > 1
    assert all(len(part) <= limit for part in parts)
    assert "".join(parts) == text
