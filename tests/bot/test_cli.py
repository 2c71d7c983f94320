from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.app.cli import build_parser, main

SUBCOMMANDS = [
    ["serve"],
    ["chat"],
    ["db"],
    ["db", "upgrade"],
    ["content"],
    ["content", "check"],
    ["eligibility"],
    ["leads"],
    ["leads", "export"],
    ["privacy"],
    ["privacy", "purge"],
    ["zalo"],
    ["zalo", "key"],
    ["zalo", "authorize"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=" ".join)
def test_every_subcommand_has_help(words: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*words, "--help"])
    assert exit_info.value.code == 0
    assert "usage: khuyencong" in capsys.readouterr().out


def test_a_bad_setting_ends_with_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PORT", "abc")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("khuyencong: Invalid setting PORT")
    assert "\n" not in err
    assert "Traceback" not in err


def test_db_upgrade_creates_the_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    assert main(["db", "upgrade"]) == 0
    assert database.exists()
    assert "up to date" in capsys.readouterr().out


def test_the_console_script_is_installed() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "khuyencong"), "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_content_check_passes_on_the_shipped_content(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["content", "check"]) == 0
    assert "is valid" in capsys.readouterr().out


def test_content_check_reports_file_and_line_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    root = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parents[2] / "content", root)
    template = root / "templates" / "core" / "help.j2"
    template.write_text("Xin chào {{ center.name\n", encoding="utf-8")  # unclosed tag
    cases = root / "eligibility" / "cases" / "common.yaml"
    cases.write_text(
        cases.read_text(encoding="utf-8").replace("likely_eligible", "likely_not_eligible", 1),
        encoding="utf-8",
    )
    assert main(["content", "check", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"{template}:" in out
    assert f"{cases}:" in out
