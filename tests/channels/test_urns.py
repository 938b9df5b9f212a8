"""URNs and phone numbers (channels/urns.py)."""

from __future__ import annotations

import re

import pytest

from channels.urns import (
    SCHEMES,
    InvalidAddress,
    channel_of,
    make_urn,
    normalize_phone,
    redact_urn,
    split_urn,
)

E164 = "+6281234567890"


# --- normalize_phone -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "(0812) 3456.7890",
        "6281234567890",
        "62 812 3456 7890",
        "+6281234567890",
        "+62 812-3456-7890",
        "+62 (812) 3456 7890",
        "006281234567890",
        "0062 812 3456 7890",
        "whatsapp:+6281234567890",
        "WhatsApp:+6281234567890",
        "whatsapp:081234567890",
        "  081234567890  ",
    ],
)
def test_normalize_phone_gives_e164_for_every_indonesian_notation(raw):
    assert normalize_phone(raw) == E164


def test_normalize_phone_keeps_foreign_numbers_with_country_code():
    assert normalize_phone("+1 650 253 0000") == "+16502530000"
    assert normalize_phone("0044 20 7946 0958") == "+442079460958"


def test_normalize_phone_landline_with_area_code():
    assert normalize_phone("(0274) 512345") == "+62274512345"


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "abc", "halo kak", "+", "+62", "12", "0812", "0000", "whatsapp:", "081234567890123456789"],
)
def test_normalize_phone_rejects_garbage(raw):
    with pytest.raises(InvalidAddress):
        normalize_phone(raw)


def test_normalize_phone_none_is_invalid():
    with pytest.raises(InvalidAddress):
        normalize_phone(None)  # type: ignore[arg-type]


def test_invalid_address_is_a_value_error():
    assert issubclass(InvalidAddress, ValueError)


# --- make_urn ------------------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["sms", "whatsapp", "sim-sms", "sim-whatsapp"])
def test_make_urn_phone_schemes_normalise_the_number(scheme):
    assert make_urn(scheme, "0812-3456-7890") == f"{scheme}:{E164}"


def test_make_urn_whatsapp_accepts_twilio_style_address():
    assert make_urn("whatsapp", "whatsapp:+6281234567890") == f"whatsapp:{E164}"


def test_make_urn_scheme_is_case_and_space_insensitive():
    assert make_urn(" SMS ", "081234567890") == f"sms:{E164}"


@pytest.mark.parametrize("scheme", ["telegram", "sim-telegram"])
@pytest.mark.parametrize(
    ("address", "path"),
    [("123456789", "123456789"), (" 42 ", "42"), ("-1001234567890", "-1001234567890"), ("-987", "-987")],
)
def test_make_urn_telegram_ids_including_negative_group_ids(scheme, address, path):
    assert make_urn(scheme, address) == f"{scheme}:{path}"


@pytest.mark.parametrize("address", ["", "abc", "12.5", "+6281234567890", "1 2", "--1", "1" * 21, "@username"])
def test_make_urn_telegram_rejects_non_numeric_ids(address):
    with pytest.raises(InvalidAddress):
        make_urn("telegram", address)


@pytest.mark.parametrize("scheme", ["email", "tel", "line", "", "sim", "sms2", "whatsapp:"])
def test_make_urn_rejects_unknown_schemes(scheme):
    with pytest.raises(InvalidAddress):
        make_urn(scheme, "081234567890")


def test_make_urn_phone_scheme_with_garbage_number_is_rejected():
    with pytest.raises(InvalidAddress):
        make_urn("sms", "bukan nomor")


def test_schemes_are_the_six_of_the_design():
    assert SCHEMES == {"sms", "whatsapp", "telegram", "sim-sms", "sim-whatsapp", "sim-telegram"}


# --- split_urn / channel_of ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("urn", "parts"),
    [
        ("sms:+6281234567890", ("sms", "+6281234567890")),
        ("whatsapp:+6281234567890", ("whatsapp", "+6281234567890")),
        ("telegram:-1001234567890", ("telegram", "-1001234567890")),
        ("sim-sms:+6281234567890", ("sim-sms", "+6281234567890")),
    ],
)
def test_split_urn(urn, parts):
    assert split_urn(urn) == parts


def test_split_urn_inverts_make_urn():
    for scheme in sorted(SCHEMES):
        address = "123456" if "telegram" in scheme else "081234567890"
        urn = make_urn(scheme, address)
        assert split_urn(urn)[0] == scheme
        assert f"{split_urn(urn)[0]}:{split_urn(urn)[1]}" == urn


@pytest.mark.parametrize("urn", ["", "sms", "sms:", "+6281234567890", "email:a@b.c", "SMS:+6281234567890", ":123"])
def test_split_urn_rejects_non_urns(urn):
    with pytest.raises(InvalidAddress):
        split_urn(urn)


@pytest.mark.parametrize(
    ("urn", "channel"),
    [
        ("sms:+6281234567890", "sms"),
        ("sim-sms:+6281234567890", "sms"),
        ("whatsapp:+6281234567890", "whatsapp"),
        ("sim-whatsapp:+6281234567890", "whatsapp"),
        ("telegram:123456789", "telegram"),
        ("sim-telegram:-100123", "telegram"),
    ],
)
def test_channel_of_strips_the_simulator_prefix(urn, channel):
    assert channel_of(urn) == channel


def test_channel_of_rejects_non_urn():
    with pytest.raises(InvalidAddress):
        channel_of("+6281234567890")


# --- redact_urn ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "urn",
    [
        "sms:+6281234567890",
        "whatsapp:+6281234567890",
        "sim-sms:+6281234567890",
        "sim-whatsapp:+628999888777",
        "sms:+16502530000",
        "telegram:123456789",
        "telegram:-1001234567890",
    ],
)
def test_redact_urn_never_contains_the_full_number(urn):
    scheme, path = urn.split(":", 1)
    redacted = redact_urn(urn)
    assert path not in redacted
    assert path.lstrip("+-") not in redacted
    assert redacted.startswith(f"{scheme}:")
    assert redacted.endswith(path[-3:])  # enough to tell conversations apart
    assert len(re.findall(r"\d", redacted)) <= 3


def test_redact_urn_hides_the_national_part_of_a_phone_number():
    redacted = redact_urn("sms:+6281234567890")
    assert "081234567890" not in redacted and "81234567890" not in redacted
    assert redacted == "sms:…890"

