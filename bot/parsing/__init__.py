"""Reading what owners type: amounts of money, counts, phone numbers and places.

Every parser raises :class:`ParseError` with a :class:`ParseReason` instead of guessing; the
flow renders ``parsing/<field>_invalid`` with that reason to ask again with an example.
"""

from bot.parsing.errors import ParseError, ParseReason
from bot.parsing.money import MAX_COUNT, MAX_MONEY, parse_money, parse_number
from bot.parsing.phone import format_phone_vn, mask_phone, parse_phone
from bot.parsing.places import (
    AreaReason,
    AreaStatus,
    Gazetteer,
    PlaceMatch,
    ProvinceKind,
    ProvinceMatch,
    RuralStatus,
    UnitKind,
    content_gazetteer,
    load_gazetteer,
    looks_like_former_address,
    rural_area_status,
)

__all__ = [
    "MAX_COUNT",
    "MAX_MONEY",
    "AreaReason",
    "AreaStatus",
    "Gazetteer",
    "ParseError",
    "ParseReason",
    "PlaceMatch",
    "ProvinceKind",
    "ProvinceMatch",
    "RuralStatus",
    "UnitKind",
    "content_gazetteer",
    "format_phone_vn",
    "load_gazetteer",
    "looks_like_former_address",
    "mask_phone",
    "parse_money",
    "parse_number",
    "parse_phone",
    "rural_area_status",
]
