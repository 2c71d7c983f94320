"""Whether a facility lies outside the Center's own province, by the official unit codes.

An owner from another province (Đồng Tháp, An Giang, TP Hồ Chí Minh…) is served by that
province's khuyến công centre or Sở Công Thương: the verdict names it, using the province
names of the ``vietnam_provinces`` package (the same data as the place search).
"""

from __future__ import annotations

from collections.abc import Mapping

from vietnam_provinces import Province, ProvinceCode

PROVINCE_CODE_FACT = "province_code"
PROVINCE_NAME_FACT = "province_name"


def province_name(code: int) -> str | None:
    """The official name of a province ("Đồng Tháp", "Thành phố Hồ Chí Minh")."""
    try:
        return str(Province.from_code(ProvinceCode(code)).name)
    except ValueError:
        return None


def outside_province(
    facts: Mapping[str, object], *, center_province_code: int | None
) -> str | None:
    """The owner's province name when it is known and not the Center's, else ``None``."""
    code = facts.get(PROVINCE_CODE_FACT)
    if center_province_code is None or not isinstance(code, int) or isinstance(code, bool):
        return None
    if code == center_province_code:
        return None
    named = facts.get(PROVINCE_NAME_FACT)
    return province_name(code) or (named if isinstance(named, str) and named else None)
