"""The programme schema reports each mistake with the line to fix."""

from __future__ import annotations

from pathlib import Path

from bot.policy import parse_programme
from bot.policy.yamlines import load_located
from tests.conftest import FIXTURES

NEW = FIXTURES / "policy" / "new_programme.yaml"


def _issues(tmp_path: Path, text: str) -> list[tuple[int, str]]:
    path = tmp_path / "xu_ly_o_nhiem.yaml"
    path.write_text(text, encoding="utf-8")
    programme, issues = parse_programme(load_located(path), expected_id="xu_ly_o_nhiem")
    assert (programme is None) == bool(issues)
    return [(issue.line, issue.message) for issue in issues]


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_fixture_programme_is_valid(tmp_path: Path) -> None:
    assert _issues(tmp_path, NEW.read_text(encoding="utf-8")) == []


def test_certain_value_without_document(tmp_path: Path) -> None:
    text = NEW.read_text(encoding="utf-8").replace(
        "reference: {document: Văn bản thử nghiệm 1/2020, article: Điều 1}",
        "reference: {article: Điều 1}",
    )
    issues = _issues(tmp_path, text)
    assert (_line(text, "reference: {article"), issues[0][1]) == issues[0]
    assert "needs a reference with a 'document'" in issues[0][1]


def test_bad_date_unit_scope_and_ratio(tmp_path: Path) -> None:
    text = (
        NEW.read_text(encoding="utf-8")
        .replace("from: 2020-01-01", "from: 01/01/2020")
        .replace("unit: vnd", "unit: dong")
        .replace("scope: national", "scope: tinh")
    )
    messages = dict(_issues(tmp_path, text))
    assert "ISO date" in messages[_line(text, "from: 01/01/2020")]
    assert "'unit' must be one of" in messages[_line(text, "unit: dong")]
    assert "'scope' must be one of" in messages[_line(text, "scope: tinh")]


def test_missing_section_unknown_field_and_id_mismatch(tmp_path: Path) -> None:
    text = (
        NEW.read_text(encoding="utf-8")
        .replace("priorities: Vùng khó khăn.\n", "priorites: Vùng khó khăn.\n")
        .replace("id: xu_ly_o_nhiem", "id: khac")
    )
    messages = [m for _, m in _issues(tmp_path, text)]
    assert any("unknown field 'priorites'" in m for m in messages)
    assert any("missing field 'priorities'" in m for m in messages)
    assert any("must match the file name" in m for m in messages)


def test_ratio_above_one_and_unsorted_values(tmp_path: Path) -> None:
    text = (
        NEW.read_text(encoding="utf-8")
        .replace("    unit: vnd\n", "    unit: ratio\n")
        .replace("value: 123000000", "value: 50")
    )
    messages = [m for _, m in _issues(tmp_path, text)]
    assert any("a ratio is between 0 and 1" in m for m in messages)
