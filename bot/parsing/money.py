"""Vietnamese amounts of money and counts, as owners type them in a chat.

Owners write "500tr", "1,5 tỷ", "2 tỉ rưỡi", "1tr2", "800.000.000đ" or "năm trăm triệu",
with or without diacritics. :func:`parse_money` turns all of these into whole đồng and
refuses anything it would have to guess, so a wrong figure never reaches an estimate.

Rules (the ones a reader could doubt):

* **Separators.** "." and "," followed by exactly three digits group thousands, as in
  Vietnamese writing: "1.500" and "1,500" are 1500, "800.000.000" and "800 000 000" are
  800 million. A separator followed by one, two or more than three digits is a decimal
  point: "1.5 ty" and "1,5 tỷ" are 1.5 billion. When both appear ("1.234,5") the last one is
  the decimal point. A decimal amount must be followed by a unit ("1,5" alone is refused).
  "0.500" and "0,500" are decimals, since a thousands group never follows a lone zero.
* **Units** multiply the number before them: tỷ/tỉ, triệu/tr/củ, nghìn/ngàn/k, trăm,
  chục; "trăm triệu" and "nghìn tỷ" combine. Units must decrease ("1 tỷ 200 triệu");
  "500 triệu 2 tỷ" is ambiguous.
* **"trăm" after a larger unit** counts hundreds of the next smaller unit, as spoken:
  "1 tỷ 2 trăm" = 1 tỷ 200 triệu, "5 triệu 3 trăm" = 5 triệu 300 nghìn.
* **Spaces** between a number of up to three digits and three-digit groups join them:
  "800 000 000" is 800 million, so "500 600" is 500600, not a choice.
* **"rưỡi"** after a unit adds half of it: "2 tỉ rưỡi" = 2.5 tỷ.
* **A bare number after the last unit** gives the digits after the decimal point of that
  unit, as spoken: "1 tỷ 2" = 1.2 tỷ, "1tr2" = 1.2 triệu, "2tr35" = 2.35 triệu,
  "1 tỷ 250" = 1.25 tỷ. More than three such digits is ambiguous.
* **Refused:** empty, no number ("không biết"), negative, zero, more than
  :data:`MAX_MONEY`, ranges and alternatives ("500-600 triệu", "500 hoặc 600"), two bare
  numbers, other currencies, and words that are not part of an amount.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.nlu import fold, normalize
from bot.parsing.errors import ParseError, ParseReason

#: One million tỷ (10^15 đồng): far above any khuyến công project, so surely a typo.
MAX_MONEY = 1_000_000 * 1_000_000_000
#: A count of workers, members or products above this is surely a typo.
MAX_COUNT = 1_000_000
#: A thousands group has exactly this many digits.
GROUP_DIGITS = 3
#: At most this many digits may follow the last unit ("1 tỷ 250").
MAX_TRAILING_DIGITS = 3

_UNITS: dict[str, Decimal] = {
    "ty": Decimal(10**9),
    "ti": Decimal(10**9),
    "trieu": Decimal(10**6),
    "tr": Decimal(10**6),
    "cu": Decimal(10**6),
    "nghin": Decimal(10**3),
    "ngan": Decimal(10**3),
    "k": Decimal(10**3),
    "tram": Decimal(100),
    "chuc": Decimal(10),
}
_HALF_WORDS = frozenset({"ruoi"})
_CURRENCY_WORDS = frozenset({"d", "dong", "vnd", "vn"})
_FOREIGN_CURRENCY = frozenset({"usd", "eur", "euro", "dollar", "dola", "do", "$", "€", "yen"})
#: Words that make an answer a range or a choice: the owner must pick one figure.
_RANGE_WORDS = frozenset({"hoac", "den", "toi", "-", "~", "/", "hay"})
#: Harmless words around an amount ("khoảng 500 triệu ạ", "dự kiến 1 tỷ").
_FILLER_WORDS = frozenset(
    {"khoang", "tam", "chung", "gan", "hon", "tren", "duoi", "du", "kien", "la", "a", "nhe"}
    | {"tong", "cong", "chi", "phi", "von", "so", "tien", "het", "mat", "uoc", "tinh", "+"}
)
#: Nouns a count may carry ("15 người", "20 lao động").
_COUNT_NOUNS = frozenset(
    {"nguoi", "lao", "dong", "cong", "nhan", "thanh", "vien", "ho", "co", "so"}
    | {"chiec", "cai", "san", "pham", "may", "thiet", "bi", "khau"}
)
_NEGATIVE_WORDS = frozenset({"am", "tru"})

# Spoken digits, keyed by the folded word. "tam" (tám, 8) and "tầm" (about) fold alike, so
# word numbers are only read when the text has no digit at all.
_DIGIT_WORDS: dict[str, int] = {
    "khong": 0,
    "mot": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
    "nam": 5,
    "lam": 5,
    "nham": 5,
    "sau": 6,
    "bay": 7,
    "tam": 8,
    "chin": 9,
}
_TENS_WORDS = frozenset({"muoi", "chuc"})
_HUNDREDS_WORD = "tram"
_ZERO_TENS_WORDS = frozenset({"linh", "le"})
#: Folded words read as part of a spelled-out number when typed without diacritics.
_SPOKEN_FOLDED = frozenset(_DIGIT_WORDS) | _TENS_WORDS | _ZERO_TENS_WORDS | {_HUNDREDS_WORD}
#: The same words with diacritics: "tầm" (about) is not "tám" (eight) once marks are typed.
_SPOKEN_MARKED = frozenset(
    {"không", "một", "mốt", "hai", "ba", "bốn", "tư", "năm", "lăm", "nhăm", "sáu", "bảy"}
    | {"bẩy", "tám", "chín", "mười", "mươi", "chục", "trăm", "linh", "lẻ"}
)

_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+|\S")
_DIGIT_LETTER = re.compile(r"(?<=\d)(?=[^\W\d_])|(?<=[^\W\d_])(?=\d)")
_NEGATIVE_START = re.compile(r"^\s*[-−–]\s*\d")
_TRIM = " .!?…;:"
_TENS = 10
_THOUSAND = Decimal(1000)
_WHOLE_AND_FRACTION = 2
_HUNDRED = 100


@dataclass(frozen=True, slots=True)
class _Num:
    """A number as typed; ``digits`` keeps a plain integer's digits for "1 tỷ 250"."""

    value: Decimal
    digits: str | None
    #: Built from space-separated groups ("800 000 000"), so a further group may follow.
    grouped: bool = False


