"""A tiny run of ``bench/updates.py``: five owners, two updates each, through the real
webhook of our bot and of both PTB baselines, replies checked at the fake Bot API."""

from __future__ import annotations

import json
from pathlib import Path

from bench.updates import (
    SCENARIO,
    Options,
    ProcessService,
    actions_for,
    render,
    run_benchmark,
    write_results,
)

USERS = 5
UPDATES = 2


async def test_a_tiny_run_measures_ours_and_both_baselines(tmp_path: Path) -> None:
    options = Options(
        users=(USERS,),
        updates=UPDATES,
        databases=("sqlite",),
        concurrency=4,
        isolated=False,
        baselines=True,
        log_level="WARNING",
        results_dir=tmp_path,
    )
    lines: list[str] = []
    report = await run_benchmark(options, say=lines.append)

    systems = [(run.system, run.database) for run in report.runs]
    assert systems == [("ours", "sqlite"), ("ptb-memory", "-"), ("ptb-pickle", "pickle")]
    for run in report.runs:
        assert run.updates == USERS * UPDATES
        assert run.errors == 0
        assert run.api_errors == 0
        assert run.expected_messages > 0
        assert run.sent_messages == run.expected_messages  # every reply reached the fake
        assert run.taps == USERS  # the second update is a button press
        assert run.taps_acknowledged == run.taps  # in the webhook's answer, or by a call
        assert run.throughput > 0
        assert 0 < run.p50_ms <= run.p95_ms <= run.p99_ms
    assert set(report.ratios) == {"ours/ptb-memory sqlite@5", "ours/ptb-pickle sqlite@5"}
    assert report.targets["no errors, every reply sent, every tap answered sqlite@5"]
    assert "ours" in render(report)

    saved = json.loads(write_results(report, tmp_path).read_text(encoding="utf-8"))
    assert [run["system"] for run in saved["runs"]] == ["ours", "ptb-memory", "ptb-pickle"]


def test_the_path_repeats_without_start_past_ten_steps() -> None:
    path = actions_for(len(SCENARIO) + 2)
    assert path[: len(SCENARIO)] == SCENARIO
    assert path[len(SCENARIO) :] == SCENARIO[1:3]


SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "updates.py"


async def test_a_server_in_its_own_process_answers_commands(tmp_path: Path) -> None:
    script = SCRIPT
    fake = ProcessService(script, "fake", {}, log=tmp_path / "fake.log")
    started = await fake.start()
    try:
        assert started["base_url"].startswith("http://127.0.0.1:")
        assert (await fake.command("counts", {}))["counts"] == {}
    finally:
        await fake.stop()
    assert fake.process is not None
    assert fake.process.returncode == 0
