"""Vietnamese phone numbers: one canonical E.164 form (``+84…``) for storage and matching.

Accepted: mobiles of 10 digits starting 03, 05, 07, 08 or 09 (the numbering in force since
the 2018 change), landlines of 11 digits starting 02 (area code then number), each written
with 0, 84, +84 or 0084 in front and any spaces, dots, dashes or parentheses. Old 11-digit
mobiles (01xx…) are refused, with the new number as a suggestion so the flow can ask
"Có phải số …?" instead of silently rewriting what the owner typed.
"""

from __future__ import annotations

import re

from bot.parsing.errors import ParseError, ParseReason

COUNTRY_CODE = "84"
E164_PREFIX = f"+{COUNTRY_CODE}"
TRUNK_PREFIX = "0"
INTERNATIONAL_PREFIX = "00"
MOBILE_LENGTH = 10
LANDLINE_LENGTH = 11
MOBILE_SECOND_DIGITS = frozenset("35789")
LANDLINE_SECOND_DIGIT = "2"
OLD_MOBILE_SECOND_DIGIT = "1"
#: Hà Nội (024) and TP Hồ Chí Minh (028) have two-digit area codes; the others three.
TWO_DIGIT_AREA_CODES = frozenset({"24", "28"})
#: Digits left visible at each end by :func:`mask_phone`.
MASK_KEEP = 3

#: The 2018 conversion of 11-digit mobiles (old four-digit prefix → new three-digit prefix).
OLD_MOBILE_PREFIXES: dict[str, str] = {
    # Viettel
    "0162": "032",
    "0163": "033",
    "0164": "034",
    "0165": "035",
    "0166": "036",
    "0167": "037",
    "0168": "038",
    "0169": "039",
    # MobiFone
    "0120": "070",
    "0121": "079",
    "0122": "077",
    "0126": "076",
    "0128": "078",
    # VinaPhone
    "0123": "083",
    "0124": "084",
    "0125": "085",
    "0127": "081",
    "0129": "082",
    # Vietnamobile
    "0186": "056",
    "0188": "058",
    # Gmobile
    "0199": "059",
}
_OLD_PREFIX_LENGTH = 4

_SEPARATORS = re.compile(r"[\s.\-()/]+")
_DIGITS = re.compile(r"\+?\d+")
#: "+84 (0) 912…" and "+840912…": a trunk zero kept after the country code.
_REDUNDANT_TRUNK = f"{COUNTRY_CODE}{TRUNK_PREFIX}"


def parse_phone(text: str) -> str:
    """The E.164 form (``+84912345678``) of a Vietnamese mobile or landline number."""
    compact = _SEPARATORS.sub("", text.strip())
    if not compact:
        raise ParseError(ParseReason.EMPTY)
    if not _DIGITS.fullmatch(compact):
        has_letter = any(ch.isalpha() for ch in compact)
        raise ParseError(ParseReason.LETTERS if has_letter else ParseReason.MALFORMED)
    national = _national(compact)
    return _validated(national)


def format_phone_vn(e164: str) -> str:
    """The number as owners read it: ``0912 345 678``, ``0292 382 1234``, ``024 3823 4567``."""
    national = _national_from_e164(e164)
    if len(national) == MOBILE_LENGTH:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    area_end = 3 if national[1:3] in TWO_DIGIT_AREA_CODES else 4
    number = national[area_end:]
    middle = len(number) // 2
    return f"{national[:area_end]} {number[:middle]} {number[middle:]}"


def mask_phone(e164: str) -> str:
    """The number for logs and staff lists: ``091****678`` (first and last three digits)."""
    national = _national_from_e164(e164)
    hidden = len(national) - 2 * MASK_KEEP
    return f"{national[:MASK_KEEP]}{'*' * hidden}{national[-MASK_KEEP:]}"


def _national(compact: str) -> str:
    """Digits in the national form (leading 0), whatever prefix was typed."""
    if compact.startswith("+"):
        digits = compact[1:]
        if not digits.startswith(COUNTRY_CODE):
            raise ParseError(ParseReason.FOREIGN_NUMBER)
        return _after_country_code(digits)
    if compact.startswith(INTERNATIONAL_PREFIX):
        digits = compact[len(INTERNATIONAL_PREFIX) :]
        if not digits.startswith(COUNTRY_CODE):
            raise ParseError(ParseReason.FOREIGN_NUMBER)
        return _after_country_code(digits)
    if compact.startswith(COUNTRY_CODE):
        # National numbers start with 0, so a leading 84 is always the country code.
        return _after_country_code(compact)
    return compact


def _after_country_code(digits: str) -> str:
    rest = digits[len(COUNTRY_CODE) :]
    if digits.startswith(_REDUNDANT_TRUNK):
        return rest
    return TRUNK_PREFIX + rest


def _validated(national: str) -> str:
    """Check the national form and return its E.164 form."""
    shortest = MOBILE_LENGTH if national.startswith(TRUNK_PREFIX) else MOBILE_LENGTH - 1
    if len(national) < shortest:
        # "0123": too few digits to be any number; say so before guessing at a prefix.
        raise ParseError(ParseReason.TOO_SHORT)
    if not national.startswith(TRUNK_PREFIX):
        # "912345678": a mobile typed without its 0; offer it back rather than guess.
        missing_zero = TRUNK_PREFIX + national
        suggestion = None
        if len(missing_zero) == MOBILE_LENGTH and national[0] in MOBILE_SECOND_DIGITS:
            suggestion = _to_e164(missing_zero)
        raise ParseError(ParseReason.WRONG_LENGTH, suggestion=suggestion)
    second = national[1:2]
    if second == OLD_MOBILE_SECOND_DIGIT:
        new_prefix = OLD_MOBILE_PREFIXES.get(national[:_OLD_PREFIX_LENGTH])
        suggestion = None
        if new_prefix is not None and len(national) == LANDLINE_LENGTH:
            suggestion = _to_e164(new_prefix + national[_OLD_PREFIX_LENGTH:])
        raise ParseError(ParseReason.OLD_MOBILE_PREFIX, suggestion=suggestion)
    if second in MOBILE_SECOND_DIGITS:
        expected = MOBILE_LENGTH
    elif second == LANDLINE_SECOND_DIGIT:
        expected = LANDLINE_LENGTH
    else:
        raise ParseError(ParseReason.UNKNOWN_PREFIX)
    if len(national) != expected:
        raise ParseError(ParseReason.WRONG_LENGTH)
    return _to_e164(national)


def _to_e164(national: str) -> str:
    return E164_PREFIX + national[1:]


def _national_from_e164(e164: str) -> str:
    """Validate an E.164 number produced by :func:`parse_phone` and give its national form."""
    if not e164.startswith(E164_PREFIX):
        msg = "expected an E.164 Vietnamese number (+84…)"
        raise ValueError(msg)
    return TRUNK_PREFIX + parse_phone(e164)[len(E164_PREFIX) :]