@dataclass(frozen=True, slots=True)
class _Unit:
    scale: Decimal


@dataclass(frozen=True, slots=True)
class _Half:
    pass


_Token = _Num | _Unit | _Half


def parse_money(text: str) -> int:
    """The amount in đồng; raises :class:`ParseError` rather than guess."""
    tokens = _tokens(text, nouns=frozenset())
    total = _evaluate(tokens)
    if total == 0:
        raise ParseError(ParseReason.ZERO)
    if total > MAX_MONEY:
        raise ParseError(ParseReason.TOO_LARGE)
    if total != total.to_integral_value():
        raise ParseError(ParseReason.FRACTION)
    return int(total)


def parse_number(text: str, *, maximum: int = MAX_COUNT) -> int:
    """A whole count ("15", "15 người", "mười lăm", "1.500"); zero is allowed."""
    value = _evaluate(_tokens(text, nouns=_COUNT_NOUNS))
    if value != value.to_integral_value():
        raise ParseError(ParseReason.FRACTION)
    if value > maximum:
        raise ParseError(ParseReason.TOO_LARGE)
    return int(value)


def _tokens(text: str, *, nouns: frozenset[str]) -> list[_Token]:
    """Split ``text`` into numbers, units and "rưỡi", dropping currency and filler words."""
    cleaned = normalize(text).strip(_TRIM)
    if not cleaned:
        raise ParseError(ParseReason.EMPTY)
    if _NEGATIVE_START.match(cleaned):
        raise ParseError(ParseReason.NEGATIVE)
    has_digit = any(ch.isdigit() for ch in cleaned)
    raw_tokens = _TOKEN.findall(_DIGIT_LETTER.sub(" ", cleaned))
    if not has_digit:
        try:
            return _word_tokens(raw_tokens, nouns=nouns)
        except ParseError as exc:
            if exc.reason in {ParseReason.UNEXPECTED_WORD, ParseReason.MALFORMED}:
                raise ParseError(ParseReason.NO_NUMBER) from exc  # "không biết"
            raise
    tokens: list[_Token] = []
    for raw in raw_tokens:
        word = fold(raw)
        if raw[0].isdigit():
            number = _numeral(raw)
            previous = tokens[-1] if tokens else None
            if isinstance(previous, _Num) and _continues_space_group(previous, number):
                joined = f"{previous.digits}{number.digits}"
                tokens[-1] = _Num(Decimal(joined), joined, grouped=True)
            else:
                tokens.append(number)
        elif word in _UNITS:
            tokens.append(_Unit(_UNITS[word]))
        elif word in _HALF_WORDS:
            tokens.append(_Half())
        else:
            _skip_word(raw, word, nouns=nouns, first=not tokens)
    if not any(isinstance(token, _Num) for token in tokens):
        raise ParseError(ParseReason.NO_NUMBER)
    return tokens


