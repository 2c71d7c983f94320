"""One clock for the whole runtime: only ``bot/core/clock.py`` may read the system time."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.core.clock import FixedClock, SystemClock, today

ROOT = Path(__file__).resolve().parents[2]
#: Production code: the folders whose "now" must come from the injected clock.
PRODUCTION = ("bot", "handlers", "storage")
CLOCK_MODULE = ROOT / "bot" / "core" / "clock.py"
#: Calls that read the wall clock, as ``owner.attribute`` or a bare name.
WALL_CLOCK_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "localtime"),
    ("time", "gmtime"),
    ("func", "now"),
}
WALL_CLOCK_NAMES = {"utcnow", "localtime", "gmtime", "time_ns"}
#: SQL defaults that would stamp rows with the database server's own clock.
SERVER_CLOCK_WORDS = (
    "current_timestamp",
    "localtimestamp",
    "clock_timestamp",
    "statement_timestamp",
)


def _wall_clock_reads(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute):
            owner = func.value
            owner_name = (
                owner.id
                if isinstance(owner, ast.Name)
                else owner.attr
                if isinstance(owner, ast.Attribute)
                else ""
            )
            if (owner_name, func.attr) in WALL_CLOCK_CALLS:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {owner_name}.{func.attr}()")
        elif isinstance(func, ast.Name) and func.id in WALL_CLOCK_NAMES:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {func.id}()")
    return found


def _production_modules() -> list[Path]:
    return [
        path
        for folder in PRODUCTION
        for path in sorted((ROOT / folder).rglob("*.py"))
        if path != CLOCK_MODULE and ".venv" not in path.parts
    ]


def test_no_production_module_reads_the_wall_clock() -> None:
    offenders = [line for path in _production_modules() for line in _wall_clock_reads(path)]
    assert offenders == [], "read the time from the injected Clock instead:\n" + "\n".join(
        offenders
    )


def test_no_column_defaults_to_the_database_clock() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {word}"
        for path in _production_modules()
        for word in SERVER_CLOCK_WORDS
        if word in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_the_scan_finds_a_wall_clock_read(tmp_path: Path) -> None:
    sample = ROOT / "bot" / "_clock_scan_sample.py"
    sample.write_text(
        "import datetime, time\n"
        "a = datetime.datetime.now()\n"
        "b = time.time()\n"
        "from storage.types import utcnow\n"
        "c = utcnow()\n",
        encoding="utf-8",
    )
    try:
        assert len(_wall_clock_reads(sample)) == 3
    finally:
        sample.unlink()


def test_fixed_clock_stands_still_until_moved() -> None:
    start = datetime(2026, 12, 31, 16, 59, 59, tzinfo=UTC)
    clock = FixedClock(start)
    assert clock.now() == start
    clock.advance(timedelta(seconds=1))
    assert clock.now() == start + timedelta(seconds=1)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    assert today(clock, zone).isoformat() == "2027-01-01"
    clock.set(start)
    assert today(clock, zone).isoformat() == "2026-12-31"


def test_fixed_clock_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        FixedClock(datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().tzinfo is UTC
