"""Masking personal data out of a message before it is kept for staff review.

What owners put in a question that could identify them: phone numbers ("sđt 0912 345 678"),
e-mail addresses, ID or account numbers (long digit runs), web links, and names ("tôi tên
Lan", "em là Nguyễn Văn Hùng", or any run of capitalised words after the first word). Each
becomes a placeholder, so "ghi danh giúp tôi, sđt 0912345678" is kept as
"ghi danh giúp tôi, sđt <số>": the wording staff need, none of the person.
"""

from __future__ import annotations

import re

PHONE = "<số>"
EMAIL = "<email>"
LINK = "<link>"
NAME = "<tên>"

_EMAIL = re.compile(r"\S+@\S+")
_LINK = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
#: Phone and other long numbers, with the spaces, dots and dashes people put in them.
_LONG_NUMBER = re.compile(r"\+?\d(?:[\s.\-]?\d){6,}")
#: A name introduced as one ("tên là Lan", "tôi là Hùng", "em tên Mai"); the name is the
#: following words up to punctuation (at most four).
_INTRODUCED = re.compile(
    r"(?i)\b(t[eê]n(?:\s+l[aà])?|t[oô]i\s+l[aà]|em\s+l[aà]|anh\s+l[aà]|ch[iị]\s+l[aà]|"
    r"m[iì]nh\s+l[aà]|tui\s+l[aà])\s+((?:[^\W\d_]+\s*){1,4})"
)
#: Two or more capitalised words in a row, not at the start: "Nguyễn Văn Hùng".
_CAPITALISED_RUN = re.compile(r"(?<=\S\s)(?:[A-ZÀ-Ỹ][^\W\d_]*\s+)+[A-ZÀ-Ỹ][^\W\d_]*")


def mask_personal_data(text: str) -> str:
    """``text`` with phone numbers, e-mails, links, long numbers and names replaced."""
    masked = _EMAIL.sub(EMAIL, text)
    masked = _LINK.sub(LINK, masked)
    masked = _LONG_NUMBER.sub(PHONE, masked)
    masked = _INTRODUCED.sub(lambda match: f"{match.group(1)} {NAME} ", masked)
    masked = _CAPITALISED_RUN.sub(NAME, masked)
    return " ".join(masked.split())
