"""The schema of programme and general-FAQ files: checked and turned into model objects.

One pass both validates and builds, so the loader (which refuses bad content at start-up)
and ``khuyencong content check`` (which lists every problem with its line) can never
disagree about what a valid file is.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core.messages import MAX_CHOICE_ID_BYTES
from bot.policy.model import (
    FAQ_SECTION,
    SEARCH_SECTIONS,
    TEXT_SECTIONS,
    FaqEntry,
    Figure,
    FigureValue,
    GeneralEntry,
    HistoricalValue,
    Programme,
    Reference,
    Scope,
    Unit,
)
from bot.policy.yamlines import LocatedDict, line_of

IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]*$")
#: The longest choice id built from a programme id and a FAQ slug.
_LONGEST_CHOICE = "policies:doc:{programme}.faq.{slug}"
_SECTION_CHOICE = "policies:sec:{programme}:beneficiaries"
REFERENCE_KEYS = frozenset({"document", "article", "clause", "point", "note"})
VALUE_KEYS = frozenset(
    {"from", "value", "certain", "from_certain", "reference", "historical_reference"}
)
FIGURE_KEYS = frozenset({"description", "unit", "scope", "values"})
FAQ_KEYS = frozenset({"slug", "questions", "answer"})
GENERAL_KEYS = frozenset({"slug", "title", "questions", "answer", "related"})
PROGRAMME_KEYS = frozenset(
    {"id", "title", "short_title", "order", "related", "faq", "figures", "phrases"}
    | set(TEXT_SECTIONS)
)
#: Button labels must stay short enough for two per row on a phone.
MAX_SHORT_TITLE = 40


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a content file (1-based line)."""

    line: int
    message: str


class _Collector:
    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def add(self, line: int, message: str) -> None:
        self.issues.append(Issue(line, message))

    def unknown_keys(self, node: LocatedDict, allowed: frozenset[str], where: str) -> None:
        for key in node:
            if key not in allowed:
                self.add(line_of(node, key), f"{where}: unknown field {key!r}")
        for key, line in node.duplicates:
            self.add(line, f"{where}: field {key!r} is given twice")

    def text(self, node: LocatedDict, key: str, where: str, *, required: bool = True) -> str:
        value = node.get(key)
        if value is None:
            if required:
                self.add(line_of(node, key), f"{where}: missing field {key!r}")
            return ""
        if not isinstance(value, str) or not value.strip():
            self.add(line_of(node, key), f"{where}: {key!r} must be a non-empty text")
            return ""
        return value

    def identifier(self, node: LocatedDict, key: str, where: str) -> str:
        value = self.text(node, key, where)
        if value and not IDENTIFIER.match(value):
            self.add(
                line_of(node, key),
                f"{where}: {key!r} must be lower-case ASCII letters, digits and _: {value!r}",
            )
            return ""
        return value

    def text_list(
        self, node: LocatedDict, key: str, where: str, *, required: bool = True
    ) -> list[str]:
        value = node.get(key)
        if value is None:
            if required:
                self.add(line_of(node, key), f"{where}: missing field {key!r}")
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.add(line_of(node, key), f"{where}: {key!r} must be a list of texts")
            return []
        if required and not value:
            self.add(line_of(node, key), f"{where}: {key!r} must not be empty")
        return [str(v) for v in value]

    def mapping(
        self, node: Any, key: str, where: str, *, required: bool = True
    ) -> LocatedDict | None:
        value = node.get(key) if isinstance(node, LocatedDict) else None
        if value is None:
            if required:
                self.add(line_of(node, key), f"{where}: missing field {key!r}")
            return None
        if not isinstance(value, LocatedDict):
            self.add(line_of(node, key), f"{where}: {key!r} must be a mapping")
            return None
        return value


def _as_date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _reference(c: _Collector, node: Any, where: str) -> Reference | None:
    if not isinstance(node, LocatedDict):
        return None
    c.unknown_keys(node, REFERENCE_KEYS, where)
    fields: dict[str, str] = {}
    for key in REFERENCE_KEYS:
        raw = node.get(key)
        if raw is None:
            continue
        if not isinstance(raw, str):
            c.add(line_of(node, key), f"{where}: {key!r} must be a text")
            continue
        fields[key] = raw.strip()
    fields.setdefault("document", "")  # only certain values must name a document
    return Reference(**fields)


