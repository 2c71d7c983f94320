"""A tiny run of ``bench/updates.py``: five owners, two updates each, on both load mixes,
through the real webhook of our bot and of the PTB baselines (PTB's own webhook server, and the
awaiting route), replies checked at the fake Bot API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.updates import (
    BASELINE_NAMES,
    SCENARIO,
    Options,
    ProcessService,
    Report,
    RunResult,
    actions_for,
    judge,
    load_questions,
    question_path,
    render,
    run_benchmark,
    write_results,
)

USERS = 5
UPDATES = 2


async def test_a_tiny_run_measures_ours_and_the_baselines_on_both_mixes(
    tmp_path: Path,
) -> None:
    options = Options(
        users=(USERS,),
        updates=UPDATES,
        databases=("sqlite",),
        concurrency=4,
        isolated=False,
        baselines=BASELINE_NAMES,
        log_level="WARNING",
        results_dir=tmp_path,
        think_ms=1,
    )
    lines: list[str] = []
    report = await run_benchmark(options, say=lines.append)

    systems = [(run.system, run.mix, run.database) for run in report.runs]
    assert systems == [
        (system, mix, database)
        for mix in ("buttons", "questions")
        for system, database in [
            ("ours", "sqlite"),
            ("ptb-memory", "-"),
            ("ptb-pickle", "pickle"),
            ("ptb-await", "-"),
        ]
    ]
    for run in report.runs:
        assert run.updates == USERS * UPDATES
        assert run.errors == 0
        assert run.api_errors == 0
        assert run.late == 0  # every step's replies reached the fake before the next one
        assert run.expected_messages > 0
        assert run.sent_messages == run.expected_messages  # every reply reached the fake
        # buttons: the second update is a button press; questions: it is typed
        assert run.taps == (USERS if run.mix == "buttons" else 0)
        assert run.taps_acknowledged == run.taps  # in the webhook's answer, or by a call
        assert run.throughput > 0
        assert 0 < run.p50_ms <= run.p95_ms <= run.p99_ms
    assert "ours/ptb-memory questions sqlite@5" in report.ratios
    assert "ours/ptb-await buttons sqlite@5" in report.ratios
    assert report.targets["no errors, every reply sent, every tap answered questions sqlite@5"]
    assert "ours" in render(report)

    saved = json.loads(write_results(report, tmp_path).read_text(encoding="utf-8"))
    assert [run["system"] for run in saved["runs"]][:4] == [
        "ours",
        "ptb-memory",
        "ptb-pickle",
        "ptb-await",
    ]


def test_the_question_mix_types_eight_of_ten_updates_from_the_evaluation_set() -> None:
    questions = load_questions()
    assert len(questions) > 20
    first, second = question_path(0, 10, questions), question_path(1, 10, questions)
    typed = [action for action in first if action.kind == "text"]
    assert len(typed) == 8
    assert {action.value for action in typed} <= set(questions)
    assert [action.value for action in first if action.kind == "command"] == ["start", "menu"]
    assert typed[0] != next(action for action in second if action.kind == "text")


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


def _run(system: str, database: str, users: int, throughput: float, **extra: Any) -> RunResult:
    fields: dict[str, Any] = {
        "system": system,
        "database": database,
        "users": users,
        "updates": 10,
        "seconds": 1.0,
        "throughput": throughput,
        "p50_ms": 1.0,
        "p95_ms": 1.0,
        "p99_ms": 1.0,
        "errors": 0,
        "cpu_ms_per_update": 1.0,
        "sent_messages": 10,
        "expected_messages": 10,
        "taps": 3,
        "taps_acknowledged": 3,
    }
    fields.update(extra)
    return RunResult(**fields)


def test_repeated_rounds_are_judged_on_medians_and_every_run_must_be_healthy(
    tmp_path: Path,
) -> None:
    options = Options(
        users=(100, 1000),
        updates=10,
        databases=("sqlite",),
        concurrency=4,
        isolated=True,
        baselines=BASELINE_NAMES,
        log_level="WARNING",
        results_dir=tmp_path,
        repeat=3,
        mixes=("buttons",),
    )
    report = Report(options={})
    for users in (100, 1000):
        report.runs += [_run("ours", "sqlite", users, value) for value in (90, 300, 310)]
        report.runs += [_run("ptb-memory", "-", users, value) for value in (200, 205, 900)]
        report.runs += [_run("ptb-pickle", "pickle", users, value) for value in (100, 290, 295)]
    report.runs[0].taps_acknowledged = 2  # one press of one run went unanswered
    judge(report, options)
    assert report.ratios["ours/ptb-memory buttons sqlite@100"] == 300 / 205  # medians
    assert report.ratios["ours/ptb-pickle buttons sqlite@1000"] == 300 / 290
    assert report.ratios["ours buttons sqlite 1000/100"] == 1.0
    assert report.targets["ahead of ptb-pickle buttons sqlite@1000"]
    assert report.targets[">= 1.0x ptb-memory buttons sqlite@1000"]
    assert not report.targets["no errors, every reply sent, every tap answered buttons sqlite@100"]
    assert report.targets["no errors, every reply sent, every tap answered buttons sqlite@1000"]
