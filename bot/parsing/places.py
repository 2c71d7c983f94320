"""Administrative places after the 2025 reform: 34 provinces, 3,321 xã / phường / đặc khu.

Owners type the name of their xã or phường as they say it ("phu tam", "P. Phú Lợi",
"xa an ninh, can tho"). The :class:`Gazetteer` finds the official unit, or several when
the name exists in more than one province, each with its province so the flow can ask
which one. The district level (huyện, quận, thị xã) no longer exists: an address written
the old way is not resolved here but recognised by :func:`looks_like_former_address`, so
the flow keeps it as free text for staff.

:func:`rural_area_status` says whether a unit counts as rural for khuyến công
(Decree 45/2012 Art. 1.2(a) as amended by Decree 235/2025 Art. 1.1).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

from rapidfuzz import fuzz, process
from vietnam_provinces import Province, VietNamDivisionType, Ward

from bot.nlu import fold, normalize

#: Score of a name typed exactly, diacritics included.
SCORE_EXACT = 100.0
#: Score of a name that matches once diacritics are dropped ("phu tam" for "Phú Tâm").
SCORE_FOLDED = 95.0
#: Score of a name that contains the typed words ("long phu" in "Long Phú 1").
SCORE_CONTAINS = 90.0
#: Fuzzy scores are scaled to at most this, below every exact or containing match.
SCORE_FUZZY_MAX = 89.0
#: A fuzzy candidate needs at least this rapidfuzz score (0–100) to be offered: ``ratio`` on
#: whole unit names (a typo, not a fragment: fragments are the "contains" tier), ``WRatio``
#: on province names.
FUZZY_CUTOFF = 80.0
DEFAULT_LIMIT = 5

#: Provinces and cities that ceased to exist on 01/07/2025 (merged; Thừa Thiên Huế renamed).
FORMER_PROVINCES: tuple[str, ...] = (
    "Hà Giang",
    "Bắc Kạn",
    "Yên Bái",
    "Hòa Bình",
    "Bắc Giang",
    "Vĩnh Phúc",
    "Hải Dương",
    "Thái Bình",
    "Hà Nam",
    "Nam Định",
    "Quảng Bình",
    "Thừa Thiên Huế",
    "Quảng Nam",
    "Bình Định",
    "Phú Yên",
    "Ninh Thuận",
    "Bình Thuận",
    "Kon Tum",
    "Đắk Nông",
    "Bình Phước",
    "Bình Dương",
    "Bà Rịa - Vũng Tàu",
    "Long An",
    "Tiền Giang",
    "Bến Tre",
    "Trà Vinh",
    "Kiên Giang",
    "Hậu Giang",
    "Sóc Trăng",
    "Bạc Liêu",
)
#: Everyday names of provinces that differ from the official one.
PROVINCE_ALIASES: dict[str, int] = {
    "hcm": 79,
    "tphcm": 79,
    "sai gon": 79,
    "saigon": 79,
    "hn": 1,
}
DECREE_REFERENCE = "NĐ 45/2012/NĐ-CP Đ1.2.a, sửa đổi bởi NĐ 235/2025/NĐ-CP Đ1.1"

_UNIT_PREFIXES: dict[tuple[str, ...], str] = {
    ("xa",): "xa",
    ("x",): "xa",
    ("phuong",): "phuong",
    ("p",): "phuong",
    ("dac", "khu"): "dac_khu",
    ("dk",): "dac_khu",
}
_PROVINCE_PREFIXES: tuple[tuple[str, ...], ...] = (("thanh", "pho"), ("tp",), ("tinh",), ("t",))
_CITY_PREFIX = "Thành phố "
_OFFICIAL_UNIT_PREFIXES = ("Xã ", "Phường ", "Đặc khu ")
_ABBREVIATION_DOT = re.compile(r"\b(p|x|dk|tp|t|tx|tt|h|q)\.\s*", re.IGNORECASE)
_NOT_WORD = re.compile(r"[^\w]+")
_TRIM = " .,;:!?"


class UnitKind(StrEnum):
    """Commune-level unit types after the 2025 reform."""

    XA = "xa"
    PHUONG = "phuong"
    DAC_KHU = "dac_khu"


class ProvinceKind(StrEnum):
    TINH = "tinh"
    THANH_PHO_TRUNG_UONG = "thanh_pho_trung_uong"


_UNIT_KINDS = {
    VietNamDivisionType.XA: UnitKind.XA,
    VietNamDivisionType.PHUONG: UnitKind.PHUONG,
    VietNamDivisionType.DAC_KHU: UnitKind.DAC_KHU,
}
_PROVINCE_KINDS = {
    VietNamDivisionType.TINH: ProvinceKind.TINH,
    VietNamDivisionType.THANH_PHO_TRUNG_UONG: ProvinceKind.THANH_PHO_TRUNG_UONG,
}


@dataclass(frozen=True, slots=True)
class ProvinceMatch:
    """A province or centrally-run city; ``name`` is official ("Thành phố Cần Thơ")."""

    code: int
    name: str
    short_name: str
    kind: ProvinceKind
    score: float = SCORE_EXACT


@dataclass(frozen=True, slots=True)
class PlaceMatch:
    """A xã, phường or đặc khu with its province; ``name`` is official ("Xã Phú Tâm")."""

    code: int
    name: str
    kind: UnitKind
    province_code: int
    province_name: str
    province_kind: ProvinceKind
    score: float = SCORE_EXACT
    #: The typed name equals the official one (with or without diacritics).
    exact: bool = True

    @property
    def bare_name(self) -> str:
        """The name without "Xã"/"Phường"/"Đặc khu" ("Phú Tâm")."""
        for prefix in _OFFICIAL_UNIT_PREFIXES:
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name


@dataclass(frozen=True, slots=True)
class _Indexed:
    match: PlaceMatch
    marked: str
    folded: str
    folded_words: tuple[str, ...]
    #: The folded name between spaces, so a whole-word test is one substring search.
    padded: str


@dataclass(frozen=True, slots=True)
class _Query:
    marked: str
    folded: str
    kind: UnitKind | None
    province_hint: str


class Gazetteer:
    """Every province and commune-level unit, indexed for lookups by typed name.

    Build it once (:meth:`build` or :func:`load_gazetteer`) and share it: it is immutable.
    """

    def __init__(self, provinces: Iterable[ProvinceMatch], units: Iterable[PlaceMatch]) -> None:
        self._provinces = {province.code: province for province in provinces}
        self._province_keys = {
            fold(province.short_name): province.code for province in self._provinces.values()
        }
        self._province_keys.update(PROVINCE_ALIASES)
        indexed = [_index(unit) for unit in units]
        self._units = {item.match.code: item for item in indexed}
        self._by_province: dict[int | None, list[_Indexed]] = {None: indexed}
        for item in indexed:
            self._by_province.setdefault(item.match.province_code, []).append(item)
        # Unique folded names per scope, for rapidfuzz.
        self._names: dict[int | None, dict[str, list[_Indexed]]] = {}
        for scope, items in self._by_province.items():
            names: dict[str, list[_Indexed]] = {}
            for item in items:
                names.setdefault(item.folded, []).append(item)
            self._names[scope] = names

    @classmethod
    def build(cls) -> Gazetteer:
        """Load the ``vietnam_provinces`` data (CPU and file work: call it off the event loop)."""
        provinces = [
            ProvinceMatch(
                code=int(province.code),
                name=province.name,
                short_name=province.name.removeprefix(_CITY_PREFIX),
                kind=_PROVINCE_KINDS[province.division_type],
            )
            for province in Province.iter_all()
        ]
        by_code = {province.code: province for province in provinces}
        units = []
        for ward in Ward.iter_all():
            province = by_code[int(ward.province_code)]
            units.append(
                PlaceMatch(
                    code=int(ward.code),
                    name=ward.name,
                    kind=_UNIT_KINDS[ward.division_type],
                    province_code=province.code,
                    province_name=province.name,
                    province_kind=province.kind,
                )
            )
        return cls(provinces, units)

    def __len__(self) -> int:
        return len(self._units)

    @property
    def provinces(self) -> list[ProvinceMatch]:
        return sorted(self._provinces.values(), key=lambda province: province.code)

    def province_by_code(self, code: int) -> ProvinceMatch | None:
        return self._provinces.get(code)

    def unit_by_code(self, code: int) -> PlaceMatch | None:
        item = self._units.get(code)
        return item.match if item is not None else None

    def units_in(self, province_code: int) -> list[PlaceMatch]:
        """All units of one province, by name (for a pick list)."""
        items = self._by_province.get(province_code, [])
        return sorted((item.match for item in items), key=lambda match: match.name)

    def find_provinces(self, query: str, *, limit: int = DEFAULT_LIMIT) -> list[ProvinceMatch]:
        """Provinces by typed name ("can tho", "TP. Cần Thơ", "tỉnh Cà Mau", "hcm")."""
        key = _province_key(query)
        if not key:
            return []
        code = self._province_keys.get(key)
        if code is not None:
            return [self._provinces[code]]
        found = process.extract(
            key,
            list(self._province_keys),
            scorer=fuzz.WRatio,
            score_cutoff=FUZZY_CUTOFF,
            limit=None,
        )
        best: dict[int, float] = {}
        for name, score, _ in found:
            province_code = self._province_keys[name]
            best[province_code] = max(best.get(province_code, 0.0), _fuzzy_score(score))
        ranked = sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))
        return [replace(self._provinces[code], score=score) for code, score in ranked[:limit]]

    def find_units(
        self,
        query: str,
        *,
        province_code: int | None = None,
        limit: int = DEFAULT_LIMIT,
        prefer_province_code: int | None = None,
    ) -> list[PlaceMatch]:
        """Units whose name matches ``query``, best first; several when the name is shared.

        Exact names (with or without diacritics and the "xã"/"phường" prefix) win: when one
        exists, only exact matches are returned. Otherwise units containing the typed words
        come first, then rapidfuzz candidates for typos. A province after a comma
        ("an ninh, cần thơ") restricts the search like ``province_code``. Ties list
        ``prefer_province_code`` (the Center's own province) first.
        """
        parsed = _parse_query(query)
        if not parsed.folded:
            return []
        if province_code is None and parsed.province_hint:
            hinted = self.find_provinces(parsed.province_hint, limit=1)
            if hinted and hinted[0].score >= SCORE_EXACT:
                province_code = hinted[0].code
        items = self._by_province.get(province_code, [])
        scored = _exact_matches(items, parsed)
        if not scored:
            scored = _contains_matches(items, parsed) + self._fuzzy_matches(parsed, province_code)
        if parsed.kind is not None:
            of_kind = [match for match in scored if match.kind == parsed.kind]
            scored = of_kind or scored
        unique = {match.code: match for match in sorted(scored, key=lambda m: -m.score)}
        ranked = sorted(
            unique.values(),
            key=lambda match: (
                -match.score,
                match.province_code != prefer_province_code,
                match.province_code,
                match.name,
            ),
        )
        return ranked[:limit]

    def _fuzzy_matches(self, parsed: _Query, province_code: int | None) -> list[PlaceMatch]:
        names = self._names.get(province_code, {})
        found = process.extract(
            parsed.folded,
            list(names),
            scorer=fuzz.ratio,
            score_cutoff=FUZZY_CUTOFF,
            limit=None,
        )
        return [
            replace(item.match, score=_fuzzy_score(score), exact=False)
            for name, score, _ in found
            for item in names[name]
        ]


def content_gazetteer(_root: Path) -> Gazetteer:
    """The gazetteer as a content-cache loader (``ctx.content.get(content_gazetteer)``): every
    flow that reads a commune shares one copy per process."""
    return Gazetteer.build()


async def load_gazetteer() -> Gazetteer:
    """Build the gazetteer in a worker thread so the event loop keeps serving chats."""
    return await asyncio.to_thread(Gazetteer.build)


class AreaStatus(StrEnum):
    """Whether a unit counts as rural for khuyến công."""

    ELIGIBLE = "eligible"
    NEEDS_CRAFT_VILLAGE = "needs_craft_village"
    NOT_ELIGIBLE = "not_eligible"


class AreaReason(StrEnum):
    COMMUNE = "commune"
    SPECIAL_ZONE = "special_zone"
    WARD_OF_PROVINCE = "ward_of_province"
    WARD_OF_CITY_IN_CRAFT_VILLAGE = "ward_of_city_in_craft_village"
    WARD_OF_CITY_CRAFT_VILLAGE_UNKNOWN = "ward_of_city_craft_village_unknown"
    WARD_OF_CITY_OUTSIDE_CRAFT_VILLAGE = "ward_of_city_outside_craft_village"


@dataclass(frozen=True, slots=True)
class RuralStatus:
    status: AreaStatus
    reason: AreaReason
    reference: str = DECREE_REFERENCE


def rural_area_status(
    match: PlaceMatch, *, in_recognised_craft_village: bool | None
) -> RuralStatus:
    """Decree 235/2025: xã and đặc khu everywhere, phường of a tỉnh, and a phường of a
    centrally-run city only inside a craft village (làng nghề) recognised by the province.

    ``in_recognised_craft_village`` is ``None`` when the owner has not been asked yet.
    """
    if match.kind is UnitKind.XA:
        return RuralStatus(AreaStatus.ELIGIBLE, AreaReason.COMMUNE)
    if match.kind is UnitKind.DAC_KHU:
        return RuralStatus(AreaStatus.ELIGIBLE, AreaReason.SPECIAL_ZONE)
    if match.province_kind is ProvinceKind.TINH:
        return RuralStatus(AreaStatus.ELIGIBLE, AreaReason.WARD_OF_PROVINCE)
    if in_recognised_craft_village is None:
        return RuralStatus(
            AreaStatus.NEEDS_CRAFT_VILLAGE, AreaReason.WARD_OF_CITY_CRAFT_VILLAGE_UNKNOWN
        )
    if in_recognised_craft_village:
        return RuralStatus(AreaStatus.ELIGIBLE, AreaReason.WARD_OF_CITY_IN_CRAFT_VILLAGE)
    return RuralStatus(AreaStatus.NOT_ELIGIBLE, AreaReason.WARD_OF_CITY_OUTSIDE_CRAFT_VILLAGE)


_DISTRICT_MARKED = re.compile(r"\b(huyện|quận|thị xã|thị trấn)\b")
_DISTRICT_FOLDED = re.compile(r"\b(huyen|thi xa|thi tran|tx|tt)\b|\b(h|q)\.\s*\w|\bquan \d")
_DISTRICT_ASCII = re.compile(r"\bquan\b")
_UNIT_WORDS_BEFORE = re.compile(r"\b(xa|phuong|p|x|dac khu)\W*$")


def looks_like_former_address(text: str) -> bool:
    """True for an address written before 01/07/2025 ("huyện Châu Thành, tỉnh Sóc Trăng").

    It mentions a district level (huyện, quận, thị xã, thị trấn) or a province that no
    longer exists, unless that name follows "xã"/"phường" (Phường Sóc Trăng is current).
    """
    marked = normalize(text)
    folded = fold(text)
    if _DISTRICT_MARKED.search(marked) or _DISTRICT_FOLDED.search(folded):
        return True
    if text.isascii() and _DISTRICT_ASCII.search(folded):
        return True  # "quan" without diacritics in an address is quận, not quán
    spaced = f" {_NOT_WORD.sub(' ', folded).strip()} "
    for name in FORMER_PROVINCES:
        key = f" {_NOT_WORD.sub(' ', fold(name)).strip()} "
        start = spaced.find(key)
        while start != -1:
            if not _UNIT_WORDS_BEFORE.search(spaced[:start].rstrip()):
                return True
            start = spaced.find(key, start + 1)
    return False


def _fuzzy_score(raw: float) -> float:
    """Scale a rapidfuzz score (0–100) below every exact or containing match."""
    return raw * SCORE_FUZZY_MAX / SCORE_EXACT


def _index(unit: PlaceMatch) -> _Indexed:
    folded = fold(unit.bare_name)
    return _Indexed(unit, normalize(unit.bare_name), folded, tuple(folded.split()), f" {folded} ")


def _parse_query(query: str) -> _Query:
    """Split a typed place into its name, a "xã/phường" hint and a province after a comma."""
    text = _ABBREVIATION_DOT.sub(lambda m: f"{m.group(1)} ", query)
    name_part, _, province_part = text.partition(",")
    marked_words = normalize(name_part).strip(_TRIM).split()
    folded_words = [fold(word) for word in marked_words]
    kind: UnitKind | None = None
    for prefix, prefix_kind in _UNIT_PREFIXES.items():
        size = len(prefix)
        if tuple(folded_words[:size]) == prefix:
            # "xã" alone names no place: the query becomes empty and finds nothing.
            kind = UnitKind(prefix_kind)
            marked_words = marked_words[size:]
            folded_words = folded_words[size:]
            break
    return _Query(
        marked=" ".join(marked_words).strip(_TRIM),
        folded=_NOT_WORD.sub(" ", " ".join(folded_words)).strip(),
        kind=kind,
        province_hint=province_part.strip(_TRIM),
    )


def _province_key(query: str) -> str:
    text = _ABBREVIATION_DOT.sub(lambda m: f"{m.group(1)} ", query)
    words = _NOT_WORD.sub(" ", fold(text)).split()
    for prefix in _PROVINCE_PREFIXES:
        if tuple(words[: len(prefix)]) == prefix and len(words) > len(prefix):
            words = words[len(prefix) :]
            break
    return " ".join(words)


def _exact_matches(items: Sequence[_Indexed], parsed: _Query) -> list[PlaceMatch]:
    matches = []
    for item in items:
        if item.folded != parsed.folded:
            continue
        score = SCORE_EXACT if item.marked == parsed.marked else SCORE_FOLDED
        matches.append(replace(item.match, score=score, exact=True))
    return matches


def _contains_matches(items: Sequence[_Indexed], parsed: _Query) -> list[PlaceMatch]:
    """Units whose name holds the typed words in order ("long phu" → "Long Phú 1")."""
    words = f" {parsed.folded} "
    size = words.count(" ") - 1
    return [
        replace(item.match, score=SCORE_CONTAINS - (len(item.folded_words) - size), exact=False)
        for item in items
        if words in item.padded and item.folded != parsed.folded
    ]