def _figure_value(
    c: _Collector, node: Any, *, where: str, unit: Unit | None, scope: Scope | None
) -> FigureValue | None:
    if not isinstance(node, LocatedDict):
        c.add(line_of(node), f"{where}: each value must be a mapping")
        return None
    c.unknown_keys(node, VALUE_KEYS, where)
    start = _as_date(node.get("from"))
    if start is None:
        c.add(line_of(node, "from"), f"{where}: 'from' must be an ISO date (YYYY-MM-DD)")
    raw = node.get("value")
    amount = None if raw is None else _as_decimal(raw)
    if raw is not None and amount is None:
        c.add(line_of(node, "value"), f"{where}: 'value' must be a number or null")
    certain = node.get("certain")
    if not isinstance(certain, bool):
        c.add(line_of(node, "certain"), f"{where}: 'certain' must be true or false")
        certain = False
    from_certain = node.get("from_certain", True)
    if not isinstance(from_certain, bool):
        c.add(line_of(node, "from_certain"), f"{where}: 'from_certain' must be true or false")
        from_certain = True
    ref_node = c.mapping(node, "reference", where)
    reference = _reference(c, ref_node, f"{where} reference")
    if certain and amount is None:
        c.add(line_of(node, "certain"), f"{where}: a certain value needs a number")
    if certain and (reference is None or not reference.document):
        c.add(
            line_of(node, "reference"),
            f"{where}: a certain value needs a reference with a 'document'",
        )
    if amount is not None and amount < 0:
        c.add(line_of(node, "value"), f"{where}: 'value' must not be negative")
    if amount is not None and unit is Unit.RATIO and amount > 1:
        c.add(line_of(node, "value"), f"{where}: a ratio is between 0 and 1 (0.5 = 50%)")
    historical = None
    hist_node = node.get("historical_reference")
    if hist_node is not None:
        if not isinstance(hist_node, LocatedDict):
            c.add(line_of(node, "historical_reference"), f"{where}: must be a mapping")
        else:
            hist_where = f"{where} historical_reference"
            hist_value = _as_decimal(hist_node.get("value"))
            if hist_value is None:
                c.add(line_of(hist_node, "value"), f"{hist_where}: 'value' must be a number")
            without_value = LocatedDict({k: v for k, v in hist_node.items() if k != "value"})
            without_value.line = hist_node.line
            without_value.key_lines = hist_node.key_lines
            without_value.duplicates = hist_node.duplicates
            hist_ref = _reference(c, without_value, hist_where)
            if hist_ref is not None and not hist_ref.document:
                c.add(line_of(hist_node), f"{hist_where}: needs a 'document'")
            if hist_value is not None and hist_ref is not None:
                historical = HistoricalValue(hist_value, hist_ref)
    if start is None or reference is None or scope is None:
        return None
    return FigureValue(
        value=amount,
        certain=certain,
        effective_from=start,
        reference=reference,
        scope=scope,
        effective_from_certain=from_certain,
        historical_reference=historical,
    )


def _figure(c: _Collector, key: str, node: Any, *, line: int) -> Figure | None:
    where = f"figure {key.split('.', 1)[1]!r}"
    if not isinstance(node, LocatedDict):
        c.add(line, f"{where}: must be a mapping")
        return None
    c.unknown_keys(node, FIGURE_KEYS, where)
    description = c.text(node, "description", where)
    unit = scope = None
    try:
        unit = Unit(str(node.get("unit")))
    except ValueError:
        c.add(line_of(node, "unit"), f"{where}: 'unit' must be one of {', '.join(Unit)}")
    try:
        scope = Scope(str(node.get("scope")))
    except ValueError:
        c.add(line_of(node, "scope"), f"{where}: 'scope' must be one of {', '.join(Scope)}")
    raw_values = node.get("values")
    if not isinstance(raw_values, list) or not raw_values:
        c.add(line_of(node, "values"), f"{where}: 'values' must be a non-empty list")
        return None
    values: list[FigureValue] = []
    for index, raw in enumerate(raw_values):
        value = _figure_value(c, raw, where=f"{where} value {index + 1}", unit=unit, scope=scope)
        if value is not None:
            values.append(value)
    for previous, current in itertools.pairwise(values):
        if current.effective_from <= previous.effective_from:
            c.add(
                line_of(node, "values"),
                f"{where}: values must be listed by increasing 'from' date",
            )
            break
    if unit is None or scope is None or len(values) != len(raw_values):
        return None
    return Figure(key, description, unit, scope, tuple(values))


