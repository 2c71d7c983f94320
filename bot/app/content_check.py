"""``khuyencong content check``: find content mistakes before owners do.

Staff edit ``content/`` by hand. Each check takes the content root and returns problems as
``file:line: message``; :data:`CHECKS` lists them, and an area adds its own by appending a
function to that tuple. Checks never stop at the first problem, so one run lists them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

import jinja2
from jinja2 import meta, nodes

from bot.core.checks import Check, Problem
from bot.core.content import Content
from bot.core.texts import TEMPLATE_SUFFIX, ContentError
from bot.policy import catalogue as policy_catalogue
from bot.policy.catalogue import GENERAL_FILE, Catalogue, load_catalogue, programme_files
from bot.policy.model import FAQ_SECTION, LABEL_KEYS, TEMPLATE_NAMES, TEXT_SECTIONS
from bot.policy.present import FIGURE_FUNCTION, render_document
from bot.policy.schema import parse_general, parse_programme
from bot.policy.yamlines import LocatedDict, LocatedList, line_of, load_located

#: Where no figure has a date at all, documents are rendered as on this (arbitrary) day.
NO_FIGURES_RENDER_DAY = date(2025, 7, 1)
TEMPLATES_DIR = "templates"
LABELS_DIR = "labels"
#: Sample values stand in for every variable a template expects; iterating gives this many.
SAMPLE_ITEMS = 2


# --- labels -------------------------------------------------------------------------------


def check_labels(root: Path) -> list[Problem]:
    """Every ``labels/*.yaml`` is a mapping of texts, no key twice, the needed keys exist."""
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in sorted((root / LABELS_DIR).glob("*.yaml")):
        try:
            data = load_located(path)
        except ContentError as exc:
            problems.append(_from_error(path, exc))
            continue
        if data is None:
            continue
        if not isinstance(data, LocatedDict):
            problems.append(Problem(path, 1, "expected a mapping of label keys to texts"))
            continue
        for key, line in data.duplicates:
            problems.append(Problem(path, line, f"label {key!r} is given twice"))
        for key, value in data.items():
            line = line_of(data, key)
            if not isinstance(value, str):
                problems.append(Problem(path, line, f"label {key!r} must be a text"))
            if str(key) in seen:
                other = seen[str(key)]
                problems.append(Problem(path, line, f"label {key!r} is also defined in {other}"))
            seen[str(key)] = path
    problems.extend(
        Problem(root / LABELS_DIR, 1, f"missing label {key!r}")
        for key in LABEL_KEYS
        if key not in seen
    )
    return problems


# --- templates ----------------------------------------------------------------------------


class _Sample(int):
    """A stand-in value that behaves like a number, a text, a list, a mapping and a callable,
    so a template can be rendered without knowing what its caller passes."""

    def __new__(cls) -> _Sample:
        return super().__new__(cls, 1)

    def __getattr__(self, name: str) -> _Sample:
        if name.startswith("__"):
            raise AttributeError(name)
        return _Sample()

    def __getitem__(self, key: object) -> _Sample:
        return _Sample()

    def __iter__(self) -> Iterator[_Sample]:
        return iter([_Sample() for _ in range(SAMPLE_ITEMS)])

    def __len__(self) -> int:
        return SAMPLE_ITEMS

    def __call__(self, *args: object, **kwargs: object) -> _Sample:
        return _Sample()


def _template_environment(root: Path) -> jinja2.Environment:
    """The production environment (same filters and globals as the bot)."""
    return Content(root).texts.environment


def _figure_calls(tree: nodes.Template) -> Iterator[tuple[str, int]]:
    """``figure("key")`` calls with a literal key, and their template lines."""
    for call in tree.find_all(nodes.Call):
        target = call.node
        if (
            isinstance(target, nodes.Name)
            and target.name == FIGURE_FUNCTION
            and call.args
            and isinstance(call.args[0], nodes.Const)
            and isinstance(call.args[0].value, str)
        ):
            yield call.args[0].value, call.lineno


def _template_line(exc: BaseException, filename: str) -> int | None:
    """The template line where a render error happened, read from the traceback."""
    line = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def check_templates(root: Path) -> list[Problem]:
    """Every ``templates/**.j2`` parses, uses known filters, and renders with sample values.

    Sample values cannot prove a template right for real data, so only errors that samples
    cannot cause are reported: syntax errors, unknown filters or tests, undefined names,
    missing included templates. Type errors from samples (``money`` of a sample list…) are
    not. Templates the policy screens need must exist, and ``figure("…")`` keys must too.
    """
    folder = root / TEMPLATES_DIR
    try:
        env = _template_environment(root)
    except ContentError as exc:
        return [_from_error(root / TEMPLATES_DIR, exc)]
    problems: list[Problem] = []
    catalogue = _catalogue_or_none(root)
    parsed: dict[str, tuple[Path, nodes.Template]] = {}
    for path in sorted(folder.rglob(f"*{TEMPLATE_SUFFIX}")):
        name = path.relative_to(folder).as_posix()
        source = path.read_text(encoding="utf-8")
        try:
            tree = env.parse(source, name=name, filename=str(path))
            env.compile(tree, name=name, filename=str(path))
        except jinja2.TemplateSyntaxError as exc:
            problems.append(Problem(path, exc.lineno or 1, f"template error: {exc.message}"))
            continue
        parsed[name] = (path, tree)
        if catalogue is not None:
            problems.extend(
                Problem(path, line, f"figure {key!r} does not exist")
                for key, line in _figure_calls(tree)
                if not catalogue.has_figure(key)
            )
    names = set(parsed)
    problems.extend(
        Problem(folder, 1, f"missing template {name}{TEMPLATE_SUFFIX}")
        for name in TEMPLATE_NAMES
        if f"{name}{TEMPLATE_SUFFIX}" not in names
    )
    variables = set(
        itertools.chain.from_iterable(
            meta.find_undeclared_variables(tree) for _, tree in parsed.values()
        )
    )
    sample: dict[str, Any] = {name: _Sample() for name in variables if name not in env.globals}
    for name, (path, _) in parsed.items():
        try:
            env.get_template(name).render(**sample)
        except (jinja2.UndefinedError, jinja2.TemplateNotFound, jinja2.TemplateSyntaxError) as exc:
            line = _template_line(exc, str(path)) or getattr(exc, "lineno", None) or 1
            problems.append(Problem(path, line, f"cannot render: {exc}"))
        except Exception:  # errors caused by sample values, see docstring
            pass
    return problems


# --- policy content -----------------------------------------------------------------------


def _catalogue_or_none(root: Path) -> Catalogue | None:
    try:
        return load_catalogue(root)
    except ContentError:
        return None


def _text_fields(data: LocatedDict) -> Iterator[tuple[str, str, int]]:
    """(what, template source, line of its first text line) for every template field."""
    for section in TEXT_SECTIONS:
        value = data.get(section)
        if isinstance(value, str):
            yield section, value, _first_text_line(data, section, value)
    faq = data.get(FAQ_SECTION)
    if isinstance(faq, LocatedList):
        for entry in faq:
            if isinstance(entry, LocatedDict) and isinstance(entry.get("answer"), str):
                answer = entry["answer"]
                yield (
                    f"faq {entry.get('slug')!r}",
                    answer,
                    _first_text_line(entry, "answer", answer),
                )


def _first_text_line(node: LocatedDict, key: str, value: str) -> int:
    # A block scalar ("key: |") starts on the line after the key.
    return line_of(node, key) + (1 if "\n" in value else 0)


def _check_template_fields(
    path: Path,
    fields: Iterable[tuple[str, str, int]],
    *,
    env: jinja2.Environment,
    catalogue: Catalogue | None,
    programme_id: str,
) -> list[Problem]:
    problems: list[Problem] = []
    for what, source, first_line in fields:
        try:
            tree = env.parse(source)
            env.compile(tree)
        except jinja2.TemplateSyntaxError as exc:
            line = first_line + (exc.lineno or 1) - 1
            problems.append(Problem(path, line, f"{what}: template error: {exc.message}"))
            continue
        if catalogue is None:
            continue
        for key, lineno in _figure_calls(tree):
            full = key if "." in key or not programme_id else f"{programme_id}.{key}"
            if not catalogue.has_figure(full):
                line = first_line + lineno - 1
                problems.append(Problem(path, line, f"{what}: figure {full!r} does not exist"))
    return problems


def _render_dates(catalogue: Catalogue) -> list[date]:
    """Each day a figure changes and the day before the first change: one day per version of
    the figures that owners can see (the check never depends on the day it runs)."""
    starts = {value.effective_from for f in catalogue.figures() for value in f.values}
    if not starts:
        return [NO_FIGURES_RENDER_DAY]
    return sorted({min(starts) - timedelta(days=1), *starts})


def check_policies(root: Path) -> list[Problem]:
    """Programme files and ``general.yaml``: schema, references between files, and every
    answer rendered with real data on every date a figure changes."""
    problems: list[Problem] = []
    try:
        env = _template_environment(root)
    except ContentError as exc:
        return [_from_error(root, exc)]
    located: list[tuple[Path, Any]] = []
    programme_ids: set[str] = set()
    for path in programme_files(root):
        try:
            data = load_located(path)
        except ContentError as exc:
            problems.append(_from_error(path, exc))
            continue
        programme, issues = parse_programme(data, expected_id=path.stem)
        problems.extend(Problem(path, issue.line, issue.message) for issue in issues)
        if programme is not None:
            programme_ids.add(programme.id)
        located.append((path, data))
    general_path = root / GENERAL_FILE
    general_data: Any = None
    try:
        general_data = load_located(general_path)
        _, issues = parse_general(general_data)
        problems.extend(Problem(general_path, issue.line, issue.message) for issue in issues)
    except ContentError as exc:
        problems.append(_from_error(general_path, exc))
    problems.extend(_dangling_programmes(located, general_path, general_data, programme_ids))
    catalogue = _catalogue_or_none(root)
    for path, data in located:
        if isinstance(data, LocatedDict):
            problems.extend(
                _check_template_fields(
                    path,
                    _text_fields(data),
                    env=env,
                    catalogue=catalogue,
                    programme_id=str(data.get("id", path.stem)),
                )
            )
    if isinstance(general_data, LocatedDict) and isinstance(general_data.get("entries"), list):
        fields = [
            (
                f"entry {entry.get('slug')!r}",
                entry["answer"],
                _first_text_line(entry, "answer", entry["answer"]),
            )
            for entry in general_data["entries"]
            if isinstance(entry, LocatedDict) and isinstance(entry.get("answer"), str)
        ]
        problems.extend(
            _check_template_fields(
                general_path, fields, env=env, catalogue=catalogue, programme_id=""
            )
        )
    if catalogue is not None and not problems:
        problems.extend(_render_all(root, catalogue))
    return problems


def _dangling_programmes(
    located: list[tuple[Path, Any]],
    general_path: Path,
    general_data: Any,
    known: set[str],
) -> list[Problem]:
    problems: list[Problem] = []
    nodes_with_related: list[tuple[Path, Any]] = [(path, data) for path, data in located]
    if isinstance(general_data, LocatedDict) and isinstance(general_data.get("entries"), list):
        nodes_with_related += [(general_path, entry) for entry in general_data["entries"]]
    for path, node in nodes_with_related:
        if not isinstance(node, LocatedDict) or not isinstance(node.get("related"), list):
            continue
        related = node["related"]
        for index, other in enumerate(related):
            if other not in known:
                line = line_of(related, index, default=line_of(node, "related"))
                problems.append(Problem(path, line, f"related programme {other!r} does not exist"))
    return problems


def _render_all(root: Path, catalogue: Catalogue) -> list[Problem]:
    """Render every document as owners would see it, on every date a figure changes."""
    texts = Content(root).texts
    problems: list[Problem] = []
    doc_ids = [d.id for d in catalogue.search_documents()]
    doc_ids += [f"{p.id}.details" for p in catalogue.programmes]
    failed: set[str] = set()
    compiled: dict[str, jinja2.Template] = {}
    for doc_id, day in itertools.product(doc_ids, _render_dates(catalogue)):
        if doc_id in failed:
            continue
        try:
            render_document(texts, catalogue, doc_id, day=day, compiled=compiled)
        except Exception as exc:  # report any failure with the document
            ref = catalogue.resolve(doc_id)
            path = (
                root / GENERAL_FILE
                if not ref.programme_id
                else root / policy_catalogue.PROGRAMMES_DIR / f"{ref.programme_id}.yaml"
            )
            problems.append(Problem(path, 1, f"{doc_id} does not render on {day}: {exc}"))
            failed.add(doc_id)
    return problems


def _from_error(path: Path, exc: ContentError) -> Problem:
    """Turn a ``ContentError`` ("file:line: message") into a problem."""
    text = str(exc)
    prefix = f"{path}:"
    if text.startswith(prefix):
        head, _, message = text[len(prefix) :].partition(":")
        if head.isdigit():
            return Problem(path, int(head), message.strip())
    return Problem(path, 1, text)


#: The checks ``khuyencong content check`` runs; add an area's check by appending it here.
def check_eligibility_content(root: Path) -> list[Problem]:
    """The eligibility questionnaire, rules and their data cases (``bot.eligibility``)."""
    from bot.eligibility import check_eligibility

    if _catalogue_or_none(root) is None:
        return []  # the rules need the catalogue; check_policies reports what is wrong with it
    return check_eligibility(root)


def check_leads_content(root: Path) -> list[Problem]:
    """Lead statuses, support kinds and the consent notice (``bot.leads``)."""
    from bot.leads.check import check_leads

    return check_leads(root)


def check_understanding_content(root: Path) -> list[Problem]:
    """Abbreviations, synonyms and stop words, then the question index built from them."""
    from bot.nlu import check_lexicon

    problems = check_lexicon(root)
    catalogue = _catalogue_or_none(root)
    problems += _intent_problems(root, catalogue)
    if not problems and catalogue is not None:  # else check_policies reports
        from handlers.common.questions import load_question_index

        try:
            load_question_index(root)
        except ContentError as exc:
            problems.append(Problem.from_error(exc, default=root / "nlu"))
    return problems


def check_center_content(root: Path) -> list[Problem]:
    """``center.yaml``: no placeholder shown as a fact (``bot.app.center_check``)."""
    from bot.app.center_check import check_center

    return check_center(root)


def check_center_deployment(root: Path) -> list[Problem]:
    """``--deploy``: the Center's contact details are set and confirmed (before going live)."""
    from bot.app.center_check import check_center_ready

    return check_center_ready(root)


def _intent_problems(root: Path, catalogue: Catalogue | None) -> list[Problem]:
    """The intent files, with document and rule names checked when those load."""
    from bot.nlu.intents import check_intents

    documents = [doc.id for doc in catalogue.search_documents()] if catalogue else []
    rules: list[str] = []
    if catalogue is not None:
        try:
            from bot.eligibility import load_eligibility

            rules = list(load_eligibility(root).rules)
        except ContentError:
            rules = []  # check_eligibility_content reports it
    return check_intents(root, document_ids=documents, rule_ids=rules)


CHECKS: tuple[Check, ...] = (
    check_labels,
    check_templates,
    check_policies,
    check_eligibility_content,
    check_leads_content,
    check_understanding_content,
    check_center_content,
)
#: ``khuyencong content check --deploy``: everything above, and nothing left to fill in.
DEPLOY_CHECKS: tuple[Check, ...] = (*CHECKS, check_center_deployment)


def check_content(root: Path, *, checks: Iterable[Check] = CHECKS) -> list[Problem]:
    """Run every check on the content folder ``root``; an empty list means all is well."""
    problems: list[Problem] = []
    for check in checks:
        problems.extend(check(root))
    return problems


__all__ = [
    "CHECKS",
    "DEPLOY_CHECKS",
    "Check",
    "Problem",
    "check_content",
    "check_labels",
    "check_policies",
    "check_templates",
]
