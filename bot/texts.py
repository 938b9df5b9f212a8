"""Citizen-facing texts the app renders itself (summaries, tickets, statuses), Indonesian first.

Fixed dialogue lines live in domain.yml as Rasa responses (with English variants on the
``language`` slot); the texts here are composed from data and translated through Babel catalogs
(bot/i18n.py, bot/locale/). Dates and times are formatted with Babel in the time zone of the
complaint's province. Texts stay short: on SMS a reply should fit one 160-character segment,
the summary two.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from bot import categories
from bot.i18n import translator
from storage.models import Agency, Complaint
from storage.tickets import format_ticket

# Kemendagri province code -> time zone (WIB, WITA, WIT).
_WITA = {"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"}
_WIT = {"81", "82", "91", "92", "93", "94", "95", "96"}


def _status_labels(language: str) -> dict[str, str]:
    _ = translator(language)
    return {
        "diterima": _("DITERIMA, menunggu verifikasi"),
        "diteruskan": _("DITERUSKAN ke instansi"),
        "diproses": _("DIPROSES instansi"),
        "selesai": _("SELESAI menurut instansi"),
        "ditutup": _("DITUTUP"),
        "ditolak": _("DITOLAK"),
    }


def status_label(status: str, language: str = "id") -> str:
    """A status as citizens read it in the bot's answers ("DITERUSKAN ke instansi")."""
    return _status_labels(language).get(status, status)


def timezone_of(province_code: str | None) -> tuple[ZoneInfo, str]:
    if province_code in _WITA:
        return ZoneInfo("Asia/Makassar"), "WITA"
    if province_code in _WIT:
        return ZoneInfo("Asia/Jayapura"), "WIT"
    return ZoneInfo("Asia/Jakarta"), "WIB"


def _locale(language: str) -> str:
    return "en" if language == "en" else "id"


def local_datetime(moment: datetime, province_code: str | None, language: str = "id") -> str:
    zone, abbreviation = timezone_of(province_code)
    text = format_datetime(moment.astimezone(zone), "d MMM y HH.mm", locale=_locale(language))
    return f"{text} {abbreviation}"


def privacy_label(anonymous: bool, confidential: bool, language: str = "id") -> str:
    _ = translator(language)
    if confidential:
        return _("anonim & rahasia")
    return _("anonim") if anonymous else _("dengan identitas")


def summary(
    *, description: str, place: str, category: str, anonymous: bool, confidential: bool = False, language: str = "id"
) -> str:
    _ = translator(language)
    short = description if len(description) <= 90 else description[:87].rstrip() + "..."
    return _(
        "Periksa laporan: {description}\nLokasi: {place}\nKategori: {category}\nDikirim {privacy}.\n"
        "Balas YA untuk kirim, 1-4 untuk ubah (1 isi 2 lokasi 3 kategori 4 identitas), atau BATAL."
    ).format(
        description=short,
        place=place,
        category=categories.label(category, language),
        privacy=privacy_label(anonymous, confidential, language),
    )


def summary_reminder(language: str = "id") -> str:
    """The summary's question alone (one SMS), after an answer that was neither YA nor a field to change."""
    _ = translator(language)
    return _("Maaf, belum jelas. Balas YA untuk kirim, 1-4 untuk ubah (1 isi 2 lokasi 3 kategori 4 identitas), atau BATAL.")


def filing_failed(language: str = "id") -> str:
    """A filing the store refused: nothing was filed, and YA tries again (the form keeps the answers)."""
    _ = translator(language)
    return _("Maaf, laporan Anda belum tersimpan karena gangguan sistem. Balas YA untuk mencoba lagi, atau BATAL.")


def filed(complaint: Complaint, language: str = "id") -> str:
    _ = translator(language)
    ticket = format_ticket(complaint.ticket)
    return _("Terima kasih, laporan Anda diterima dgn nomor tiket {ticket}. Cek dgn kirim STATUS {ticket}.").format(
        ticket=ticket
    )


def status_line(complaint: Complaint, language: str = "id") -> str:
    _ = translator(language)
    status = _status_labels(language).get(complaint.status, complaint.status)
    since = local_datetime(complaint.updated_at, complaint.province_code, language)
    return _("Tiket {ticket}: {status} (sejak {since}).").format(
        ticket=format_ticket(complaint.ticket), status=status, since=since
    )


def status_detail(complaint: Complaint, language: str = "id") -> str:
    _ = translator(language)
    line = status_line(complaint, language)
    if complaint.status == "diterima" and complaint.verify_due:
        due = format_date(complaint.verify_due, "d MMM y", locale=_locale(language))
        return line + " " + _("Diverifikasi paling lambat {due}.").format(due=due)
    return line


