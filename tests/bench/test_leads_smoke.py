"""A tiny run of ``bench/leads.py`` on PostgreSQL: it loads, measures and judges."""

from __future__ import annotations

import pytest

from bench.leads import main

pytestmark = pytest.mark.postgres


async def test_a_tiny_benchmark_run(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        await main(["--leads", "2000"])
    except OSError as exc:  # pragma: no cover - no server outside CI
        pytest.skip(f"PostgreSQL not reachable: {exc}")
    out = capsys.readouterr().out
    for expected in ("list status=new", "text: common name", "statistics", "CSV export 2,000"):
        assert expected in out
