"""Complaint categories (bot/categories.py) and short answers (bot/answers.py)."""

from __future__ import annotations

import re

import pytest

from bot.answers import number_choice, yes_no
from bot.categories import (
    BY_SLUG,
    CATEGORIES,
    confident_guess,
    keyword_hits,
    label,
    likely_options,
    menu,
    parse_choice,
    ranked,
)
from storage.models import Category

# --- the category list ---------------------------------------------------------------------


def test_thirteen_categories_in_menu_order_lainnya_last():
    assert [info.slug for info in CATEGORIES] == list(Category)
    assert len(CATEGORIES) == 13
    assert CATEGORIES[-1].slug is Category.lainnya
    assert set(BY_SLUG) == {c.value for c in Category}


def test_label_in_both_languages_and_unknown_slug():
    assert label("air_bersih") == "Air bersih (PDAM)"
    assert label("air_bersih", "en") == "Piped water"
    assert label("tidak_ada") == "tidak_ada"


# --- confident_guess -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("jalan berlubang di depan pasar", Category.infrastruktur),
        ("Jalan BERLUBANG!!", Category.infrastruktur),
        ("lampu jalan mati di jl. kaliurang", Category.infrastruktur),
        ("sampah menumpuk", Category.lingkungan),
        ("pohon tumbang menutup jalan kampung, ada sampah juga", Category.lingkungan),
        ("air pdam mati 3 hari", Category.air_bersih),
        ("air keruh dan bau", Category.air_bersih),
        ("listrik padam sejak pagi", Category.listrik),
        ("puskesmas tutup, dokter tidak ada", Category.kesehatan),
        ("e-ktp saya belum jadi", Category.kependudukan),
        ("bansos tidak cair", Category.bantuan_sosial),
        ("balap liar tiap malam", Category.ketertiban_umum),
        ("halte rusak, angkot jarang lewat", Category.transportasi),
        ("pelayanan lambat di kantor kelurahan", Category.pelayanan_administrasi),
    ],
)
def test_confident_guess_on_typical_complaints(text, category):
    assert confident_guess(text) is category


@pytest.mark.parametrize(
    "text",
    [
        "sekolah minta pungli uang seragam",  # pendidikan and pungli_korupsi: the abuse wins
        "guru minta uang untuk rapor",
        "calo di kantor samsat minta uang",
    ],
)
def test_pungli_korupsi_wins_over_the_other_category_it_fits(text):
    assert Category.pungli_korupsi in keyword_hits(text)
    assert confident_guess(text) is Category.pungli_korupsi


@pytest.mark.parametrize("text", ["guru sekolah minta pungli", "murid sd dimintai pungli"])
def test_pungli_korupsi_wins_even_against_two_keywords_of_the_other_category(text):
    assert confident_guess(text) is Category.pungli_korupsi


@pytest.mark.parametrize("text", ["", "halo apa kabar", "terima kasih", "12345"])
def test_no_confident_guess_without_a_problem_in_the_text(text):
    assert confident_guess(text) is None


def test_ranked_covers_every_category_with_probabilities_best_first():
    scores = ranked("jalan berlubang di depan pasar")
    assert {slug for slug, _ in scores} == set(Category)
    probabilities = [p for _, p in scores]
    assert probabilities == sorted(probabilities, reverse=True)
    assert abs(sum(probabilities) - 1.0) < 1e-6


def test_likely_options_offer_three_distinct_categories_including_the_best():
    options = likely_options("ada masalah di kampung kami, tolong dicek")
    assert len(options) == len(set(options)) == 3
    assert options[0] is ranked("ada masalah di kampung kami, tolong dicek")[0][0]


def test_keywords_match_whole_words_only():
    assert Category.infrastruktur not in keyword_hits("gotong royong")  # "got" inside "gotong"
    assert Category.infrastruktur in keyword_hits("got mampet")


def test_texting_abbreviations_are_read_like_the_words():
    assert confident_guess("jln dpn rmh sy rusak parah sdh 3 bln") is Category.infrastruktur


