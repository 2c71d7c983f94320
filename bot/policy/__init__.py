"""The policy catalogue: support programmes as dated, cited content.

Programmes live in ``content/programmes/<id>.yaml`` and the general questions in
``content/general.yaml``; :func:`load_catalogue` reads and validates them, and
:func:`render_document` turns any search document into the text owners see on a given day.
"""

from bot.nlu import SearchDocument
from bot.policy.catalogue import Catalogue, DocumentRef, load_catalogue
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
from bot.policy.present import (
    DocumentCache,
    FigureView,
    RenderedAnswer,
    Source,
    figure_view,
    render_document,
)
from bot.policy.schema import Issue, parse_general, parse_programme

__all__ = [
    "FAQ_SECTION",
    "SEARCH_SECTIONS",
    "TEXT_SECTIONS",
    "Catalogue",
    "DocumentCache",
    "DocumentRef",
    "FaqEntry",
    "Figure",
    "FigureValue",
    "FigureView",
    "GeneralEntry",
    "HistoricalValue",
    "Issue",
    "Programme",
    "Reference",
    "RenderedAnswer",
    "Scope",
    "SearchDocument",
    "Source",
    "Unit",
    "figure_view",
    "load_catalogue",
    "parse_general",
    "parse_programme",
    "render_document",
]
