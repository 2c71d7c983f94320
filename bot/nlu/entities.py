"""Facts an owner states inside a question: an amount, a whole production line, a facility
type, the kind of place.

"mua máy sấy 700 triệu thì được bao nhiêu" carries the cost (700 triệu), so the answer can
apply the rule to the owner's own number instead of only quoting the cap. Amounts are read
by :func:`bot.parsing.parse_money` (the same reader as the registration form), so "700tr",
"1 tỷ 2" and "1,5 tỉ" mean the same here as there; a number without a unit ("500 công
nhân") is never taken for money.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.nlu.normalize import fold
from bot.parsing import ParseError, parse_money

#: A number followed by a money unit, optionally a second number (and unit): "700tr",
#: "1 tỷ 2", "1,5 ty", "2 ti ruoi", "1 ty 200 trieu", "800.000.000 d".
_AMOUNT = re.compile(
    r"(?<![\w.,])\d+(?:[.,]\d+)*\s*"
    r"(?:ty|ti|trieu|tr|cu|nghin|ngan|k|dong|d|vnd)\b"
    r"(?:\s*\d+(?:[.,]\d+)?(?:\s*(?:trieu|tr|nghin|ngan|k)\b)?)?"
    r"(?:\s*ruoi\b)?"
)
#: "500 đến 600 triệu", "500-600tr", "500 hoặc 600": a range or a choice, not one cost.
_RANGE = re.compile(r"\d\s*(?:-|den|toi|hoac|hay)\s*\d")
_LINE = re.compile(r"\bday chuyen\b")
#: Folded phrase → the eligibility questionnaire's facility type it names.
_FACILITY_TYPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(ho kinh doanh|hkd|ho ca the|ho gia dinh)\b"), "ho_kinh_doanh"),
    (re.compile(r"\b(hop tac xa|htx)\b"), "hop_tac_xa"),
    (re.compile(r"\bto hop tac\b"), "to_hop_tac"),
    (re.compile(r"\b(doanh nghiep|cong ty|cty|dn)\b"), "doanh_nghiep"),
)
_PLACE_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bphuong\b"), "phuong"),
    (re.compile(r"\bdac khu\b"), "dac_khu"),
    (re.compile(r"\b(xa|thi tran)\b"), "xa"),
)


@dataclass(frozen=True, slots=True)
class Entities:
    """What :func:`extract` found; ``None``/empty when the message does not say."""

    amount: int | None = None
    technology_line: bool = False
    facility_type: str = ""
    place_kind: str = ""

    def to_trace(self) -> dict[str, object]:
        """For the message log: kinds only, never the owner's words."""
        return {
            "amount": self.amount is not None,
            "technology_line": self.technology_line,
            "facility_type": self.facility_type,
            "place_kind": self.place_kind,
        }


def extract(text: str) -> Entities:
    folded = fold(text)
    return Entities(
        amount=find_amount(folded),
        technology_line=_LINE.search(folded) is not None,
        facility_type=_first(_FACILITY_TYPES, folded),
        place_kind=_first(_PLACE_KINDS, folded),
    )


def find_amount(text: str) -> int | None:
    """The one amount of money in ``text`` (whole đồng); ``None`` when there is none or
    more than one (a range or a comparison is not a cost to compute with)."""
    folded = fold(text)
    if _RANGE.search(folded):
        return None
    found = []
    for match in _AMOUNT.finditer(folded):
        try:
            found.append(parse_money(match.group(0).strip()))
        except ParseError:
            continue
    return found[0] if len(found) == 1 else None


def _first(patterns: tuple[tuple[re.Pattern[str], str], ...], text: str) -> str:
    return next((name for pattern, name in patterns if pattern.search(text)), "")
