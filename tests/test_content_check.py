"""``khuyencong content check``: the real content is clean, and broken copies are caught with
the file and line to fix."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.app.content_check import CHECKS, Problem, check_content, check_labels, check_templates
from tests.conftest import CONTENT_DIR


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    return copy


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_real_content_has_no_problems() -> None:
    assert [str(p) for p in check_content(CONTENT_DIR)] == []


def test_problem_prints_file_and_line() -> None:
    assert str(Problem(Path("a.yaml"), 3, "bad")) == "a.yaml:3: bad"


def test_broken_template_reports_its_line(root: Path) -> None:
    path = root / "templates" / "policies" / "faq_list.j2"
    path.write_text("Dòng một\nDòng hai {% if %}\n", encoding="utf-8")
    problems = check_content(root)
    assert [(p.path, p.line) for p in problems if p.path == path] == [(path, 2)]


def test_unknown_filter_and_undefined_name_in_templates(root: Path) -> None:
    bad_filter = root / "templates" / "policies" / "hint.j2"
    bad_filter.write_text("A\n{{ 1|khong_co }}\n", encoding="utf-8")
    bad_include = root / "templates" / "policies" / "not_found.j2"
    bad_include.write_text('A\nB\n{% include "policies/khong_co.j2" %}\n', encoding="utf-8")
    problems = {(p.path, p.line) for p in check_templates(root)}
    assert (bad_filter, 2) in problems
    assert (bad_include, 3) in problems


def test_missing_policy_template_is_reported(root: Path) -> None:
    (root / "templates" / "policies" / "menu.j2").unlink()
    assert any("missing template policies/menu.j2" in p.message for p in check_templates(root))


def test_certain_figure_without_source(root: Path) -> None:
    path = root / "programmes" / "mo_hinh_trinh_dien.yaml"
    ref = "        reference:\n"
    rest = "          article: Điều 8\n          clause: Khoản 2\n          note: Theo hỏi đáp"
    _replace(path, f"{ref}          document: Thông tư 28/2018/TT-BTC\n{rest}", f"{ref}{rest}")
    problems = [p for p in check_content(root) if p.path == path]
    assert problems
    assert "needs a reference with a 'document'" in problems[0].message
    assert problems[0].line == _line(path, "value: 0.3") + 2  # the "reference:" line


def test_dangling_figure_in_faq_answer(root: Path) -> None:
    path = root / "programmes" / "website_tmdt.yaml"
    _replace(
        path, 'Mức cụ thể: {{ figure("national_amount_max") }}.', 'Mức: {{ figure("khong_co") }}.'
    )
    problems = [p for p in check_content(root) if p.path == path]
    assert [p.line for p in problems] == [_line(path, 'figure("khong_co")')]
    assert "figure 'website_tmdt.khong_co' does not exist" in problems[0].message


def test_dangling_figure_from_another_file(root: Path) -> None:
    path = root / "general.yaml"
    _replace(path, "may_moc_thiet_bi.national_rate_max", "may_moc.national_rate_max")
    problems = [p for p in check_content(root) if p.path == path]
    assert [p.line for p in problems] == [_line(path, "may_moc.national_rate_max")]


def test_dangling_programme_reference(root: Path) -> None:
    path = root / "general.yaml"
    _replace(path, "related: [may_moc_thiet_bi]", "related: [may_moc]")
    problems = [p for p in check_content(root) if p.path == path]
    assert [(p.line, p.message) for p in problems] == [
        (_line(path, "related: [may_moc]"), "related programme 'may_moc' does not exist")
    ]


def test_yaml_syntax_error_has_line(root: Path) -> None:
    path = root / "programmes" / "dao_tao_tu_van.yaml"
    _replace(path, "short_title:", "short_title: [")
    problems = [p for p in check_content(root) if p.path == path]
    assert problems and all(p.line > 1 for p in problems)


def test_labels_duplicate_and_missing(root: Path) -> None:
    labels = root / "labels" / "policies.yaml"
    text = labels.read_text(encoding="utf-8").replace('policies.button.faq: "❓ Hỏi đáp"\n', "")
    labels.write_text(text + 'nav.back: "lặp"\n', encoding="utf-8")
    messages = {p.message for p in check_labels(root)}
    assert "missing label 'policies.button.faq'" in messages
    assert any("label 'nav.back' is also defined in" in m for m in messages)


def test_checks_are_a_tuple_others_can_extend(root: Path) -> None:
    def always(path: Path) -> list[Problem]:
        return [Problem(path, 1, "extra")]

    assert isinstance(CHECKS, tuple)
    problems = check_content(root, checks=(*CHECKS, always))
    assert [p.message for p in problems] == ["extra"]
