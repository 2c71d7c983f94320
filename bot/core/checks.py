"""The one interface of ``khuyencong content check``: a check reads the content folder and
returns :class:`Problem` objects (file, line, message), never text to be parsed back.

Each domain package provides its own check (``bot.eligibility.check_eligibility``,
``bot.leads.check_leads``, ``bot.nlu.check_lexicon``…); the application layer
(``bot/app/content_check.py``) runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.core.texts import ContentError


@dataclass(frozen=True, slots=True)
class Problem:
    """One content mistake, with the file and the 1-based line to fix."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"

    @classmethod
    def from_error(cls, exc: ContentError, *, default: Path) -> Problem:
        """A loader's ``ContentError`` ("file[:line]: message") as a problem."""
        return cls.from_line(str(exc), default=default)

    @classmethod
    def from_line(cls, text: str, *, default: Path) -> Problem:
        """``file[:line]: message`` as a problem (line 1 when none is given)."""
        location, separator, message = text.partition(": ")
        if not separator:
            return cls(default, 1, text)
        path_text, _, line_text = location.rpartition(":")
        if path_text and line_text.isdigit():
            return cls(Path(path_text), int(line_text), message)
        return cls(Path(location), 1, message)


#: A content check: the content folder in, the problems found out (empty: all is well).
Check = Callable[[Path], list[Problem]]
