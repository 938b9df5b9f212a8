"""The scripted complaints the benchmark sends: 54 in three kinds of 18.

* ``one_message``: the whole complaint, problem and place, in the first SMS
  ("lampu jalan mati di kec. mlati sleman sudah 2 minggu");
* ``missing_place``: the problem in the first SMS, the place only when asked;
* ``step_by_step``: "lapor" first, then the problem, then the place.

A scripted citizen (``bench.sms``) answers whatever the bot asks from the fields of its
complaint: ``place`` when asked where, ``category`` (the menu number) when asked which
category, ``anonymous`` ("ya"/"tidak") when asked about anonymity, ``option`` (a place name
to pick from numbered options, default the first) and "ya" at the summary. So the number of
turns is what a citizen would really need, not a fixed count.

The texts are written the way people text: abbreviations (kec., kab., dgn, sdh, yg),
lower case, no punctuation; every place is a real kecamatan or kab/kota.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScriptedComplaint:
    kind: str  # one_message | missing_place | step_by_step
    opening: tuple[str, ...]  # what the citizen sends before answering questions
    description: str  # answer to "ceritakan masalahnya" (step by step)
    place: str  # answer to "di mana lokasinya"
    anonymous: str = "tidak"  # answer to "rahasiakan identitas"
    category: str = "13"  # answer to the category menu (its number), if it is asked
    option: str | None = None  # which numbered place option to pick (substring), default the first


def _one(text: str, place: str, anonymous: str = "tidak", category: str = "13") -> ScriptedComplaint:
    return ScriptedComplaint("one_message", (text,), text, place, anonymous, category)


def _missing(text: str, place: str, anonymous: str = "tidak", category: str = "13") -> ScriptedComplaint:
    return ScriptedComplaint("missing_place", (text,), text, place, anonymous, category)


def _steps(text: str, place: str, anonymous: str = "tidak", category: str = "13", start: str = "lapor") -> ScriptedComplaint:
    return ScriptedComplaint("step_by_step", (start, text), text, place, anonymous, category)


ONE_MESSAGE: tuple[ScriptedComplaint, ...] = (
    _one("lampu jalan mati di kec. mlati sleman sudah 2 minggu", "Mlati, Sleman", "ya", "1"),
    _one("jalan berlubang besar di depan pasar godean sleman sdh 3 bulan", "Godean, Sleman", category="1"),
    _one("sampah menumpuk di tps dekat pasar kuta badung tidak diangkut seminggu", "Kuta, Badung", category="2"),
    _one("air pdam mati sudah 3 hari di denpasar selatan", "Denpasar Selatan, Denpasar", category="3"),
    _one("listrik padam tiap malam di kecamatan ngaglik sleman", "Ngaglik, Sleman", category="4"),
    _one("puskesmas di wates kulon progo tutup sebelum jam pelayanan", "Wates, Kulon Progo", "ya", "5"),
    _one("ada pungli saat urus ktp di kantor kecamatan gamping sleman", "Gamping, Sleman", "ya", "11"),
    _one("jembatan kayu di ubud gianyar rusak parah dan berbahaya", "Ubud, Gianyar", category="1"),
    _one("selokan mampet dan banjir tiap hujan di gondokusuman yogyakarta", "Gondokusuman, Yogyakarta", category="1"),
    _one("parkir liar di trotoar jalan malioboro kota yogyakarta bikin macet", "Jetis, Yogyakarta", category="9"),
    _one("bansos pkh tidak cair 3 bulan di kec. sewon bantul", "Sewon, Bantul", category="8"),
    _one("guru honorer di sd negeri wonosari gunungkidul belum digaji", "Wonosari, Gunungkidul", category="6"),
    _one("pohon tumbang menutup jalan di kec. kasihan bantul sejak kemarin", "Kasihan, Bantul", category="2"),
    _one("lampu lalu lintas mati di perempatan padang utara kota padang", "Padang Utara, Padang", category="10"),
    _one("limbah pabrik bau busuk di sungai dekat curug kab. tangerang", "Curug, Tangerang", category="2"),
    _one("akta kelahiran anak saya belum jadi 2 bulan di dukcapil bukittinggi", "Bukittinggi", category="7"),
    _one("trotoar rusak dan berlubang di kecamatan tebet jakarta selatan", "Tebet, Jakarta Selatan", category="1"),
    _one("angkot ngetem sembarangan di terminal kota pariaman", "Pariaman", category="10"),
)

MISSING_PLACE: tuple[ScriptedComplaint, ...] = (
    _missing("jalan berlubang di depan SD sudah 3 bulan tidak diperbaiki", "Mlati, Sleman", category="1"),
    _missing("lampu jalan di gang rumah saya mati sudah sebulan", "Depok, Sleman", category="1"),
    _missing("sampah tidak diangkut petugas sudah dua minggu", "Kasihan, Bantul", "ya", "2"),
    _missing("air pdam keruh dan berbau sejak minggu lalu", "Umbulharjo, Jogja", category="3"),
    _missing("mau lapor listrik sering padam tiap sore", "Kuta, Badung", category="4"),
    _missing("obat di puskesmas sering kosong dan pasien disuruh beli sendiri", "Singaraja, Buleleng", category="5"),
    _missing("sekolah minta uang seragam padahal katanya gratis", "Coblong, Bandung", "ya", "6"),
    _missing("ktp elektronik saya belum jadi setengah tahun", "Bekasi Timur, Kota Bekasi", category="7"),
    _missing("nama saya hilang dari daftar penerima bansos", "Wates, Kulon Progo", category="8"),
    _missing("balap liar tiap malam minggu sangat bising", "Serpong, Tangerang Selatan", category="9"),
    _missing("halte bus rusak dan atapnya bocor", "Pasar Minggu, Jakarta Selatan", category="10"),
    _missing("petugas minta uang pelicin untuk urus izin usaha", "Balaraja, Tangerang", "ya", "11"),
    _missing("antrean pelayanan di kantor kelurahan lama sekali", "Tegalrejo, Kota Yogyakarta", category="12"),
    _missing("gorong gorong tersumbat jadi banjir kalau hujan", "Negara, Jembrana", category="1"),
    _missing("pembakaran sampah warga asapnya masuk rumah", "Sawahlunto", category="2"),
    _missing("tiang listrik miring hampir roboh di pinggir jalan", "Lubuk Basung, Agam", category="4"),
    _missing("warga resah karena ada kejadian aneh setiap malam di kampung kami", "Kalasan, Sleman", category="13"),
    _missing("pipa air bocor di pinggir jalan sudah seminggu", "Gianyar", category="3"),
)

STEP_BY_STEP: tuple[ScriptedComplaint, ...] = (
    _steps("jalan berlubang besar di depan SD, sudah 3 bulan tidak diperbaiki", "Mlati, Sleman", category="1"),
    _steps("lampu jalan mati sudah dua minggu", "Ngaglik, Sleman", category="1", start="saya mau lapor"),
    _steps("sampah menumpuk di pinggir jalan sudah seminggu", "Sewon, Bantul", category="2"),
    _steps("air pdam mati sudah tiga hari", "Denpasar Selatan, Denpasar", category="3", start="mau lapor"),
    _steps("listrik padam terus tiap malam", "Gamping, Sleman", category="4"),
    _steps("pelayanan di rumah sakit daerah sangat lambat", "Wonosari, Gunungkidul", "ya", "5", start="saya ingin mengadu"),
    _steps("guru sering tidak masuk kelas di sekolah anak saya", "Padang Utara, Padang", category="6"),
    _steps("pengurusan kartu keluarga dipersulit petugas", "Ubud, Gianyar", category="7", start="lapor pak"),
    _steps("bantuan sembako tidak sampai ke warga yang berhak", "Curug, Tangerang", "ya", "8"),
    _steps("pedagang kaki lima menutup trotoar", "Gondokusuman, Yogyakarta", category="9", start="mau ngadu"),
    _steps("bus trans sering tidak berhenti di halte", "Tebet, Jakarta Selatan", category="10"),
    _steps("ada calo di kantor samsat yang minta uang lebih", "Coblong, Bandung", "ya", "11", start="saya mau lapor"),
    _steps("izin usaha saya tidak diproses berbulan-bulan", "Kuta, Badung", category="12"),
    _steps("jembatan penghubung desa ambruk", "Lubuk Basung, Agam", category="1", start="lapor"),
    _steps("drainase jebol dan jalan tergenang", "Bekasi Timur, Kota Bekasi", category="1"),
    _steps("air sumur warga tercemar limbah", "Cikupa, Kab. Tangerang", "ya", "2", start="aduan"),
    _steps("meteran listrik rusak tapi tagihan naik", "Bukittinggi", category="4"),
    _steps("banyak anjing liar berkeliaran di komplek", "Depok, Sleman", category="13"),
)

CORPUS: tuple[ScriptedComplaint, ...] = ONE_MESSAGE + MISSING_PLACE + STEP_BY_STEP
KINDS = ("one_message", "missing_place", "step_by_step")

# The dialogues of the latency part, step by step: "lapor", the problem (its category is clear
# from the text, it names no place), the place, anonymity, "ya", then "cek status <ticket>":
# 6 turns each, so every run sends the same number of turns. The ticket of the "ya" turn is
# checked in the last one.
LATENCY_DIALOGUES: tuple[tuple[str, ...], ...] = (
    ("lapor", "jalan berlubang besar di depan SD sudah 3 bulan", "Mlati, Sleman", "tidak", "ya"),
    ("saya mau lapor", "lampu jalan mati sudah dua minggu", "Ngaglik, Sleman", "ya", "ya"),
    ("lapor", "air pdam keruh dan berbau sejak minggu lalu", "Umbulharjo, Jogja", "tidak", "ya"),
    ("mau lapor", "air pdam mati sudah tiga hari", "Denpasar Selatan, Denpasar", "tidak", "ya"),
    ("lapor", "listrik padam terus tiap malam", "Gamping, Sleman", "tidak", "ya"),
    ("lapor", "balap liar tiap malam minggu sangat bising", "Sewon, Bantul", "ya", "ya"),
)
STATUS_CHECK = "cek status {ticket}"