def _skip_word(raw: str, word: str, *, nouns: frozenset[str], first: bool) -> None:
    """Accept a word that carries no amount, or raise the reason it cannot be skipped."""
    if word in _CURRENCY_WORDS or word in _FILLER_WORDS or word in nouns:
        return
    if raw == "đô" or word in _FOREIGN_CURRENCY:
        raise ParseError(ParseReason.WRONG_CURRENCY)
    if word in _RANGE_WORDS:
        raise ParseError(ParseReason.AMBIGUOUS)
    if first and word in _NEGATIVE_WORDS:
        raise ParseError(ParseReason.NEGATIVE)
    raise ParseError(ParseReason.UNEXPECTED_WORD)


def _continues_space_group(previous: _Num, number: _Num) -> bool:
    """True for the "000" of "800 000": a plain three-digit group after a short plain number."""
    return (
        previous.digits is not None
        and number.digits is not None
        and len(number.digits) == GROUP_DIGITS
        and (previous.grouped or len(previous.digits) <= GROUP_DIGITS)
        and not previous.digits.startswith("0")
    )


def _numeral(raw: str) -> _Num:
    """Read one typed number under the separator rules in the module docstring."""
    if raw.isdigit():
        return _Num(Decimal(raw), raw)
    separators = {ch for ch in raw if ch in ".,"}
    if len(separators) > 1:
        decimal_sep = max(".,", key=raw.rfind)
        thousands_sep = "," if decimal_sep == "." else "."
        whole, _, fraction = raw.rpartition(decimal_sep)
        if decimal_sep in whole or not _is_grouped(whole.split(thousands_sep)):
            raise ParseError(ParseReason.MALFORMED)
        return _Num(Decimal(f"{whole.replace(thousands_sep, '')}.{fraction}"), None)
    parts = raw.split(separators.pop())
    if len(parts) > _WHOLE_AND_FRACTION:
        if not _is_grouped(parts):
            raise ParseError(ParseReason.MALFORMED)
        joined = "".join(parts)
        return _Num(Decimal(joined), None)
    whole, fraction = parts
    if len(fraction) == GROUP_DIGITS and _is_grouped(parts):
        return _Num(Decimal(whole + fraction), None)
    return _Num(Decimal(f"{whole}.{fraction}"), None)


def _is_grouped(parts: list[str]) -> bool:
    head, *rest = parts
    return (
        1 <= len(head) <= GROUP_DIGITS
        and head != "0"
        and all(len(part) == GROUP_DIGITS for part in rest)
    )


