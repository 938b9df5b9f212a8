"""What the bot tells officers: notifications, answers to their commands, reminders. Indonesian.

Officers are civil servants of Indonesian agencies working in Indonesian, so these texts have no
English catalog (citizen-facing texts do: bot/texts.py). They name the ticket first, so that a
reply to the message (or ``/balas <tiket>``) is obvious. No text here ever carries the address of
an anonymous reporter: callers pass ``reporter`` only when the complaint is not anonymous.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from babel.dates import format_date

from bot import categories
from bot.regions import place_of_codes
from storage.models import Agency, Attachment, Complaint, ComplaintEvent, Officer
from storage.tickets import format_ticket

DEADLINE_NAMES = {"verify": "verifikasi", "followup": "tindak lanjut pertama", "resolve": "target penyelesaian"}
STATUS_WORDS = {
    "diterima": "DITERIMA", "diteruskan": "DITERUSKAN", "diproses": "DIPROSES",
    "selesai": "SELESAI", "ditutup": "DITUTUP", "ditolak": "DITOLAK",
}
_ACTORS = {"citizen": "pelapor", "system": "sistem", "officer": "petugas", "integration": "sistem instansi (Open311)"}
_EVENTS = {
    "filed": "dilaporkan", "reply": "pesan ke pelapor", "citizen_reply": "jawaban pelapor", "rerouted": "dialihkan",
    "breach": "tenggat terlewati", "feedback": "penilaian",
}
_KINDS = {"image": "foto", "video": "video", "audio": "rekaman suara", "document": "dokumen", "link": "tautan media"}

HELP = (
    "Perintah petugas:\n"
    "/daftar - laporan terbuka, tenggat terdekat dulu\n"
    "/tiket <tiket> - rincian dan riwayat\n"
    "/balas <tiket> <pesan> - pesan ke pelapor (atau balas langsung notifikasi laporan baru / jawaban pelapor)\n"
    "/status <tiket> <diteruskan|diproses|selesai|ditolak> [catatan]\n"
    "/alihkan <tiket> <kode instansi> [catatan]\n"
    "Catatan /status tampil publik; pesan /balas hanya untuk pelapor.\n"
    "Lewat SMS, tambahkan PIN di akhir /balas, /status, /alihkan dan balasan ke pelapor "
    "(atasan dan admin: di setiap perintah): /status 1234-5678 diproses PIN 123456"
)


def _t(complaint: Complaint) -> str:
    return format_ticket(complaint.ticket)


def day(value: date) -> str:
    return format_date(value, "EEE d MMM y", locale="id")


def place(complaint: Complaint) -> str:
    named = place_of_codes(complaint.region_code, complaint.district_code)
    parts = [p for p in (named, complaint.address) if p]
    return " / ".join(parts) if parts else "lokasi belum jelas"


# Each signed link is most of an SMS, and a citizen may send dozens of files and pins: a
# notification lists a few, /tiket some more; the counts always show how many there are.
ATTACHMENTS_LISTED = 3
ATTACHMENTS_IN_DETAIL = 10


def _map(a: Attachment) -> str:
    return f"peta: https://www.openstreetmap.org/?mlat={a.latitude:.5f}&mlon={a.longitude:.5f}#map=18/{a.latitude:.5f}/{a.longitude:.5f}"


def attachments(
    items: list[Attachment], links: dict[int, str] | None = None, *, listed: int = ATTACHMENTS_LISTED,
    more: str = "",
) -> str | None:
    """What came with the complaint: how many of each kind, then up to ``listed`` links (files, then
    maps of the pins) and how many more there are, followed by ``more`` (where to find them)."""
    if not items:
        return None
    links = links or {}
    pins = [a for a in items if a.kind == "location"]
    counts = Counter(_KINDS[a.kind] for a in items if a.kind in _KINDS)
    parts = [f"{n} {kind}" for kind, n in counts.items()]
    if len(pins) <= listed:
        parts += [f"titik lokasi {a.latitude:.5f},{a.longitude:.5f}" for a in pins]
    else:
        parts.append(f"{len(pins)} titik lokasi")
    shown = [f"{_KINDS.get(a.kind, a.kind)}: {links[a.id]}" for a in items if a.id in links]
    shown += [_map(a) for a in pins]
    lines = ["Lampiran: " + ", ".join(parts), *shown[:listed]]
    if len(shown) > listed:
        lines.append(f"+{len(shown) - listed} lampiran lain{more}")
    return "\n".join(lines)


def cut_tail(complaint: Complaint) -> str:
    """How a text cut to fit a channel ends (casework.OFFICER_MESSAGE_PARTS): where the rest is."""
    return f" ... (terpotong; /tiket {_t(complaint)})"


def new_complaint(
    complaint: Complaint, agency: Agency, items: list[Attachment], reporter: str | None, links: dict[int, str] | None = None
) -> str:
    """The notification; what the citizen wrote and sent comes last, so that a cut shortens only that."""
    lines = [
        f"Laporan baru {_t(complaint)} untuk {agency.name}",
        f"Kategori: {categories.label(complaint.category)}",
        f"Lokasi: {place(complaint)}",
        f"Pelapor: {reporter}" if reporter else "Pelapor: anonim (balasan tetap sampai lewat bot)",
    ]
    if complaint.confidential:
        lines.append("RAHASIA: jangan dipublikasikan.")
    if complaint.verify_due:
        lines.append(f"Verifikasi paling lambat {day(complaint.verify_due)}.")
    lines.append(f"Isi: {complaint.description}")
    if (listed := attachments(items, links, more=f": /tiket {_t(complaint)}")) is not None:
        lines.append(listed)
    lines.append(f"Balas pesan ini untuk menjawab pelapor, atau /status {complaint.ticket} diteruskan.")
    return "\n".join(lines)


def rerouted_back(complaint: Complaint, agency: Agency, source: Agency) -> str:
    """To addresses told of this complaint already: it is back, in one line (the rest is on /tiket)."""
    return f"Laporan {_t(complaint)} dialihkan kembali ke {agency.name} dari {source.code}. Rincian: /tiket {_t(complaint)}"


def citizen_answer(complaint: Complaint, text: str) -> str:
    return f"Jawaban pelapor {_t(complaint)}: {text}\nBalas pesan ini untuk menjawab."


def confirmed(complaint: Complaint, rating: int | None) -> str:
    rated = f" Nilai: {rating}/5." if rating else ""
    return f"Pelapor {_t(complaint)} menyatakan masalah sudah selesai. Laporan DITUTUP.{rated}"


def reopened(complaint: Complaint, comment: str | None) -> str:
    said = f' Kata pelapor: "{comment}"' if comment else ""
    return f"Pelapor {_t(complaint)} menyatakan masalah BELUM selesai; laporan dibuka kembali (DIPROSES).{said}"


def reminder(complaint: Complaint, deadline: str, due: date) -> str:
    return (
        f"Pengingat: tenggat {DEADLINE_NAMES[deadline]} tiket {_t(complaint)} jatuh {day(due)}. "
        f"Status kini {STATUS_WORDS[complaint.status]}. /tiket {complaint.ticket}"
    )


def breach_note(deadline: str, due: date) -> str:
    return f"tenggat {DEADLINE_NAMES[deadline]} {due.isoformat()} terlewati"


def breach(complaint: Complaint, deadline: str, due: date) -> str:
    return (
        f"TENGGAT TERLEWATI: {DEADLINE_NAMES[deadline]} tiket {_t(complaint)} ({day(due)}). "
        f"Status {STATUS_WORDS[complaint.status]}. /tiket {complaint.ticket}"
    )


def reroute_note(source: Agency, target: Agency, note: str | None) -> str:
    text = f"dialihkan dari {source.code} ke {target.code}"
    return f"{text}: {note.strip()}" if note and note.strip() else text


# ---------------------------------------------------------------- answers to commands


def not_in_queue(ticket: str) -> str:
    return f"Tiket {format_ticket(ticket)} tidak ada di antrean instansi Anda."


def invalid_ticket(text: str) -> str:
    return f"'{text}' bukan nomor tiket yang valid (8 angka, contoh 1234-5678)."


def already(complaint: Complaint) -> str:
    return f"Tiket {_t(complaint)} sudah berstatus {STATUS_WORDS[complaint.status]}."


def bad_transition(complaint: Complaint, new_status: str) -> str:
    allowed = {
        "diterima": "diteruskan, diproses atau ditolak",
        "diteruskan": "diproses, selesai atau ditolak",
        "diproses": "selesai atau ditolak",
    }.get(complaint.status)
    now = STATUS_WORDS[complaint.status]
    if allowed is None:
        return f"Tiket {_t(complaint)} sudah {now}; statusnya tidak bisa diubah lagi."
    return f"Tiket {_t(complaint)} berstatus {now}: hanya bisa diubah ke {allowed}."


def unknown_status(word: str) -> str:
    return f"Status '{word}' tidak dikenal. Pilih: diteruskan, diproses, selesai, ditolak."


def reason_required() -> str:
    return "Penolakan wajib disertai alasan: /status <tiket> ditolak <alasan>."


def empty_reply() -> str:
    return "Pesannya kosong. Tulis: /balas <tiket> <pesan>."


def closed(complaint: Complaint) -> str:
    return f"Tiket {_t(complaint)} sudah {STATUS_WORDS[complaint.status]}."


def unknown_agency(code: str) -> str:
    return f"Instansi dengan kode '{code}' tidak ada. Kode tertera di daftar instansi (aduan agency list)."


def same_agency(agency: Agency) -> str:
    return f"Laporan itu sudah di {agency.name}."


# A reporter filed through Open311 without a phone number has no channel: what they are "told"
# is recorded and read back by the integration that filed it (with its key), never by the public.
_NOT_REACHABLE = "Pelapor tidak punya nomor (lewat Open311): tercatat untuk sistem pengirimnya."


PUBLIC_NOTE_SHOWN = 120  # of the public note, quoted back to the officer (an SMS officer pays per segment)


def status_changed(complaint: Complaint, reached: bool = True, public_note: str | None = None) -> str:
    """The answer to a status change; with a note, the officer reads what the public will see of it."""
    told = "Pelapor sudah diberi tahu." if reached else _NOT_REACHABLE
    text = f"Tiket {_t(complaint)} kini {STATUS_WORDS[complaint.status]}. {told}"
    if public_note:
        shown = public_note if len(public_note) <= PUBLIC_NOTE_SHOWN else public_note[: PUBLIC_NOTE_SHOWN - 1] + "…"
        text += f"\nCatatan ini PUBLIK (tampil di halaman tiket, data pribadi disamarkan): {shown}"
    return text


def reply_sent(complaint: Complaint, reached: bool = True) -> str:
    if not reached:
        return f"Pesan Anda untuk pelapor {_t(complaint)} dicatat. {_NOT_REACHABLE}"
    return f"Pesan Anda untuk pelapor {_t(complaint)} sudah dikirim (hanya untuk pelapor, tidak dipublikasikan)."


def rerouted(complaint: Complaint, target: Agency, reached: bool = True) -> str:
    told = "Pelapor sudah diberi tahu." if reached else _NOT_REACHABLE
    return f"Tiket {_t(complaint)} dialihkan ke {target.name}. {told}"


def unknown_command() -> str:
    return "Perintah tidak dikenal.\n" + HELP


def not_relayed(complaint: Complaint | None) -> str:
    """A plain reply to a reminder, a breach alert or a command's answer: nothing goes to the reporter."""
    ticket = _t(complaint) if complaint is not None else "<tiket>"
    return f"Balasan ke pesan ini tidak diteruskan ke pelapor. Untuk menjawab pelapor: /balas {ticket} <pesan>"


