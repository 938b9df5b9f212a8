"""The Open311 services: Aduan's 13 complaint categories, and the attributes some of them ask for.

A service's code is the category's slug (``air_bersih``), the same the REST API uses; its name is
the category's Indonesian label and its keywords the words the category is recognised by. Every
service is ``realtime`` (a request is filed at once and gets its ticket). Attributes ask what the
agency needs and the citizen knows (a PDAM or PLN customer number, a bus route), never identity
data: no NIK, no name.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import categories
from bot.open311.formats import Open311Error
from storage.models import Category

CHANGESET = "2026-12-04T00:00:00+07:00"  # when this catalog last changed (discovery's changeset)
MAX_ATTRIBUTE_CHARS = 100

_GROUPS = {
    Category.infrastruktur: "Prasarana & lingkungan",
    Category.lingkungan: "Prasarana & lingkungan",
    Category.transportasi: "Prasarana & lingkungan",
    Category.air_bersih: "Layanan dasar",
    Category.listrik: "Layanan dasar",
    Category.kesehatan: "Layanan dasar",
    Category.pendidikan: "Layanan dasar",
    Category.kependudukan: "Administrasi & bantuan",
    Category.bantuan_sosial: "Administrasi & bantuan",
    Category.pelayanan_administrasi: "Administrasi & bantuan",
    Category.ketertiban_umum: "Ketertiban & integritas",
    Category.pungli_korupsi: "Ketertiban & integritas",
    Category.lainnya: "Lainnya",
}

_DESCRIPTIONS = {
    Category.infrastruktur: "Jalan rusak atau berlubang, jembatan, trotoar, lampu jalan (PJU), selokan dan gorong-gorong.",
    Category.lingkungan: "Sampah, pembuangan liar, pencemaran udara, air atau tanah, pohon tumbang, banjir.",
    Category.air_bersih: "Air PDAM mati atau keruh, pipa bocor, tagihan air.",
    Category.listrik: "Listrik padam, layanan PLN, tiang dan meteran listrik.",
    Category.kesehatan: "Puskesmas, rumah sakit, BPJS Kesehatan, obat, tenaga kesehatan.",
    Category.pendidikan: "Sekolah, guru, PPDB, bantuan pendidikan (KIP, PIP).",
    Category.kependudukan: "KTP-el, Kartu Keluarga, akta, layanan Dukcapil.",
    Category.bantuan_sosial: "Bansos, PKH, BLT, BPNT, data DTKS.",
    Category.ketertiban_umum: "Parkir liar, PKL, kebisingan, balap liar, premanisme.",
    Category.transportasi: "Angkutan umum, terminal, halte, lampu lalu lintas.",
    Category.pungli_korupsi: "Pungutan liar, suap, calo, korupsi di layanan publik.",
    Category.pelayanan_administrasi: "Perizinan, pajak daerah, antrean dan sikap petugas di kantor layanan.",
    Category.lainnya: "Pengaduan lain tentang layanan publik.",
}


@dataclass(frozen=True)
class Attribute:
    code: str
    description: str  # the question, in Indonesian
    label: str  # how the answer is written into the complaint for officers
    datatype: str = "string"  # string | singlevaluelist
    required: bool = False
    values: tuple[tuple[str, str], ...] = ()  # (key, name) of a singlevaluelist


_ATTRIBUTES = {
    Category.infrastruktur: (
        Attribute(
            "membahayakan", "Apakah kerusakan membahayakan pengguna jalan?", "Membahayakan",
            datatype="singlevaluelist", values=(("ya", "Ya, membahayakan"), ("tidak", "Tidak")),
        ),
    ),
    Category.air_bersih: (Attribute("nomor_pelanggan", "Nomor pelanggan PDAM (bila ada)", "Nomor pelanggan PDAM"),),
    Category.listrik: (Attribute("id_pelanggan", "ID pelanggan PLN atau nomor meter (bila ada)", "ID pelanggan PLN"),),
    Category.transportasi: (Attribute("trayek", "Trayek atau nomor kendaraan (bila ada)", "Trayek/kendaraan"),),
}


def service(info: categories.CategoryInfo) -> dict:
    slug = info.slug
    return {
        "service_code": slug.value,
        "service_name": info.label_id,
        "description": _DESCRIPTIONS[slug],
        "metadata": slug in _ATTRIBUTES,
        "type": "realtime",
        "keywords": ", ".join(info.keywords),
        "group": _GROUPS[slug],
    }


def services() -> list[dict]:
    """``GET services``: every category, in the menu's order."""
    return [service(info) for info in categories.CATEGORIES]


def category_of(service_code: str) -> Category:
    """The category a service code names; 404 for another code (``services/{code}``)."""
    try:
        return Category(service_code.strip())
    except ValueError:
        raise Open311Error(404, f"service_code {service_code[:40]!r} not found") from None


def definition(service_code: str) -> dict:
    """``GET services/{service_code}``: the attributes of one service (none for most)."""
    category = category_of(service_code)
    return {
        "service_code": category.value,
        "attributes": [
            {
                "variable": True,
                "code": attribute.code,
                "datatype": attribute.datatype,
                "required": attribute.required,
                "datatype_description": None,
                "order": order,
                "description": attribute.description,
                **({"values": [{"key": key, "name": name} for key, name in attribute.values]} if attribute.values else {}),
            }
            for order, attribute in enumerate(_ATTRIBUTES.get(category, ()), start=1)
        ],
    }


def attribute_lines(category: Category, given: dict[str, str]) -> list[str]:
    """The answers to a service's attributes as lines for the officers ("Nomor pelanggan PDAM: 123").

    400 for a missing required answer, an answer not among a list's keys, or one too long;
    attributes the service does not have are ignored, as the spec allows.
    """
    lines = []
    for attribute in _ATTRIBUTES.get(category, ()):
        value = (given.get(attribute.code) or "").strip()
        if not value:
            if attribute.required:
                raise Open311Error(400, f"attribute[{attribute.code}] is required for {category.value}")
            continue
        if len(value) > MAX_ATTRIBUTE_CHARS:
            raise Open311Error(400, f"attribute[{attribute.code}] is longer than {MAX_ATTRIBUTE_CHARS} characters")
        if attribute.values:
            names = dict(attribute.values)
            if value not in names:
                raise Open311Error(400, f"attribute[{attribute.code}] must be one of {', '.join(names)}")
            value = names[value]
        lines.append(f"{attribute.label}: {value}")
    return lines
