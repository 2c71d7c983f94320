"""Rendering programme texts, FAQ answers and general answers for one day.

Texts in content files are Jinja templates that may call ``figure("name")``. The call
returns the value in force on the day asked and records it, so every answer that states a
figure can end with its source and start date without the author having to remember it.
An uncertain or missing value prints as the "to be confirmed by staff" text from
``templates/policies/figure_value.j2``, never as a number.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

import jinja2

from bot.core.texts import Texts
from bot.policy.catalogue import Catalogue, DocumentRef
from bot.policy.model import FAQ_SECTION, GENERAL_PREFIX, Figure, Programme, Scope, Unit

FIGURE_TEMPLATE = "policies/figure_value"
SECTION_TEMPLATE = "policies/section"
FAQ_TEMPLATE = "policies/faq_answer"
GENERAL_TEMPLATE = "policies/general_answer"
#: The name content templates call to read a figure.
FIGURE_FUNCTION = "figure"


@dataclass(frozen=True, slots=True)
class FigureView:
    """A figure as one answer shows it: the value in force on the day, formatted."""

    key: str
    description: str
    unit: Unit
    scope: Scope
    known: bool
    value: Decimal | None
    effective_from: date | None
    effective_from_certain: bool
    citation: str
    #: The formatted value, or the "cán bộ Trung tâm sẽ xác nhận" text.
    text: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def number(self) -> str:
        """The bare number with a Vietnamese decimal comma (``1,5``); empty if unknown."""
        if self.value is None:
            return ""
        return f"{self.value.normalize():f}".replace(".", ",")


@dataclass(frozen=True, slots=True)
class Source:
    """One line of "Nguồn: …, áp dụng từ …" under an answer."""

    citation: str
    effective_from: date
    effective_from_certain: bool


@dataclass(frozen=True, slots=True)
class RenderedAnswer:
    """A rendered document and the figures it used."""

    ref: DocumentRef
    text: str
    figures: tuple[FigureView, ...] = ()

    @property
    def states_figure(self) -> bool:
        return any(view.known for view in self.figures)


@dataclass
class FigureLookup:
    """The ``figure(...)`` function given to content templates; remembers what it served."""

    catalogue: Catalogue
    texts: Texts
    day: date
    programme_id: str = ""
    used: list[FigureView] = field(default_factory=list)

    def __call__(self, key: str) -> FigureView:
        full_key = key if "." in key or not self.programme_id else f"{self.programme_id}.{key}"
        view = figure_view(self.catalogue.figure(full_key), self.day, self.texts)
        if all(seen.key != view.key for seen in self.used):
            self.used.append(view)
        return view

    def sources(self) -> list[Source]:
        """Distinct sources of the figures stated as numbers, in order of first use."""
        sources: list[Source] = []
        for view in self.used:
            if not view.known or view.effective_from is None:
                continue
            source = Source(view.citation, view.effective_from, view.effective_from_certain)
            if source not in sources:
                sources.append(source)
        return sources


def figure_view(figure: Figure, day: date, texts: Texts) -> FigureView:
    """``figure`` as in force on ``day``, formatted by ``templates/policies/figure_value.j2``."""
    current = figure.at(day)
    view = FigureView(
        key=figure.key,
        description=figure.description,
        unit=figure.unit,
        scope=figure.scope,
        known=current is not None and current.known,
        value=current.value if current is not None and current.known else None,
        effective_from=current.effective_from if current is not None else None,
        effective_from_certain=current.effective_from_certain if current is not None else True,
        citation=current.reference.citation() if current is not None else "",
    )
    text = texts.render(FIGURE_TEMPLATE, f=view)
    return FigureView(**{**_fields(view), "text": text})


def _fields(view: FigureView) -> dict[str, Any]:
    return {name: getattr(view, name) for name in FigureView.__dataclass_fields__}


def render_source(
    texts: Texts,
    catalogue: Catalogue,
    source: str,
    *,
    day: date,
    programme: Programme | None = None,
    compiled: dict[str, jinja2.Template] | None = None,
) -> tuple[str, FigureLookup]:
    """Render one template held in a content file; return the text and the lookup used.

    ``compiled`` lets a caller rendering many documents (the content check) compile each
    source once; it behaves exactly like :meth:`Texts.render_string`.
    """
    lookup = FigureLookup(catalogue, texts, day, programme.id if programme else "")
    context: dict[str, Any] = {FIGURE_FUNCTION: lookup, "today": day}
    if programme is not None:
        context["programme"] = programme
    if compiled is None:
        return texts.render_string(source, **context), lookup
    template = compiled.get(source)
    if template is None:
        template = compiled[source] = texts.environment.from_string(source)
    return template.render(**context).strip(), lookup


def render_document(
    texts: Texts,
    catalogue: Catalogue,
    doc_id: str,
    *,
    day: date,
    compiled: dict[str, jinja2.Template] | None = None,
) -> RenderedAnswer:
    """Render any search document (``<programme>.<section>``, ``<programme>.faq.<slug>``,
    ``general.<slug>``) as the owner sees it on ``day``. ``KeyError`` for unknown ids."""
    ref = catalogue.resolve(doc_id)
    if ref.section == GENERAL_PREFIX:
        entry = catalogue.general_entry(ref.slug)
        body, lookup = render_source(texts, catalogue, entry.answer, day=day, compiled=compiled)
        text = texts.render(GENERAL_TEMPLATE, entry=entry, body=body, **_notes(lookup), today=day)
        return RenderedAnswer(ref, text, tuple(lookup.used))
    programme = catalogue.programme(ref.programme_id)
    if ref.section == FAQ_SECTION:
        entry_faq = programme.faq_entry(ref.slug)
        body, lookup = render_source(
            texts, catalogue, entry_faq.answer, day=day, programme=programme
        )
        text = texts.render(
            FAQ_TEMPLATE,
            programme=programme,
            question=entry_faq.title,
            body=body,
            **_notes(lookup),
            today=day,
        )
        return RenderedAnswer(ref, text, tuple(lookup.used))
    body, lookup = render_source(
        texts,
        catalogue,
        programme.text(ref.section),
        day=day,
        programme=programme,
        compiled=compiled,
    )
    text = texts.render(
        SECTION_TEMPLATE,
        programme=programme,
        section=ref.section,
        heading=catalogue.section_title(ref.section),
        body=body,
        **_notes(lookup),
        today=day,
    )
    return RenderedAnswer(ref, text, tuple(lookup.used))


def _notes(lookup: FigureLookup) -> dict[str, Any]:
    """What the wrapper templates need to add the source lines and the caveats."""
    return {
        "sources": lookup.sources(),
        "states_figure": any(view.known for view in lookup.used),
        "unconfirmed": any(not view.known for view in lookup.used),
    }


#: Rendered documents kept by :class:`DocumentCache` (a few hundred documents × a day or two).
DOCUMENT_CACHE_SIZE = 2048


class DocumentCache:
    """Rendered documents by (id, day).

    Content is read-only while the bot runs and a document reads the same all day, while
    rendering one (its cited figures, each through a template) is a large share of a
    policy step's CPU. Unknown ids raise ``KeyError`` as :func:`render_document` does and
    are not kept.
    """

    def __init__(self, texts: Texts, catalogue: Catalogue, *, size: int = DOCUMENT_CACHE_SIZE):
        self._texts = texts
        self._catalogue = catalogue
        self._size = size
        self._rendered: OrderedDict[tuple[str, date], RenderedAnswer] = OrderedDict()

    def render(self, doc_id: str, *, day: date) -> RenderedAnswer:
        key = (doc_id, day)
        answer = self._rendered.get(key)
        if answer is not None:
            self._rendered.move_to_end(key)
            return answer
        answer = render_document(self._texts, self._catalogue, doc_id, day=day)
        self._rendered[key] = answer
        if len(self._rendered) > self._size:
            self._rendered.popitem(last=False)
        return answer