def complaint_list(complaints: list[Complaint], language: str = "id") -> str:
    _ = translator(language)
    if not complaints:
        return _("Anda belum punya laporan. Kirim LAPOR untuk membuat laporan.")
    labels = _status_labels(language)
    lines = [f"{format_ticket(c.ticket)} {labels.get(c.status, c.status).split(',')[0]}" for c in complaints]
    return _("Laporan Anda:") + "\n" + "\n".join(lines)


def ticket_invalid(language: str = "id") -> str:
    _ = translator(language)
    return _("Nomor tiket itu tidak valid. Mohon periksa lagi (8 angka, contoh 1234-5678).")


def ticket_not_found(ticket: str, language: str = "id") -> str:
    _ = translator(language)
    return _("Laporan {ticket} tidak ditemukan untuk nomor ini.").format(ticket=format_ticket(ticket))


def ask_ticket(language: str = "id") -> str:
    _ = translator(language)
    return _("Tiket yang mana? Kirim STATUS dan nomornya, contoh STATUS 1234-5678.")


def ask_location(language: str = "id") -> str:
    _ = translator(language)
    return _("Di mana lokasinya? Tulis kecamatan dan kabupaten/kota, contoh: Mlati, Sleman.")


def place_options(options: list[str], language: str = "id", compact: bool = False) -> str:
    """Numbered places; ``compact`` (SMS) drops the province, to stay within one SMS."""
    _ = translator(language)
    names = [re.sub(r" \(.*\)$", "", name) for name in options] if compact else options
    numbered = "\n".join(f"{i}. {name}" for i, name in enumerate(names, start=1))
    return _("Lokasi yang mana?") + f"\n{numbered}\n" + _("Balas dengan nomornya.")


def place_unknown(language: str = "id") -> str:
    _ = translator(language)
    return _("Lokasi belum dikenali. Tulis kecamatan dan kabupaten/kota, contoh: Mlati, Sleman.")


def category_menu(language: str = "id", compact: bool = False) -> str:
    """All 13 categories: one per line, or (SMS) on one line with short names, to fit one SMS."""
    _ = translator(language)
    if compact:
        return _("Pilih:") + " " + categories.compact_menu(language)
    return _("Pilih kategori, balas dgn nomornya:") + "\n" + categories.menu(language)


def category_options(options: list[str], language: str = "id") -> str:
    """The likeliest categories, numbered, plus a way to the full list."""
    _ = translator(language)
    numbered = [f"{i}. {categories.label(slug, language)}" for i, slug in enumerate(options, start=1)]
    other = f"{len(options) + 1}. " + _("Kategori lain")
    return _("Masalahnya termasuk apa?") + "\n" + "\n".join([*numbered, other]) + "\n" + _("Balas dgn nomornya.")


def ask_privacy(language: str = "id") -> str:
    """Anonymity and confidentiality in plain words, one question, answered with a digit."""
    _ = translator(language)
    return _(
        "Siapa yang boleh tahu?\n1. Instansi boleh tahu nomor saya\n2. Rahasiakan identitas saya\n"
        "3. Rahasiakan & jangan dipublikasikan\nBalasan tetap sampai ke Anda."
    )


def busy(language: str = "id") -> str:
    _ = translator(language)
    return _("Maaf, layanan sedang sibuk. Pesan Anda sudah tersimpan dan akan segera kami balas.")


def not_processed(language: str = "id") -> str:
    """A turn that came back with no answer at all (an action call was lost): never silence."""
    _ = translator(language)
    return _("Maaf, pesan terakhir Anda belum dapat kami proses karena gangguan. Mohon kirim ulang.")


def language_switched(language: str) -> str:
    _ = translator(language)
    return _("Baik, kami akan membalas dalam Bahasa Indonesia. Send LANGUAGE for English.")


def media_received(kinds: set[str], language: str = "id") -> str:
    """The answer to a message with no text: media kept for the complaint, a pin, or neither."""
    _ = translator(language)
    if not kinds:
        return _("Maaf, kami hanya dapat membaca teks, foto, dokumen, dan lokasi.")
    if kinds == {"location"}:
        return _("Titik lokasi diterima. Mohon tulis juga kecamatan dan kabupaten/kota, contoh: Mlati, Sleman.")
    return _("Berkas diterima dan akan dilampirkan pada laporan Anda. Mohon ceritakan juga masalahnya dengan kata-kata.")


# ---------------------------------------------------------------- pushes: what the agency did


def agency_label(agency: Agency) -> str:
    """The agency as citizens read it in pushes: its short name, so that a push fits one SMS."""
    return agency.short_name or agency.name


