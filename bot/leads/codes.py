"""Lead codes (``KC-2026-000123``) and hand-off references (``HT-42``) shown to people.

Owners read a code over the phone and staff type it in commands, so parsing is lenient
(any case, spaces or no dashes, fewer zeros) and always returns the canonical form.
"""

from __future__ import annotations

import re

LEAD_PREFIX = "KC"
HANDOFF_PREFIX = "HT"
LEAD_ID_DIGITS = 6
YEAR_DIGITS = 4

_LEAD_CODE = re.compile(r"^\s*kc[\s\-_]*(\d{4})[\s\-_]*(\d{1,9})\s*$", re.IGNORECASE)
_HANDOFF_REF = re.compile(r"^\s*(?:ht[\s\-_]*)?(\d{1,9})\s*$", re.IGNORECASE)


def format_lead_code(lead_id: int, year: int) -> str:
    """``KC-<year>-<id on six digits>``; ids beyond a million simply get longer."""
    return f"{LEAD_PREFIX}-{year:0{YEAR_DIGITS}d}-{lead_id:0{LEAD_ID_DIGITS}d}"


def parse_lead_code(text: str) -> str | None:
    """The canonical code for a typed one ("kc2026123" → ``KC-2026-000123``), or None."""
    match = _LEAD_CODE.match(text)
    if match is None:
        return None
    return format_lead_code(int(match.group(2)), int(match.group(1)))


def format_handoff_ref(handoff_id: int) -> str:
    return f"{HANDOFF_PREFIX}-{handoff_id}"


def parse_handoff_ref(text: str) -> int | None:
    """The hand-off id in "HT-42", "ht42" or "42"."""
    match = _HANDOFF_REF.match(text)
    return int(match.group(1)) if match else None
