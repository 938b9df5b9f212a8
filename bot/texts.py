"""Citizen-facing texts the app renders itself (summaries, tickets, statuses), Indonesian first.

Fixed dialogue lines live in domain.yml as Rasa responses; the texts here are composed from
data. Dates and times are formatted with Babel in the time zone of the complaint's province.
Texts stay short: on SMS every reply should fit one 160-character segment.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from bot import categories
from storage.models import Complaint
from storage.tickets import format_ticket

# Kemendagri province code -> time zone (WIB, WITA, WIT).
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96"}

STATUS_LABELS = {
    "id": {
        "diterima": "DITERIMA, menunggu verifikasi",
        "diteruskan": "DITERUSKAN ke instansi",
        "diproses": "DIPROSES instansi",
        "selesai": "SELESAI menurut instansi",
        "ditutup": "DITUTUP",
        "ditolak": "DITOLAK",
    },
    "en": {
        "diterima": "RECEIVED, awaiting verification",
        "diteruskan": "FORWARDED to the agency",
        "diproses": "IN PROGRESS at the agency",
        "selesai": "RESOLVED according to the agency",
        "ditutup": "CLOSED",
        "ditolak": "REJECTED",
    },
}


def timezone_of(province_code: str | None) -> tuple[ZoneInfo, str]:
    if province_code in _WITA:
        return ZoneInfo("Asia/Makassar"), "WITA"
    if province_code in _WIT:
        return ZoneInfo("Asia/Jayapura"), "WIT"
    return ZoneInfo("Asia/Jakarta"), "WIB"


def local_datetime(moment: datetime, province_code: str | None, language: str = "id") -> str:
    zone, abbreviation = timezone_of(province_code)
    text = format_datetime(moment.astimezone(zone), "d MMM y HH.mm", locale=_locale(language))
    return f"{text} {abbreviation}"


def _locale(language: str) -> str:
    return "en" if language == "en" else "id"


def summary(
    *, description: str, place: str, category: str, anonymous: bool, language: str = "id"
) -> str:
    short = description if len(description) <= 90 else description[:87].rstrip() + "..."
    if language == "en":
        who = "anonymous" if anonymous else "with your name"
        return (
            f"Check your report: {short}\nPlace: {place}\nCategory: {categories.label(category, 'en')}\n"
            f"Sent {who}.\nReply YES to send, 1-4 to change (1 text 2 place 3 category 4 anonymity), or CANCEL."
        )
    who = "anonim" if anonymous else "dengan identitas"
    return (
        f"Periksa laporan: {short}\nLokasi: {place}\nKategori: {categories.label(category)}\n"
        f"Dikirim {who}.\nBalas YA untuk kirim, 1-4 untuk ubah (1 isi 2 lokasi 3 kategori 4 anonim), atau BATAL."
    )


def filed(complaint: Complaint, language: str = "id") -> str:
    ticket = format_ticket(complaint.ticket)
    if language == "en":
        return f"Thank you. Your report is filed, ticket {ticket}. Send STATUS {ticket} to check it."
    return f"Terima kasih, laporan Anda diterima dgn nomor tiket {ticket}. Cek dgn kirim STATUS {ticket}."


def status_line(complaint: Complaint, language: str = "id") -> str:
    ticket = format_ticket(complaint.ticket)
    status = STATUS_LABELS[_locale(language)].get(complaint.status, complaint.status)
    since = local_datetime(complaint.updated_at, complaint.province_code, language)
    if language == "en":
        return f"Ticket {ticket}: {status} (since {since})."
    return f"Tiket {ticket}: {status} (sejak {since})."


def status_detail(complaint: Complaint, language: str = "id") -> str:
    line = status_line(complaint, language)
    if complaint.status == "diterima" and complaint.verify_due:
        due = format_date(complaint.verify_due, "d MMM y", locale=_locale(language))
        return line + (f" Verified by {due}." if language == "en" else f" Diverifikasi paling lambat {due}.")
    return line


def complaint_list(complaints: list[Complaint], language: str = "id") -> str:
    if not complaints:
        if language == "en":
            return "You have no reports yet. Send LAPOR to file one."
        return "Anda belum punya laporan. Kirim LAPOR untuk membuat laporan."
    lines = [
        f"{format_ticket(c.ticket)} {STATUS_LABELS[_locale(language)][c.status].split(',')[0]}" for c in complaints
    ]
    head = "Your reports:" if language == "en" else "Laporan Anda:"
    return head + "\n" + "\n".join(lines)


def ticket_invalid(language: str = "id") -> str:
    if language == "en":
        return "That ticket number is not valid. Please check it (8 digits, e.g. 1234-5678)."
    return "Nomor tiket itu tidak valid. Mohon periksa lagi (8 angka, contoh 1234-5678)."


def ticket_not_found(ticket: str, language: str = "id") -> str:
    if language == "en":
        return f"We found no report {format_ticket(ticket)} from this number."
    return f"Laporan {format_ticket(ticket)} tidak ditemukan untuk nomor ini."


def ask_ticket(language: str = "id") -> str:
    if language == "en":
        return "Which ticket? Send STATUS and the number, e.g. STATUS 1234-5678."
    return "Tiket yang mana? Kirim STATUS dan nomornya, contoh STATUS 1234-5678."


def place_options(options: list[str], language: str = "id") -> str:
    numbered = "\n".join(f"{i}. {name}" for i, name in enumerate(options, start=1))
    if language == "en":
        return f"Which place do you mean?\n{numbered}\nReply with the number."
    return f"Lokasi yang mana?\n{numbered}\nBalas dengan nomornya."


def place_unknown(language: str = "id") -> str:
    if language == "en":
        return "We could not find that place. Write the district and city, e.g. Mlati, Sleman."
    return "Lokasi belum dikenali. Tulis kecamatan dan kabupaten/kota, contoh: Mlati, Sleman."


def category_menu(language: str = "id") -> str:
    head = "Which category? Reply with the number:" if language == "en" else "Pilih kategori, balas dgn nomornya:"
    return head + "\n" + categories.menu(language)


def busy(language: str = "id") -> str:
    if language == "en":
        return "Sorry, our service is busy. Your message is saved and we will reply soon."
    return "Maaf, layanan sedang sibuk. Pesan Anda sudah tersimpan dan akan segera kami balas."


def media_received(kinds: set[str], language: str = "id") -> str:
    """The answer to a message with no text: media kept for the complaint, a pin, or neither."""
    if not kinds:
        if language == "en":
            return "Sorry, we can read text, photos, documents and locations only."
        return "Maaf, kami hanya dapat membaca teks, foto, dokumen, dan lokasi."
    if kinds == {"location"}:
        if language == "en":
            return "Location pin received. Please also write the district and city, e.g. Mlati, Sleman."
        return "Titik lokasi diterima. Mohon tulis juga kecamatan dan kabupaten/kota, contoh: Mlati, Sleman."
    if language == "en":
        return "File received; it will be attached to your report. Please describe the problem in words too."
    return "Berkas diterima dan akan dilampirkan pada laporan Anda. Mohon ceritakan juga masalahnya dengan kata-kata."