def _evaluate(tokens: list[_Token]) -> Decimal:
    """Sum the "number unit…" groups, then a trailing bare number as decimal digits."""
    total = Decimal(0)
    last_scale: Decimal | None = None
    halved = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if not isinstance(token, _Num):
            raise ParseError(ParseReason.MALFORMED)  # a unit or "rưỡi" with no number
        if halved:
            raise ParseError(ParseReason.AMBIGUOUS)  # "2 tỷ rưỡi 3"
        index += 1
        scale = Decimal(1)
        has_unit = False
        while index < len(tokens):
            unit = tokens[index]
            if not isinstance(unit, _Unit):
                break
            scale *= unit.scale
            has_unit = True
            index += 1
        if not has_unit:
            if index < len(tokens):
                raise ParseError(ParseReason.AMBIGUOUS)  # "500 600", "2 rưỡi"
            total += _trailing(token, last_scale)
            break
        if last_scale is not None and scale < _THOUSAND <= last_scale:
            scale *= last_scale / _THOUSAND  # "1 tỷ 2 trăm" is 1 tỷ 200 triệu, as spoken
        if last_scale is not None and scale >= last_scale:
            raise ParseError(ParseReason.AMBIGUOUS)  # "500 triệu 2 tỷ"
        total += token.value * scale
        last_scale = scale
        if index < len(tokens) and isinstance(tokens[index], _Half):
            total += scale / 2
            halved = True
            index += 1
    return total


def _trailing(number: _Num, last_scale: Decimal | None) -> Decimal:
    """A bare number: đồng on its own, the decimal digits of the last unit after one."""
    if last_scale is None:
        return number.value
    digits = number.digits
    if digits is None or len(digits) > MAX_TRAILING_DIGITS:
        raise ParseError(ParseReason.AMBIGUOUS)
    return Decimal(digits) / Decimal(10) ** len(digits) * last_scale


def _word_tokens(raw_tokens: list[str], *, nouns: frozenset[str]) -> list[_Token]:
    """Tokens of a number spelled out in words ("năm trăm triệu", "mười lăm người")."""
    tokens: list[_Token] = []
    spoken: list[str] = []

    def flush() -> None:
        if spoken:
            value = _spoken_value(spoken)
            tokens.append(_Num(Decimal(value), str(value)))
            spoken.clear()

    for raw in raw_tokens:
        word = fold(raw)
        is_spoken = raw in _SPOKEN_MARKED or (raw.isascii() and word in _SPOKEN_FOLDED)
        if is_spoken and (word != _HUNDREDS_WORD or spoken):
            spoken.append(word)
            continue
        flush()
        if word in _UNITS:
            tokens.append(_Unit(_UNITS[word]))
        elif word in _HALF_WORDS:
            tokens.append(_Half())
        else:
            _skip_word(raw, word, nouns=nouns, first=not tokens)
    flush()
    if not any(isinstance(token, _Num) for token in tokens):
        raise ParseError(ParseReason.NO_NUMBER)
    return tokens


def _spoken_value(words: list[str]) -> int:
    """0–999 from spoken words: "mười lăm" 15, "hai mươi mốt" 21, "một trăm linh năm" 105."""
    hundreds: int | None = None
    tens: int | None = None
    pending: int | None = None
    for word in words:
        if word in _DIGIT_WORDS:
            if pending is not None:
                raise ParseError(ParseReason.NO_NUMBER)  # "không biết" lands here too
            pending = _DIGIT_WORDS[word]
        elif word == _HUNDREDS_WORD:
            if pending is None or hundreds is not None or tens is not None:
                raise ParseError(ParseReason.MALFORMED)
            hundreds, pending = pending, None
        elif word in _TENS_WORDS:
            if tens is not None:
                raise ParseError(ParseReason.MALFORMED)
            tens, pending = (1 if pending is None else pending), None
        elif word in _ZERO_TENS_WORDS:
            if hundreds is None or tens is not None:
                raise ParseError(ParseReason.MALFORMED)
            tens = 0
    return (hundreds or 0) * _HUNDRED + (tens or 0) * _TENS + (pending or 0)