# ---------------------------------------------------------------- the PIN (commands over SMS)


def _minutes(span: timedelta) -> str:
    return f"{int(span.total_seconds() // 60)} menit"


def pin_required(every_command: bool = True) -> str:
    """A command over SMS without the PIN: supervisors and admins confirm every one, officers their writes."""
    if every_command:
        return "Perintah lewat SMS perlu PIN Anda di akhir pesan, contoh: /daftar PIN 123456"
    return (
        "Perintah yang mengubah laporan atau menjawab pelapor lewat SMS perlu PIN Anda di akhir pesan, "
        "contoh: /status 1234-5678 diproses PIN 123456"
    )


def pin_not_set(officer: Officer) -> str:
    """How to get a PIN: an admin sets it with the CLI (bot/cli_officers.py), never over chat."""
    return (
        "Perintah ini lewat SMS perlu PIN, dan Anda belum punya PIN: perintah tidak dijalankan. Minta admin "
        f"Aduan membuatkannya (aduan officer pin --officer {officer.id}), lalu tulis PIN di akhir "
        "pesan: /status 1234-5678 diproses PIN 123456. Lewat Telegram atau WhatsApp tanpa PIN."
    )


def pin_wrong(left: int) -> str:
    return f"PIN salah; perintah tidak dijalankan. Sisa {left} kali percobaan sebelum dikunci."