def _faq(c: _Collector, node: Any, programme_id: str) -> tuple[FaqEntry, ...]:
    if node is None:
        return ()
    if not isinstance(node, list):
        c.add(line_of(node), "'faq' must be a list")
        return ()
    entries: list[FaqEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(node):
        where = f"faq entry {index + 1}"
        if not isinstance(raw, LocatedDict):
            c.add(line_of(node, index), f"{where}: must be a mapping")
            continue
        c.unknown_keys(raw, FAQ_KEYS, where)
        slug = c.identifier(raw, "slug", where)
        questions = c.text_list(raw, "questions", where)
        answer = c.text(raw, "answer", where)
        if slug in seen:
            c.add(line_of(raw, "slug"), f"{where}: slug {slug!r} is used twice")
        seen.add(slug)
        choice = _LONGEST_CHOICE.format(programme=programme_id, slug=slug)
        if slug and len(choice.encode()) > MAX_CHOICE_ID_BYTES:
            c.add(line_of(raw, "slug"), f"{where}: slug too long for a button id ({choice!r})")
        if slug and questions and answer:
            entries.append(FaqEntry(slug, tuple(questions), answer))
    return tuple(entries)


def parse_programme(data: Any, *, expected_id: str) -> tuple[Programme | None, list[Issue]]:
    """Validate one programme file; return the programme (``None`` if invalid) and issues."""
    c = _Collector()
    if not isinstance(data, LocatedDict):
        c.add(1, "a programme file must be a mapping")
        return None, c.issues
    c.unknown_keys(data, PROGRAMME_KEYS, "programme")
    programme_id = c.identifier(data, "id", "programme")
    if programme_id and programme_id != expected_id:
        c.add(line_of(data, "id"), f"id {programme_id!r} must match the file name {expected_id!r}")
    if programme_id:
        choice = _SECTION_CHOICE.format(programme=programme_id)
        if len(choice.encode()) > MAX_CHOICE_ID_BYTES:
            c.add(line_of(data, "id"), f"id too long for button ids ({choice!r})")
    title = c.text(data, "title", "programme")
    short_title = c.text(data, "short_title", "programme")
    if len(short_title) > MAX_SHORT_TITLE:
        c.add(
            line_of(data, "short_title"), f"short_title longer than {MAX_SHORT_TITLE} characters"
        )
    order = data.get("order", 0)
    if isinstance(order, bool) or not isinstance(order, int):
        c.add(line_of(data, "order"), "'order' must be a whole number")
        order = 0
    texts = {section: c.text(data, section, "programme") for section in TEXT_SECTIONS}
    related = c.text_list(data, "related", "programme", required=False)
    faq = _faq(c, data.get(FAQ_SECTION), programme_id)
    figures: dict[str, Figure] = {}
    figures_node = c.mapping(data, "figures", "programme", required=False)
    if figures_node is not None:
        for name, raw in figures_node.items():
            if not isinstance(name, str) or not IDENTIFIER.match(name):
                c.add(line_of(figures_node, name), f"figure name {name!r} must be an identifier")
                continue
            figure = _figure(c, f"{programme_id}.{name}", raw, line=line_of(figures_node, name))
            if figure is not None:
                figures[name] = figure
    phrases: dict[str, tuple[str, ...]] = {}
    phrases_node = c.mapping(data, "phrases", "programme")
    if phrases_node is not None:
        c.unknown_keys(phrases_node, frozenset(SEARCH_SECTIONS), "phrases")
        for section in SEARCH_SECTIONS:
            phrases[section] = tuple(c.text_list(phrases_node, section, "phrases"))
    if c.issues:
        return None, c.issues
    programme = Programme(
        id=programme_id,
        title=title,
        short_title=short_title,
        texts=texts,
        faq=faq,
        figures=figures,
        phrases=phrases,
        related=tuple(related),
        order=order,
    )
    return programme, []


def parse_general(data: Any) -> tuple[tuple[GeneralEntry, ...], list[Issue]]:
    """Validate ``general.yaml`` (a mapping with an ``entries`` list)."""
    c = _Collector()
    if not isinstance(data, LocatedDict) or not isinstance(data.get("entries"), list):
        c.add(line_of(data), "general.yaml must be a mapping with an 'entries' list")
        return (), c.issues
    c.unknown_keys(data, frozenset({"entries"}), "general")
    node = data["entries"]
    entries: list[GeneralEntry] = []
    seen: set[str] = set()
    for index, raw in enumerate(node):
        where = f"entry {index + 1}"
        if not isinstance(raw, LocatedDict):
            c.add(line_of(node, index), f"{where}: must be a mapping")
            continue
        c.unknown_keys(raw, GENERAL_KEYS, where)
        slug = c.identifier(raw, "slug", where)
        if slug in seen:
            c.add(line_of(raw, "slug"), f"{where}: slug {slug!r} is used twice")
        seen.add(slug)
        if slug and len(f"policies:doc:general.{slug}".encode()) > MAX_CHOICE_ID_BYTES:
            c.add(line_of(raw, "slug"), f"{where}: slug too long for a button id")
        title = c.text(raw, "title", where)
        questions = c.text_list(raw, "questions", where)
        answer = c.text(raw, "answer", where)
        related = c.text_list(raw, "related", where, required=False)
        entries.append(GeneralEntry(slug, title, tuple(questions), answer, tuple(related)))
    if c.issues:
        return (), c.issues
    return tuple(entries), []
