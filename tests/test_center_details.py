"""Issue 15 (16): the Center's details are never shown as placeholders.

``khuyencong content check`` refuses placeholder text in ``center.yaml`` (naming the file and
field); ``--deploy`` also refuses details still empty or unconfirmed; until a detail is set,
owners read "Hỏi cán bộ" instead.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from bot.app.cli import main
from bot.app.content_check import CHECKS, DEPLOY_CHECKS, check_content
from bot.core.content import Content
from bot.core.texts import Texts
from bot.leads import load_notices
from tests.conftest import CONTENT_DIR

CENTER = "center.yaml"
PLACEHOLDER = "(cán bộ Trung tâm cập nhật số điện thoại)"
REAL = {
    "address": "Số 1 đường Ví Dụ, phường Ninh Kiều, thành phố Cần Thơ",
    "phone": "0292 3 000 000",
    "email": "khuyencong@example.vn",
}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    copy = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, copy)
    return copy


def _set(root: Path, **values: object) -> Path:
    path = root / CENTER
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.update(values)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _trung_tam_answer(content: Content) -> str:
    general = yaml.safe_load((content.root / "general.yaml").read_text(encoding="utf-8"))
    [entry] = [entry for entry in general["entries"] if entry["slug"] == "trung_tam"]
    return content.texts.render_string(entry["answer"])


def test_shipped_center_has_no_placeholder_and_the_dev_check_passes() -> None:
    assert check_content(CONTENT_DIR, checks=CHECKS) == []


@pytest.mark.parametrize("field", ["address", "phone", "email"])
def test_a_placeholder_fails_the_check_naming_file_and_field(root: Path, field: str) -> None:
    path = _set(root, **{field: PLACEHOLDER})
    problems = [p for p in check_content(root) if p.path == path]
    assert len(problems) == 1
    assert problems[0].message.startswith(f"{field}: ")
    assert "placeholder" in problems[0].message
    assert str(problems[0]).startswith(f"{path}:")


def test_a_malformed_phone_or_email_fails(root: Path) -> None:
    path = _set(root, phone="gọi sau", email="khuyencong.vn")
    messages = [p.message for p in check_content(root) if p.path == path]
    assert any(m.startswith("phone:") for m in messages)
    assert any(m.startswith("email:") for m in messages)


def test_deploy_check_refuses_unset_and_unconfirmed_details(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["content", "check", "--root", str(root)]) == 0
    assert main(["content", "check", "--deploy", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    for field in ("address", "phone", "email"):
        assert f"{CENTER}:" in out and f"{field}: not set" in out
    assert "name: still listed under to_confirm" in out
    _set(root, **REAL, to_confirm=[])
    assert check_content(root, checks=DEPLOY_CHECKS) == []
    assert main(["content", "check", "--deploy", "--root", str(root)]) == 0
    assert "ready to go live" in capsys.readouterr().out


def test_owners_read_hoi_can_bo_until_a_detail_is_set() -> None:
    content = Content(CONTENT_DIR)
    assert content.center.phone == ""  # nothing invented in the shipped content
    answer = _trung_tam_answer(content)
    assert "Hỏi cán bộ" in answer
    assert "cập nhật" not in answer and "None" not in answer
    notice = content.texts.render_string(load_notices(CONTENT_DIR).lead.text, retention_months=24)
    assert "Hỏi cán bộ" in notice and "gọi Trung tâm" not in notice
    for template in ("privacy/refused", "core/not_available_yet"):
        text = content.texts.render(template)
        assert "Hỏi cán bộ" in text and "gọi" not in text, template


def test_a_set_detail_is_shown(root: Path) -> None:
    _set(root, **REAL)
    content = Content(root)
    answer = _trung_tam_answer(content)
    assert REAL["phone"] in answer and REAL["address"] in answer
    notice = content.texts.render_string(load_notices(root).lead.text, retention_months=24)
    assert f"gọi Trung tâm: {REAL['phone']}" in notice


def test_an_empty_hours_value_leaves_no_empty_brackets() -> None:
    center = replace(Content(CONTENT_DIR).center, hours="")
    texts = Texts(CONTENT_DIR, globals_={"center": center})
    assert "()" not in texts.render("handoff/opened", ref="H-1")
    assert "Hỏi cán bộ" in texts.render("core/help")