def pin_locked(span: timedelta) -> str:
    return f"Perintah dengan PIN sedang dikunci karena PIN salah berulang kali. Coba lagi dalam {_minutes(span)} paling lama."


def pin_locked_now(failures: int, span: timedelta) -> str:
    return (
        f"PIN salah {failures} kali: perintah dengan PIN dikunci {_minutes(span)}. "
        "Atasan dan admin sudah diberi tahu."
    )


def pin_lockout_alert(officer: Officer, agency: Agency, address: str, failures: int, span: timedelta) -> str:
    return (
        f"PERINGATAN KEAMANAN: PIN salah {failures} kali dari {address}, alamat petugas {officer.name} "
        f"(id {officer.id}, {agency.code}). Perintah dengan PIN dikunci {_minutes(span)}. Bila bukan dia, "
        f"cabut alamatnya: aduan officer urn --officer {officer.id} --remove <alamat>"
    )


def usage(command: str) -> str:
    forms = {
        "balas": "/balas <tiket> <pesan>",
        "status": "/status <tiket> <diteruskan|diproses|selesai|ditolak> [catatan]",
        "tiket": "/tiket <tiket>",
        "alihkan": "/alihkan <tiket> <kode instansi> [catatan]",
    }
    return f"Cara pakai: {forms[command]}"


