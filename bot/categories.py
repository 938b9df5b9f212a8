"""The 13 complaint categories: citizen-facing labels, the numbered menu, and the guess from the text.

The guess comes from a small text classifier (bot/category_model.py); keywords decide the one
rule the design fixes (illegal levies win over the service they happened in). When the model is
unsure, the dialogue offers the likeliest two or three as numbered options.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import category_model
from bot.texting import normalize
from storage.models import Category

# The model must be this sure, and this far ahead of the runner-up, to choose without asking.
# Picked by 5-fold cross-validation on the training examples (never the held-out set): about
# 90% of the choices it makes alone are right; the rest of the time the citizen picks from three.
CONFIDENT = 0.35
MARGIN = 0.1


@dataclass(frozen=True)
class CategoryInfo:
    slug: Category
    label_id: str
    label_en: str
    keywords: tuple[str, ...]
    short_id: str = ""  # for the one-line SMS menu
    short_en: str = ""


# Order is the order of the numbered menu; "lainnya" stays last.
CATEGORIES: tuple[CategoryInfo, ...] = (
    CategoryInfo(Category.infrastruktur, "Jalan & fasilitas umum", "Roads & public works",
                 ("jalan", "jln", "jl", "aspal", "lubang", "berlubang", "jembatan", "trotoar", "pju",
                  "lampu jalan", "penerangan jalan", "selokan", "got", "gorong", "drainase", "saluran air"), "Jalan", "Roads"),
    CategoryInfo(Category.lingkungan, "Lingkungan & sampah", "Environment & rubbish",
                 ("sampah", "tps", "limbah", "pencemaran", "tercemar", "polusi", "asap", "bau busuk",
                  "pohon tumbang", "banjir", "pembakaran", "pembuangan"), "Lingkungan", "Environment"),
    CategoryInfo(Category.air_bersih, "Air bersih (PDAM)", "Piped water",
                 ("pdam", "air mati", "air keruh", "air bersih", "air ledeng", "tagihan air", "pipa air"), "Air PDAM", "Water"),
    CategoryInfo(Category.listrik, "Listrik (PLN)", "Electricity",
                 ("listrik", "pln", "padam", "mati lampu", "tiang listrik", "meteran", "token listrik", "kabel listrik"), "Listrik", "Power"),
    CategoryInfo(Category.kesehatan, "Kesehatan", "Health",
                 ("puskesmas", "rumah sakit", "rs", "bpjs", "obat", "dokter", "perawat", "bidan", "nakes", "posyandu"), "Kesehatan", "Health"),
    CategoryInfo(Category.pendidikan, "Pendidikan", "Education",
                 ("sekolah", "guru", "ppdb", "kip", "pip", "siswa", "murid", "sd", "smp", "sma", "smk", "spp"), "Sekolah", "School"),
    CategoryInfo(Category.kependudukan, "KTP, KK & akta", "ID cards & civil records",
                 ("ktp", "e-ktp", "ktp-el", "kk", "kartu keluarga", "akta", "akte", "dukcapil", "capil", "nik"), "KTP/KK", "ID/KK"),
    CategoryInfo(Category.bantuan_sosial, "Bantuan sosial", "Social assistance",
                 ("bansos", "pkh", "blt", "bpnt", "dtks", "bantuan sosial", "sembako", "bantuan langsung"), "Bansos", "Aid"),
    CategoryInfo(Category.ketertiban_umum, "Ketertiban umum", "Public order",
                 ("parkir liar", "pkl", "pedagang kaki lima", "bising", "berisik", "balap liar", "preman",
                  "miras", "tawuran", "begal", "judi"), "Ketertiban", "Public order"),
    CategoryInfo(Category.transportasi, "Transportasi", "Transport",
                 ("angkot", "bus", "bis", "terminal", "halte", "lampu merah", "lampu lalu lintas",
                  "traffic light", "ojek", "kereta", "trans"), "Angkutan", "Transport"),
    CategoryInfo(Category.pungli_korupsi, "Pungli & korupsi", "Illegal fees & corruption",
                 ("pungli", "pungutan liar", "suap", "sogok", "calo", "korupsi", "minta uang", "uang pelicin", "gratifikasi"), "Pungli", "Bribery"),
    CategoryInfo(Category.pelayanan_administrasi, "Perizinan & layanan kantor", "Permits & office service",
                 ("izin", "ijin", "pbg", "imb", "nib", "pbb", "pajak", "pelayanan", "petugas", "kantor", "antre", "antri"), "Perizinan", "Permits"),
    CategoryInfo(Category.lainnya, "Lainnya", "Other", (), "Lainnya", "Other"),
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


def compact_menu(language: str = "id") -> str:
    """The 13 categories on one line with short names: "1 Jalan, 2 Lingkungan, ..." (one SMS)."""
    return ", ".join(
        f"{i} {info.short_en if language == 'en' else info.short_id}" for i, info in enumerate(CATEGORIES, start=1)
    )


def _words(text: str) -> str:
    # the first characters only, like the model (category_model.MAX_CHARS): a long story costs no more
    return " " + re.sub(r"[^a-z0-9\-]+", " ", normalize(text[: category_model.MAX_CHARS])) + " "


def keyword_hits(text: str) -> dict[Category, int]:
    """How many of each category's keywords the text uses (after texting normalisation)."""
    padded = _words(text)
    hits = {info.slug: sum(1 for keyword in info.keywords if f" {keyword} " in padded) for info in CATEGORIES}
    return {slug: count for slug, count in hits.items() if count}


def ranked(text: str) -> list[tuple[Category, float]]:
    """Every category with the model's probability, most likely first."""
    return category_model.probabilities(text)


def confident_guess(text: str) -> Category | None:
    """A category only when the text leaves no real doubt; otherwise the citizen chooses."""
    if Category.pungli_korupsi in keyword_hits(text):
        # A complaint that fits two takes the more specific abuse (DESIGN.md section 3):
        # a school asking for illegal fees is pungli, not education.
        return Category.pungli_korupsi
    scores = ranked(text)
    (best, p_best), (_, p_second) = scores[0], scores[1]
    if p_best >= CONFIDENT and p_best - p_second >= MARGIN:
        return best
    return None


def best_guess(text: str) -> Category:
    """The category the bot proposes first (the illegal-levy rule, else the model's top)."""
    return confident_guess(text) or ranked(text)[0][0]


def likely_options(text: str, count: int = 3) -> list[Category]:
    """The likeliest categories, to offer as numbered options when unsure."""
    return [slug for slug, _ in ranked(text)[:count]]


def parse_choice(text: str) -> Category | None:
    """A citizen's answer to the full category menu: a number, a slug, or a label."""
    cleaned = text.strip().lower().rstrip(".")
    if cleaned.isdigit():
        index = int(cleaned)
        if 1 <= index <= len(CATEGORIES):
            return CATEGORIES[index - 1].slug
        return None
    for info in CATEGORIES:
        names = (info.slug.value, info.slug.value.replace("_", " "), info.label_id, info.label_en, info.short_id, info.short_en)
        if cleaned in {name.lower() for name in names}:
            return info.slug
    return confident_guess(cleaned) if len(cleaned) > 3 else None
