"""Loading the catalogue from ``content/`` and looking things up in it.

Adding a programme is adding ``content/programmes/<id>.yaml``: nothing in code lists the
programmes, so the menu, the search index and the eligibility engine all pick it up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.core.texts import ContentError, load_yaml
from bot.nlu import SearchDocument
from bot.policy.model import (
    FAQ_SECTION,
    GENERAL_PREFIX,
    SEARCH_SECTIONS,
    TEXT_SECTIONS,
    Figure,
    GeneralEntry,
    Programme,
)
from bot.policy.schema import Issue, parse_general, parse_programme
from bot.policy.yamlines import load_located

PROGRAMMES_DIR = "programmes"
GENERAL_FILE = "general.yaml"
LABELS_FILE = Path("labels") / "policies.yaml"
SECTION_LABEL = "policies.section.{section}"


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """What a search document id points at: a programme section, a FAQ entry or a general
    entry (``programme_id`` is empty for general entries)."""

    doc_id: str
    programme_id: str
    section: str  # a text section, "faq" (with slug) or "general"
    slug: str = ""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All programmes, the general questions and the section names, read-only."""

    programmes: tuple[Programme, ...]
    general: tuple[GeneralEntry, ...]
    section_titles: Mapping[str, str]

    def programme(self, programme_id: str) -> Programme:
        for programme in self.programmes:
            if programme.id == programme_id:
                return programme
        msg = f"no programme {programme_id!r}"
        raise KeyError(msg)

    def has_programme(self, programme_id: str) -> bool:
        return any(p.id == programme_id for p in self.programmes)

    def figure(self, key: str) -> Figure:
        """``"<programme_id>.<figure_name>"`` → the figure; ``KeyError`` if there is none."""
        programme_id, _, name = key.partition(".")
        try:
            return self.programme(programme_id).figures[name]
        except KeyError as exc:
            msg = f"no figure {key!r}"
            raise KeyError(msg) from exc

    def has_figure(self, key: str) -> bool:
        try:
            self.figure(key)
        except KeyError:
            return False
        return True

    def figures(self) -> list[Figure]:
        return [figure for p in self.programmes for figure in p.figures.values()]

    def general_entry(self, slug: str) -> GeneralEntry:
        for entry in self.general:
            if entry.slug == slug:
                return entry
        msg = f"no general entry {slug!r}"
        raise KeyError(msg)

    def section_title(self, section: str) -> str:
        return self.section_titles.get(section, section)

    def resolve(self, doc_id: str) -> DocumentRef:
        """Check a document id and say what it points at; ``KeyError`` if nothing."""
        head, _, rest = doc_id.partition(".")
        if head == GENERAL_PREFIX:
            self.general_entry(rest)
            return DocumentRef(doc_id, "", GENERAL_PREFIX, rest)
        programme = self.programme(head)
        section, _, slug = rest.partition(".")
        if section == FAQ_SECTION and slug:
            programme.faq_entry(slug)
            return DocumentRef(doc_id, programme.id, FAQ_SECTION, slug)
        if section in TEXT_SECTIONS and not slug:
            return DocumentRef(doc_id, programme.id, section)
        msg = f"no document {doc_id!r}"
        raise KeyError(msg)

    def search_documents(self) -> list[SearchDocument]:
        """One document per programme section, FAQ entry and general entry."""
        documents: list[SearchDocument] = []
        for programme in self.programmes:
            for section in SEARCH_SECTIONS:
                documents.append(
                    SearchDocument(
                        id=f"{programme.id}.{section}",
                        title=f"{programme.title}: {self.section_title(section)}",
                        phrases=programme.phrases[section],
                    )
                )
            for entry in programme.faq:
                documents.append(
                    SearchDocument(
                        id=f"{programme.id}.{FAQ_SECTION}.{entry.slug}",
                        title=entry.title,
                        phrases=entry.questions,
                    )
                )
        for general in self.general:
            documents.append(
                SearchDocument(id=general.doc_id, title=general.title, phrases=general.questions)
            )
        return documents


def programme_files(root: Path) -> list[Path]:
    return sorted((root / PROGRAMMES_DIR).glob("*.yaml"))


def _format(path: Path, issues: list[Issue]) -> list[str]:
    return [f"{path}:{issue.line}: {issue.message}" for issue in issues]


def load_catalogue(root: Path) -> Catalogue:
    """Read every programme file, ``general.yaml`` and the section names under ``root``.

    Raises :class:`~bot.core.texts.ContentError` listing every problem (``file:line: message``),
    so a bad edit stops the bot at start-up instead of mid-conversation.
    """
    errors: list[str] = []
    programmes: list[Programme] = []
    for path in programme_files(root):
        try:
            data = load_located(path)
        except ContentError as exc:
            errors.append(str(exc))
            continue
        programme, issues = parse_programme(data, expected_id=path.stem)
        errors.extend(_format(path, issues))
        if programme is not None:
            programmes.append(programme)
    general: tuple[GeneralEntry, ...] = ()
    general_path = root / GENERAL_FILE
    try:
        general, issues = parse_general(load_located(general_path))
        errors.extend(_format(general_path, issues))
    except ContentError as exc:
        errors.append(str(exc))
    known = {p.id for p in programmes}
    for programme in programmes:
        errors.extend(
            f"{root / PROGRAMMES_DIR / programme.id}.yaml: related programme {other!r} is missing"
            for other in programme.related
            if other not in known
        )
    for entry in general:
        errors.extend(
            f"{general_path}: entry {entry.slug!r}: related programme {other!r} does not exist"
            for other in entry.related
            if other not in known
        )
    if errors:
        raise ContentError("\n".join(errors))
    programmes.sort(key=lambda p: (p.order, p.id))
    return Catalogue(tuple(programmes), general, _section_titles(root))


def _section_titles(root: Path) -> dict[str, str]:
    path = root / LABELS_FILE
    labels = load_yaml(path) if path.exists() else {}  # missing labels: content check says so
    titles: dict[str, str] = {}
    for section in (*TEXT_SECTIONS, FAQ_SECTION):
        key = SECTION_LABEL.format(section=section)
        if isinstance(labels, dict) and isinstance(labels.get(key), str):
            titles[section] = labels[key]
    return titles
