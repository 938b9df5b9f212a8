"""Citizen-facing composed texts (bot/texts.py)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot import texts
from channels.formatting import render
from channels.gsm7 import septets
from storage.models import Complaint, Status

UTC = timezone.utc
TICKET = "12345678"
SHOWN = "1234-5678"


def make_complaint(**overrides) -> Complaint:
    values = dict(
        ticket=TICKET,
        citizen_id=1,
        urn_id=1,
        channel="sms",
        description="Jalan berlubang di depan pasar",
        category="infrastruktur",
        province_code="34",
        region_code="34.04",
        district_code="34.04.06",
        status=Status.diterima.value,
        agency_id=1,
        created_at=datetime(2026, 3, 5, 7, 0, tzinfo=UTC),
        updated_at=datetime(2026, 3, 5, 7, 30, tzinfo=UTC),
        verify_due=date(2026, 3, 10),
    )
    values.update(overrides)
    return Complaint(**values)


TYPICAL_DESCRIPTIONS = [
    "Jalan berlubang besar di depan pasar, sudah 2 minggu tidak diperbaiki, membahayakan pengendara motor",
    "Air PDAM mati sudah 3 hari di RT 05",
    "Sampah menumpuk di TPS dekat sekolah 😡, bau sekali “tolong” segera diangkut…",
    "Petugas kelurahan minta uang Rp50.000 untuk surat pengantar",
]
TYPICAL_PLACES = [
    "Mlati, Kab. Sleman (Daerah Istimewa Yogyakarta)",
    "Kota Padang (Sumatera Barat)",
    "Kuta, Kab. Badung (Bali)",
]


# --- time zones ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("province", "zone", "abbreviation"),
    [
        ("34", "Asia/Jakarta", "WIB"),  # DI Yogyakarta
        ("13", "Asia/Jakarta", "WIB"),  # Sumatera Barat
        ("51", "Asia/Makassar", "WITA"),  # Bali
        ("73", "Asia/Makassar", "WITA"),  # Sulawesi Selatan
        ("64", "Asia/Makassar", "WITA"),  # Kalimantan Timur
        ("91", "Asia/Jayapura", "WIT"),  # Papua
        ("81", "Asia/Jayapura", "WIT"),  # Maluku
        (None, "Asia/Jakarta", "WIB"),  # unknown place: the national default
    ],
)
def test_timezone_of_province(province, zone, abbreviation):
    assert texts.timezone_of(province) == (ZoneInfo(zone), abbreviation)


# --- local_datetime ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("province", "expected"),
    [
        ("34", "5 Mar 2026 14.30 WIB"),
        ("51", "5 Mar 2026 15.30 WITA"),
        ("91", "5 Mar 2026 16.30 WIT"),
        (None, "5 Mar 2026 14.30 WIB"),
    ],
)
def test_local_datetime_in_the_zone_of_the_province(province, expected):
    assert texts.local_datetime(datetime(2026, 3, 5, 7, 30, tzinfo=UTC), province) == expected


def test_local_datetime_uses_indonesian_month_names():
    moment = datetime(2026, 8, 17, 3, 0, tzinfo=UTC)
    assert texts.local_datetime(moment, "34") == "17 Agu 2026 10.00 WIB"
    assert texts.local_datetime(moment, "34", "en") == "17 Aug 2026 10.00 WIB"
    assert texts.local_datetime(datetime(2026, 5, 5, 1, 5, tzinfo=UTC), "51") == "5 Mei 2026 09.05 WITA"


def test_local_datetime_crosses_midnight_into_the_local_date():
    assert texts.local_datetime(datetime(2026, 12, 31, 17, 30, tzinfo=UTC), "91") == "1 Jan 2027 02.30 WIT"


# --- summary -------------------------------------------------------------------------------


def test_summary_indonesian_contents():
    text = texts.summary(
        description=TYPICAL_DESCRIPTIONS[1], place=TYPICAL_PLACES[0], category="air_bersih", anonymous=True
    )
    assert TYPICAL_DESCRIPTIONS[1] in text
    assert "Lokasi: " + TYPICAL_PLACES[0] in text
    assert "Kategori: Air bersih (PDAM)" in text
    assert "anonim" in text and "YA" in text and "BATAL" in text


def test_summary_english_contents():
    text = texts.summary(
        description=TYPICAL_DESCRIPTIONS[1], place=TYPICAL_PLACES[0], category="air_bersih", anonymous=False,
        language="en",
    )
    assert "Place: " + TYPICAL_PLACES[0] in text
    assert "Category: Piped water" in text
    assert "with your number" in text and "YES" in text and "BATAL" in text and "CANCEL" not in text


def test_summary_shortens_a_long_description():
    long = "kata " * 60
    text = texts.summary(description=long, place=TYPICAL_PLACES[1], category="lainnya", anonymous=False)
    first_line = text.split("\n")[0]
    assert first_line.endswith("...")
    assert len(first_line) <= len("Periksa laporan: ") + 90


@pytest.mark.parametrize("language", ["id", "en"])
@pytest.mark.parametrize("description", TYPICAL_DESCRIPTIONS)
@pytest.mark.parametrize("place", TYPICAL_PLACES)
def test_summary_rendered_for_sms_fits_two_gsm7_messages(language, description, place):
    text = texts.summary(
        description=description, place=place, category="infrastruktur", anonymous=False, language=language
    )
    messages = render("sms", text)
    assert 1 <= len(messages) <= 2
    assert all(septets(message) <= 160 for message in messages)


# --- filed / status_line / complaint_list --------------------------------------------------


@pytest.mark.parametrize("language", ["id", "en"])
def test_filed_mentions_the_ticket_in_its_shown_form(language):
    text = texts.filed(make_complaint(), language)
    assert SHOWN in text
    assert TICKET not in text


@pytest.mark.parametrize("language", ["id", "en"])
def test_filed_fits_one_sms(language):
    assert len(render("sms", texts.filed(make_complaint(), language))) == 1


def test_status_line_indonesian():
    assert texts.status_line(make_complaint()) == f"Tiket {SHOWN}: DITERIMA, menunggu verifikasi (sejak 5 Mar 2026 14.30 WIB)."


def test_status_line_english_in_the_province_time_zone():
    complaint = make_complaint(status="diproses", province_code="51")
    assert texts.status_line(complaint, "en") == f"Ticket {SHOWN}: IN PROGRESS at the agency (since 5 Mar 2026 15.30 WITA)."


@pytest.mark.parametrize("status", [s.value for s in Status])
@pytest.mark.parametrize("language", ["id", "en"])
def test_status_line_for_every_status(status, language):
    text = texts.status_line(make_complaint(status=status), language)
    assert SHOWN in text and TICKET not in text
    assert texts._status_labels(language)[status] in text
    assert len(render("sms", text)) == 1


def test_status_detail_adds_the_verification_deadline_while_received():
    text = texts.status_detail(make_complaint())
    assert text.endswith("Diverifikasi paling lambat 10 Mar 2026.")
    assert texts.status_detail(make_complaint(status="diproses")) == texts.status_line(make_complaint(status="diproses"))


def test_complaint_list_shows_each_ticket_with_its_status():
    complaints = [
        make_complaint(),
        make_complaint(ticket="98765432", status="selesai"),
    ]
    text = texts.complaint_list(complaints)
    assert text.split("\n") == ["Laporan Anda:", f"{SHOWN} DITERIMA", "9876-5432 SELESAI menurut instansi"]
    assert TICKET not in text
    english = texts.complaint_list(complaints, "en")
    assert english.split("\n") == ["Your reports:", f"{SHOWN} RECEIVED", "9876-5432 RESOLVED according to the agency"]


@pytest.mark.parametrize("language", ["id", "en"])
def test_complaint_list_empty(language):
    text = texts.complaint_list([], language)
    assert ("LAPOR" if language == "id" else "REPORT") in text


@pytest.mark.parametrize("language", ["id", "en"])
def test_ticket_texts_use_the_shown_form(language):
    assert SHOWN in texts.ticket_not_found(TICKET, language)
    assert "1234-5678" in texts.ticket_invalid(language)
    assert "1234-5678" in texts.ask_ticket(language)
