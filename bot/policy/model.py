"""The policy catalogue: programmes, their texts and their dated, cited figures.

Figures follow the OpenFisca parameter idea: a figure is a list of values, each valid from a
date, each with a legal reference and a ``certain`` flag. The value in force on a day is the
latest one whose start date is on or before that day, so a change of law is a new entry in a
content file, never a code change, and an old answer can be reproduced for any date.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

#: Sections every programme file provides, in the order the bot offers them.
SEARCH_SECTIONS: tuple[str, ...] = (
    "summary",
    "beneficiaries",
    "levels",
    "conditions",
    "documents",
    "procedure",
    "priorities",
)
#: The long explanation is browsable but not a search target of its own (the summary is).
TEXT_SECTIONS: tuple[str, ...] = ("summary", "details", *SEARCH_SECTIONS[1:])
FAQ_SECTION = "faq"
GENERAL_PREFIX = "general"
#: Sections offered as buttons under a programme summary, in this order.
SUMMARY_BUTTONS: tuple[str, ...] = (
    "details",
    "beneficiaries",
    "conditions",
    "levels",
    "documents",
    "procedure",
    "priorities",
    FAQ_SECTION,
)
#: Every label and template the policy screens use (checked by ``khuyencong content check``).
LABEL_KEYS: tuple[str, ...] = (
    *(f"policies.section.{s}" for s in (*TEXT_SECTIONS, FAQ_SECTION)),
    *(f"policies.button.{s}" for s in SUMMARY_BUTTONS),
    "policies.button.eligibility",
    "policies.button.register",
    "policies.button.general",
    "nav.back",
    "nav.menu",
)
TEMPLATE_NAMES: tuple[str, ...] = (
    "policies/figure_value",
    "policies/section",
    "policies/faq_answer",
    "policies/general_answer",
    "policies/menu",
    "policies/faq_list",
    "policies/general_list",
    "policies/not_found",
    "policies/hint",
)


class Unit(StrEnum):
    """What a figure's number means, so it is formatted the right way."""

    RATIO = "ratio"
    VND = "vnd"
    MULTIPLIER = "multiplier"
    COUNT = "count"


class Scope(StrEnum):
    """Which money pot a figure belongs to: central (national) or the city's own (local)."""

    NATIONAL = "national"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class Reference:
    """Where a figure comes from. ``article``/``clause``/``point`` hold the words as written
    in the content file ("Điều 8", "Khoản 4"), so no Vietnamese lives in code."""

    document: str
    article: str = ""
    clause: str = ""
    point: str = ""
    note: str = ""

    def citation(self) -> str:
        """``Khoản 4 Điều 8 Thông tư 28/2018/TT-BTC``: smallest unit first, as Vietnamese
        legal citations read."""
        parts = (self.point, self.clause, self.article, self.document)
        return " ".join(part.strip() for part in parts if part.strip())


@dataclass(frozen=True, slots=True)
class HistoricalValue:
    """An older, superseded figure kept for staff (never shown to owners as current)."""

    value: Decimal
    reference: Reference


@dataclass(frozen=True, slots=True)
class FigureValue:
    """One dated value of a figure."""

    value: Decimal | None
    certain: bool
    effective_from: date
    reference: Reference
    scope: Scope
    #: False when only the year or the signing date of the source is known, not the day it
    #: took effect; the bot then does not print the day.
    effective_from_certain: bool = True
    historical_reference: HistoricalValue | None = None

    @property
    def known(self) -> bool:
        """True when the value may be shown to owners as a number."""
        return self.value is not None and self.certain


@dataclass(frozen=True, slots=True)
class Figure:
    """A named amount, rate or count with its history."""

    key: str
    description: str
    unit: Unit
    scope: Scope
    values: tuple[FigureValue, ...]

    @property
    def programme_id(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1]

    def at(self, day: date) -> FigureValue | None:
        """The value in force on ``day``; ``None`` before the first value applies."""
        current: FigureValue | None = None
        for value in self.values:  # sorted by start date when loaded
            if value.effective_from <= day:
                current = value
            else:
                break
        return current


@dataclass(frozen=True, slots=True)
class FaqEntry:
    """A frequent question: the ways owners phrase it and the answer (a Jinja template)."""

    slug: str
    questions: tuple[str, ...]
    answer: str

    @property
    def title(self) -> str:
        return self.questions[0]


@dataclass(frozen=True, slots=True)
class GeneralEntry:
    """A question not tied to one programme (what khuyến công is, the Center, deadlines…)."""

    slug: str
    title: str
    questions: tuple[str, ...]
    answer: str
    related: tuple[str, ...] = ()

    @property
    def doc_id(self) -> str:
        return f"{GENERAL_PREFIX}.{self.slug}"


@dataclass(frozen=True, slots=True)
class Programme:
    """One support programme as owners see it."""

    id: str
    title: str
    short_title: str
    #: Section name → Jinja template source (see :data:`TEXT_SECTIONS`).
    texts: Mapping[str, str]
    faq: tuple[FaqEntry, ...]
    figures: Mapping[str, Figure]
    #: Section name → how owners ask about it (used by the search index).
    phrases: Mapping[str, tuple[str, ...]]
    related: tuple[str, ...] = ()
    order: int = 0

    def text(self, section: str) -> str:
        return self.texts[section]

    def faq_entry(self, slug: str) -> FaqEntry:
        for entry in self.faq:
            if entry.slug == slug:
                return entry
        msg = f"programme {self.id!r} has no FAQ entry {slug!r}"
        raise KeyError(msg)