def deadlines_line(running: list[tuple[str, date]], breached: list[str]) -> str | None:
    parts = [f"{DEADLINE_NAMES[name]} {day(due)}" for name, due in running]
    parts += [f"TERLEWATI: {DEADLINE_NAMES[name]}" for name in breached]
    return "Tenggat: " + "; ".join(parts) if parts else None


def ticket_detail(
    complaint: Complaint,
    agency: Agency,
    history: list[ComplaintEvent],
    running: list[tuple[str, date]],
    breached: list[str],
    reporter: str | None,
    officer_names: dict[int, str],
    items: list[Attachment] | None = None,
    links: dict[int, str] | None = None,
) -> str:
    lines = [
        f"Tiket {_t(complaint)} - {STATUS_WORDS[complaint.status]} - {agency.name}",
        f"Kategori: {categories.label(complaint.category)}",
        f"Lokasi: {place(complaint)}",
        f"Isi: {complaint.description}",
        f"Pelapor: {reporter}" if reporter else "Pelapor: anonim",
    ]
    if (listed := attachments(items or [], links, listed=ATTACHMENTS_IN_DETAIL, more=" (tidak ditampilkan)")) is not None:
        lines.append(listed)
    if (deadlines := deadlines_line(running, breached)) is not None:
        lines.append(deadlines)
    if complaint.rating:
        lines.append(f"Nilai pelapor: {complaint.rating}/5")
    lines.append("Riwayat:")
    for event in history[-10:]:
        what = STATUS_WORDS.get(event.to_status or "", event.kind) if event.kind == "status" else _EVENTS.get(event.kind, event.kind)
        note = f": {event.note}" if event.note else ""
        who = officer_names.get(event.actor_officer_id, "petugas") if event.actor_officer_id else _ACTORS[event.actor_type]
        lines.append(f"- {format_date(event.created_at, 'd/M', locale='id')} {what} ({who}){note}"[:200])
    return "\n".join(lines)


def open_list(rows: list[tuple[Complaint, tuple[date, str] | None, bool]]) -> str:
    if not rows:
        return "Tidak ada laporan terbuka di antrean Anda."
    lines = ["Laporan terbuka (tenggat terdekat dulu):"]
    for complaint, nearest, breached in rows:
        due = f" {DEADLINE_NAMES[nearest[1]]} {day(nearest[0])}" if nearest else ""
        flag = " TERLEWATI" if breached else ""
        lines.append(f"{_t(complaint)} {STATUS_WORDS[complaint.status]}{due}{flag} - {complaint.description[:40]}")
    return "\n".join(lines)