# --- parse_choice / menu -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("1", Category.infrastruktur),
        ("2", Category.lingkungan),
        (" 3 ", Category.air_bersih),
        ("2.", Category.lingkungan),
        ("11", Category.pungli_korupsi),
        ("13", Category.lainnya),
    ],
)
def test_parse_choice_by_number(text, category):
    assert parse_choice(text) is category


@pytest.mark.parametrize("text", ["14", "0", "99", "xyz", "", "halo"])
def test_parse_choice_out_of_range_or_unknown_is_none(text):
    assert parse_choice(text) is None


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("infrastruktur", Category.infrastruktur),
        ("pungli_korupsi", Category.pungli_korupsi),
        ("pungli korupsi", Category.pungli_korupsi),
        ("AIR_BERSIH", Category.air_bersih),
        ("Air bersih (PDAM)", Category.air_bersih),
        ("lainnya", Category.lainnya),
        ("Lainnya.", Category.lainnya),
        ("KTP, KK & akta", Category.kependudukan),
        ("roads & public works", Category.infrastruktur),
        ("Other", Category.lainnya),
    ],
)
def test_parse_choice_by_slug_or_label(text, category):
    assert parse_choice(text) is category


def test_parse_choice_falls_back_to_a_confident_guess():
    assert parse_choice("sampah menumpuk") is Category.lingkungan


@pytest.mark.parametrize("language", ["id", "en"])
def test_menu_has_thirteen_numbered_lines(language):
    lines = menu(language).split("\n")
    assert len(lines) == 13
    for number, line in enumerate(lines, start=1):
        assert re.fullmatch(rf"{number}\. \S.*", line), line
    assert lines[-1] == ("13. Lainnya" if language == "id" else "13. Other")


def test_every_menu_number_parses_back_to_its_category():
    for number, line in enumerate(menu().split("\n"), start=1):
        chosen = parse_choice(str(number))
        assert chosen is CATEGORIES[number - 1].slug
        assert line.endswith(label(chosen.value))
        assert parse_choice(line.split(". ", 1)[1]) is chosen  # the label itself, too


# --- yes_no --------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["ya", "y", "iya", "ok", "YA", "iya betul", "Ya.", "oke kirim", "YES", "  sip  "])
def test_yes_no_yes(text):
    assert yes_no(text) is True


@pytest.mark.parametrize("text", ["tidak", "gak", "n", "nggak", "TIDAK!", "no", "jangan dikirim", "Ga"])
def test_yes_no_no(text):
    assert yes_no(text) is False


@pytest.mark.parametrize("text", ["ya tidak", "", "mungkin", "2", "yaa", "tidakk", "ok tapi jangan"])
def test_yes_no_neither_or_both_is_none(text):
    assert yes_no(text) is None


def test_yes_no_none_input():
    assert yes_no(None) is None  # type: ignore[arg-type]


# --- number_choice -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "choice"),
    [
        ("2", 3, 2),
        ("no 2", 3, 2),
        ("No. 2", 3, 2),
        ("nomor 3", 3, 3),
        ("pilih 1", 3, 1),
        ("2.", 3, 2),
        ("3)", 3, 3),
        (" 1 ", 3, 1),
        ("12", 13, 12),
    ],
)
def test_number_choice_valid(text, count, choice):
    assert number_choice(text, count) == choice


@pytest.mark.parametrize(
    ("text", "count"),
    [("4", 3), ("0", 3), ("abc", 3), ("", 3), ("2 dan 3", 3), ("123", 200), ("no", 3), ("-1", 3)],
)
def test_number_choice_invalid_is_none(text, count):
    assert number_choice(text, count) is None


def test_number_choice_none_input():
    assert number_choice(None, 3) is None  # type: ignore[arg-type]


# --- long complaints -----------------------------------------------------------------------


def test_a_long_complaint_is_categorised_from_its_first_thousand_characters():
    opening = ("jalan berlubang besar di depan pasar, aspal rusak parah dan membahayakan pengendara. " * 12)[:1000]
    text = opening + "sampah menumpuk di tps dan bau busuk, limbah dibuang ke sungai. " * 250  # ~17,000 characters
    assert confident_guess(text) is confident_guess(opening) is Category.infrastruktur
    assert ranked(text) == ranked(opening)
