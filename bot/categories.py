"""The 13 complaint categories: citizen-facing labels, the numbered menu, and a keyword guess.

The guess is deliberately simple and explainable (keywords a citizen uses for each kind of
problem); when it is not sure, the dialogue asks the citizen to choose by number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from storage.models import Category


@dataclass(frozen=True)
class CategoryInfo:
    slug: Category
    label_id: str
    label_en: str
    keywords: tuple[str, ...]


# Order is the order of the numbered menu; "lainnya" stays last.
CATEGORIES: tuple[CategoryInfo, ...] = (
    CategoryInfo(Category.infrastruktur, "Jalan & fasilitas umum", "Roads & public works",
                 ("jalan", "jln", "jl", "aspal", "lubang", "berlubang", "jembatan", "trotoar", "pju",
                  "lampu jalan", "penerangan jalan", "selokan", "got", "gorong", "drainase", "saluran air")),
    CategoryInfo(Category.lingkungan, "Lingkungan & sampah", "Environment & rubbish",
                 ("sampah", "tps", "limbah", "pencemaran", "tercemar", "polusi", "asap", "bau busuk",
                  "pohon tumbang", "banjir", "pembakaran", "pembuangan")),
    CategoryInfo(Category.air_bersih, "Air bersih (PDAM)", "Piped water",
                 ("pdam", "air mati", "air keruh", "air bersih", "air ledeng", "tagihan air", "pipa air")),
    CategoryInfo(Category.listrik, "Listrik (PLN)", "Electricity",
                 ("listrik", "pln", "padam", "mati lampu", "tiang listrik", "meteran", "token listrik", "kabel listrik")),
    CategoryInfo(Category.kesehatan, "Kesehatan", "Health",
                 ("puskesmas", "rumah sakit", "rs", "bpjs", "obat", "dokter", "perawat", "bidan", "nakes", "posyandu")),
    CategoryInfo(Category.pendidikan, "Pendidikan", "Education",
                 ("sekolah", "guru", "ppdb", "kip", "pip", "siswa", "murid", "sd", "smp", "sma", "smk", "spp")),
    CategoryInfo(Category.kependudukan, "KTP, KK & akta", "ID cards & civil records",
                 ("ktp", "e-ktp", "ktp-el", "kk", "kartu keluarga", "akta", "akte", "dukcapil", "capil", "nik")),
    CategoryInfo(Category.bantuan_sosial, "Bantuan sosial", "Social assistance",
                 ("bansos", "pkh", "blt", "bpnt", "dtks", "bantuan sosial", "sembako", "bantuan langsung")),
    CategoryInfo(Category.ketertiban_umum, "Ketertiban umum", "Public order",
                 ("parkir liar", "pkl", "pedagang kaki lima", "bising", "berisik", "balap liar", "preman",
                  "miras", "tawuran", "begal", "judi")),
    CategoryInfo(Category.transportasi, "Transportasi", "Transport",
                 ("angkot", "bus", "bis", "terminal", "halte", "lampu merah", "lampu lalu lintas",
                  "traffic light", "ojek", "kereta", "trans")),
    CategoryInfo(Category.pungli_korupsi, "Pungli & korupsi", "Illegal fees & corruption",
                 ("pungli", "pungutan liar", "suap", "sogok", "calo", "korupsi", "minta uang", "uang pelicin", "gratifikasi")),
    CategoryInfo(Category.pelayanan_administrasi, "Perizinan & layanan kantor", "Permits & office service",
                 ("izin", "ijin", "pbg", "imb", "nib", "pbb", "pajak", "pelayanan", "petugas", "kantor", "antre", "antri")),
    CategoryInfo(Category.lainnya, "Lainnya", "Other", ()),
)

BY_SLUG = {info.slug.value: info for info in CATEGORIES}



def label(slug: str, language: str = "id") -> str:
    info = BY_SLUG.get(slug)
    if info is None:
        return slug
    return info.label_en if language == "en" else info.label_id


def menu(language: str = "id") -> str:
    """The numbered list a feature-phone user answers with one digit."""
    return "\n".join(f"{i}. {label(info.slug.value, language)}" for i, info in enumerate(CATEGORIES, start=1))


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9\-]+", " ", text.lower()) + " "


def guess(text: str) -> list[tuple[Category, float]]:
    """Categories whose keywords appear in the text, best first, with a simple score."""
    padded = _words(text)
    scores: dict[Category, float] = {}
    for info in CATEGORIES:
        hits = sum(1 for keyword in info.keywords if f" {keyword} " in padded)
        if hits:
            scores[info.slug] = float(hits)
    return sorted(scores.items(), key=lambda item: -item[1])


def confident_guess(text: str) -> Category | None:
    """A category only when one clearly leads; otherwise the citizen is asked."""
    ranked = guess(text)
    if not ranked:
        return None
    if any(slug is Category.pungli_korupsi for slug, _ in ranked):
        # A complaint that fits two takes the more specific abuse (DESIGN.md section 3):
        # a school asking for illegal fees is pungli, not education.
        return Category.pungli_korupsi
    if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
        return ranked[0][0]
    return None


def parse_choice(text: str) -> Category | None:
    """A citizen's answer to the category menu: a number, a slug, or a label."""
    cleaned = text.strip().lower().rstrip(".")
    if cleaned.isdigit():
        index = int(cleaned)
        if 1 <= index <= len(CATEGORIES):
            return CATEGORIES[index - 1].slug
        return None
    for info in CATEGORIES:
        if cleaned in (info.slug.value, info.slug.value.replace("_", " "), info.label_id.lower(), info.label_en.lower()):
            return info.slug
    return confident_guess(cleaned)
