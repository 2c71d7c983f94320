"""The one error every parser raises, with a machine reason the flow turns into a re-ask.

The message never contains what the user typed: a phone number or an amount in a log line
is personal data, and the reason code is all a handler needs to pick the right explanation
(``content/templates/parsing/*_invalid.j2`` receive ``reason``).
"""

from __future__ import annotations

from enum import StrEnum


class ParseReason(StrEnum):
    """Why an input was refused; templates branch on these values."""

    EMPTY = "empty"
    NO_NUMBER = "no_number"
    NEGATIVE = "negative"
    ZERO = "zero"
    TOO_LARGE = "too_large"
    FRACTION = "fraction"
    AMBIGUOUS = "ambiguous"
    MALFORMED = "malformed"
    UNEXPECTED_WORD = "unexpected_word"
    WRONG_CURRENCY = "wrong_currency"
    LETTERS = "letters"
    WRONG_LENGTH = "wrong_length"
    TOO_SHORT = "too_short"
    OLD_MOBILE_PREFIX = "old_mobile_prefix"
    UNKNOWN_PREFIX = "unknown_prefix"
    FOREIGN_NUMBER = "foreign_number"


class ParseError(ValueError):
    """Input that cannot be read safely; ``reason`` says why, ``suggestion`` may offer a fix.

    ``suggestion`` is a value the flow may propose back ("Có phải số 0321 234 567?"), e.g.
    the post-2018 form of an old 11-digit mobile number; it is ``None`` when there is none.
    """

    def __init__(self, reason: ParseReason, *, suggestion: str | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.suggestion = suggestion

    def __repr__(self) -> str:
        return f"ParseError({self.reason.value!r})"