def _when(complaint: Complaint, language: str) -> str:
    return local_datetime(complaint.updated_at, complaint.province_code, language)


def status_push(complaint: Complaint, agency: Agency, note: str | None, language: str = "id") -> str:
    """A status change, told on the citizen's channel; ``selesai`` asks whether it really is."""
    _ = translator(language)
    ticket = format_ticket(complaint.ticket)
    noted = f" {note}." if note else ""
    if complaint.status == "selesai":
        return _(
            "Tiket {ticket}: {agency} menyatakan SELESAI.{note} Sudah beres? Balas YA atau BELUM, dan nilai 1-5 (contoh: YA 5)."
        ).format(ticket=ticket, agency=agency_label(agency), note=noted)
    if complaint.status == "ditolak":
        return _("Tiket {ticket} DITOLAK oleh {agency}. Alasan: {note}").format(
            ticket=ticket, agency=agency_label(agency), note=note or "-"
        )
    if complaint.status == "ditutup":
        return _("Tiket {ticket} ({agency}) DITUTUP. Terima kasih telah melapor. Kirim LAPOR untuk laporan baru.").format(
            ticket=ticket, agency=agency_label(agency)
        )
    status = _status_labels(language).get(complaint.status, complaint.status)
    return _("Tiket {ticket}: {status} ({agency}, {when}).{note}").format(
        ticket=ticket, status=status, agency=agency_label(agency), when=_when(complaint, language), note=noted
    )


def officer_reply(complaint: Complaint, agency: Agency, text: str, language: str = "id") -> str:
    _ = translator(language)
    return _("{agency} (tiket {ticket}): {text}\nBalas pesan ini untuk menjawab.").format(
        agency=agency_label(agency), ticket=format_ticket(complaint.ticket), text=text
    )


def rerouted_push(complaint: Complaint, agency: Agency, language: str = "id") -> str:
    _ = translator(language)
    return _("Tiket {ticket} dialihkan ke {agency}, instansi yang berwenang.").format(
        ticket=format_ticket(complaint.ticket), agency=agency_label(agency)
    )


# ---------------------------------------------------------------- the citizen's answers in a thread


def answer_relayed(ticket: str, agency: Agency, language: str = "id") -> str:
    _ = translator(language)
    return _("Jawaban Anda sudah diteruskan ke {agency} (tiket {ticket}).").format(
        agency=agency_label(agency), ticket=format_ticket(ticket)
    )


def ask_rating(language: str = "id") -> str:
    _ = translator(language)
    return _("Terima kasih. Seberapa puas Anda? Balas angka 1 (buruk) sampai 5 (sangat baik).")


def ask_resolved(ticket: str, language: str = "id") -> str:
    _ = translator(language)
    return _("Apakah masalah tiket {ticket} sudah beres? Balas YA atau BELUM.").format(ticket=format_ticket(ticket))


def feedback_closed(ticket: str, rating: int | None, language: str = "id") -> str:
    _ = translator(language)
    if rating:
        return _("Terima kasih atas nilai {rating}/5. Tiket {ticket} ditutup.").format(
            rating=rating, ticket=format_ticket(ticket)
        )
    return _("Terima kasih. Tiket {ticket} ditutup.").format(ticket=format_ticket(ticket))


def feedback_reopened(ticket: str, language: str = "id") -> str:
    _ = translator(language)
    return _("Baik, tiket {ticket} dibuka kembali dan instansi sudah diberi tahu. Ceritakan apa yang belum beres.").format(
        ticket=format_ticket(ticket)
    )


def thread_gone(ticket: str, language: str = "id") -> str:
    _ = translator(language)
    return _("Tiket {ticket} sudah ditutup. Kirim LAPOR untuk laporan baru.").format(ticket=format_ticket(ticket))


def thread_left(language: str = "id") -> str:
    _ = translator(language)
    return _("Baik. Kirim STATUS dan nomor tiket kapan saja untuk melihat perkembangannya.")


# ---------------------------------------------------------------- the public page's link in pushes

PAGE_PATH = "/t/{ticket}"  # bot/public_page.py
LINKED_CHANNELS = frozenset({"whatsapp", "telegram"})  # SMS pushes stay one segment: no link


def page_url(base_url: str, ticket: str) -> str:
    return f"{base_url.rstrip('/')}{PAGE_PATH.format(ticket=ticket)}"


def with_page_link(text: str, *, base_url: str, ticket: str, channel: str, language: str) -> str:
    """A push to a citizen, with the public page's link on its last line where the channel can open it."""
    if not base_url or channel not in LINKED_CHANNELS:
        return text
    _ = translator(language)
    return text + "\n" + _("Lihat perkembangannya: {url}").format(url=page_url(base_url, ticket))
