"""Texting Indonesian, normalised: "sy", "tdk", "udh", "jln", "kec" read as the words they stand for.

One table, used the same way when the Rasa model is trained and when it runs (the tokenizer in
bot/nlu_components.py) and by the app's own readers (the category model). Standard library only:
the Rasa engine imports this module in its own Python 3.10 runtime.
"""

from __future__ import annotations

import re

# Abbreviations and informal forms citizens type on keypads, with the standard word.
ABBREVIATIONS = {
    # pronouns and particles
    "sy": "saya", "sya": "saya", "aq": "aku", "gw": "saya", "gue": "saya", "km": "kamu", "kmu": "kamu",
    "yg": "yang", "dgn": "dengan", "dg": "dengan", "krn": "karena", "krna": "karena", "karna": "karena",
    "tp": "tapi", "tpi": "tapi", "jg": "juga", "sm": "sama", "utk": "untuk", "buat": "untuk", "u/": "untuk",
    "dr": "dari", "dri": "dari", "pd": "pada", "kl": "kalau", "klo": "kalau", "kalo": "kalau", "spy": "supaya",
    "sdh": "sudah", "udh": "sudah", "udah": "sudah", "dah": "sudah", "sdah": "sudah", "wis": "sudah",
    "blm": "belum", "blum": "belum", "lom": "belum", "durung": "belum",
    "tdk": "tidak", "tak": "tidak", "gak": "tidak", "ga": "tidak", "gk": "tidak", "nggak": "tidak",
    "ngga": "tidak", "enggak": "tidak", "engga": "tidak", "ndak": "tidak", "nda": "tidak", "ora": "tidak",
    "bgt": "banget", "bngt": "banget", "bnyk": "banyak", "byk": "banyak", "sll": "selalu", "sllu": "selalu",
    "lg": "lagi", "lgi": "lagi", "aja": "saja", "aj": "saja", "msh": "masih", "masi": "masih", "trs": "terus",
    "bs": "bisa", "bsa": "bisa", "hrs": "harus", "sdg": "sedang", "lgsg": "langsung", "skrg": "sekarang",
    "skrang": "sekarang", "pdhl": "padahal", "gmn": "bagaimana", "gimana": "bagaimana", "gmna": "bagaimana",
    "knp": "kenapa", "napa": "kenapa", "mo": "mau", "mau": "mau", "pengen": "ingin", "pgn": "ingin",
    "tlg": "tolong", "tlong": "tolong", "mhn": "mohon", "mksh": "terima kasih", "makasih": "terima kasih",
    "trims": "terima kasih", "tq": "terima kasih", "thx": "terima kasih",
    # places and time
    "jln": "jalan", "jl": "jalan", "jl.": "jalan", "kec": "kecamatan", "kec.": "kecamatan",
    "kab": "kabupaten", "kab.": "kabupaten", "kel": "kelurahan", "kel.": "kelurahan", "ds": "desa",
    "dpn": "depan", "dkt": "dekat", "dket": "dekat", "blkg": "belakang", "smpg": "samping", "sblh": "sebelah",
    "rmh": "rumah", "kmpg": "kampung", "prum": "perumahan",
    "hr": "hari", "mgg": "minggu", "mgu": "minggu", "bln": "bulan", "thn": "tahun", "th": "tahun",
    # services
    "pju": "lampu jalan", "pam": "pdam", "ktp-el": "ktp", "e-ktp": "ktp", "ektp": "ktp", "akte": "akta",
    "rs": "rumah sakit", "rsud": "rumah sakit", "bis": "bus", "sklh": "sekolah", "skolah": "sekolah",
}

_TOKEN = re.compile(r"\S+")
_REPEATED = re.compile(r"([a-z])\1{2,}")  # "bangettt" -> "banget", "parahhh" -> "parah"
_EDGE_PUNCTUATION = ".,;:!?\"'()[]"


def normalize_token(token: str) -> str:
    """One token, lower-cased and expanded; punctuation around it is kept."""
    lowered = token.lower()
    core = lowered.strip(_EDGE_PUNCTUATION)
    if not core:
        return lowered
    start = lowered.find(core)
    prefix, suffix = lowered[:start], lowered[start + len(core) :]
    core = _REPEATED.sub(r"\1", core)
    if core in ABBREVIATIONS:
        core = ABBREVIATIONS[core]
    elif "2" in core and core.endswith("2") and core[:-1].isalpha() and len(core) > 2:
        core = core[:-1]  # "bolong2" (reduplication) -> "bolong"
    return prefix + core + suffix


def normalize(text: str) -> str:
    """The whole message, token by token (whitespace kept as single spaces)."""
    return " ".join(normalize_token(token) for token in _TOKEN.findall(text or ""))
