"""Measuring the understanding on a labelled file (``khuyencong nlu eval FILE``, the bench).

A labelled file is a YAML list of ``{q: message, expect: label or [labels]}``; a label is an
intent, a document id or prefix (``may_moc_thiet_bi``, ``general.trung_tam``), a rule
(``rule.registered``) or ``out_of_scope``. A message is right when the bot acts on a label
matching one expected; an out-of-scope message is right when the bot gives no answer (the
honest fallback, or "not sure" with a person to ask). Accuracy is reported per intent (the
group of the first expected label), with a confusion matrix of those groups.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.texts import ContentError, load_yaml
from bot.nlu.intents import OUT_OF_SCOPE, group_of
from bot.nlu.understanding import Decision, Verdict

#: What the bot did when it acted on nothing: shown in the confusion matrix.
UNSURE = "(unsure)"
NS_PER_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class Labelled:
    text: str
    expect: tuple[str, ...]

    @property
    def intent(self) -> str:
        return group_of(self.expect[0])


@dataclass(frozen=True, slots=True)
class Outcome:
    item: Labelled
    decision: Decision
    right: bool
    #: The group the bot acted on, ``out_of_scope`` or :data:`UNSURE`.
    predicted: str
    nanoseconds: int


@dataclass
class Report:
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return sum(o.right for o in self.outcomes) / len(self.outcomes) if self.outcomes else 0.0

    def per_intent(self) -> dict[str, tuple[int, int]]:
        """Intent → (right, total), in the file's order."""
        table: dict[str, list[int]] = {}
        for outcome in self.outcomes:
            counts = table.setdefault(outcome.item.intent, [0, 0])
            counts[0] += outcome.right
            counts[1] += 1
        return {intent: (right, total) for intent, (right, total) in table.items()}

    def confusion(self) -> dict[str, Counter[str]]:
        matrix: defaultdict[str, Counter[str]] = defaultdict(Counter)
        for outcome in self.outcomes:
            matrix[outcome.item.intent][outcome.predicted] += 1
        return dict(matrix)

    def latencies_ms(self) -> list[float]:
        return sorted(outcome.nanoseconds / NS_PER_MS for outcome in self.outcomes)

    def misses(self) -> list[Outcome]:
        return [outcome for outcome in self.outcomes if not outcome.right]


def load_labelled(path: Path) -> list[Labelled]:
    data = load_yaml(path)
    if not isinstance(data, list):
        msg = f"{path}: expected a list of {{q: message, expect: label}}"
        raise ContentError(msg)
    items = []
    for number, row in enumerate(data, start=1):
        if not isinstance(row, dict) or "q" not in row or "expect" not in row:
            msg = f"{path}: item {number}: expected q: and expect:"
            raise ContentError(msg)
        expect = row["expect"]
        labels = tuple(str(label) for label in (expect if isinstance(expect, list) else [expect]))
        items.append(Labelled(str(row["q"]), labels))
    return items


def matches(label: str, expected: Iterable[str]) -> bool:
    return any(label == want or label.startswith(f"{want}.") for want in expected)


def evaluate(items: Sequence[Labelled], read: Callable[[str], Decision]) -> Report:
    report = Report()
    for item in items:
        started = time.perf_counter_ns()
        decision = read(item.text)
        elapsed = time.perf_counter_ns() - started
        if decision.verdict is Verdict.ACT:
            predicted = group_of(decision.label)
            right = matches(decision.label, item.expect)
        else:
            predicted = OUT_OF_SCOPE if decision.verdict is Verdict.OUT_OF_SCOPE else UNSURE
            right = OUT_OF_SCOPE in item.expect
        report.outcomes.append(Outcome(item, decision, right, predicted, elapsed))
    return report


def percentile(sorted_values: Sequence[float], share: float) -> float:
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(share * len(sorted_values) + 0.5) - 1))
    return sorted_values[rank]


def format_report(report: Report, *, misses: bool = True) -> str:
    """Accuracy per intent, the confusion matrix (rows: expected, columns: what the bot did,
    only the non-empty ones) and latency."""
    lines = [
        f"overall: {sum(o.right for o in report.outcomes)}/{len(report.outcomes)} = "
        f"{report.accuracy:.1%}",
        "",
        "per intent (right/total):",
    ]
    per_intent = report.per_intent()
    width = max((len(name) for name in per_intent), default=10)
    for intent, (right, total) in sorted(
        per_intent.items(), key=lambda item: item[1][0] / item[1][1]
    ):
        lines.append(f"  {intent:<{width}}  {right:>3}/{total:<3} {right / total:6.1%}")
    lines += ["", "confusion (expected -> what the bot did, counts; diagonal omitted):"]
    for intent, row in sorted(report.confusion().items()):
        wrong = {got: count for got, count in row.items() if got != intent}
        if wrong:
            cells = ", ".join(f"{got} {count}" for got, count in sorted(wrong.items()))
            lines.append(f"  {intent:<{width}} -> {cells}")
    latencies = report.latencies_ms()
    lines += [
        "",
        f"latency per message: p50 {percentile(latencies, 0.5):.3f} ms, "
        f"p99 {percentile(latencies, 0.99):.3f} ms",
    ]
    if misses and report.misses():
        lines += ["", "misses:"]
        lines += [
            f"  {o.item.text!r}: expected {list(o.item.expect)}, got {o.decision.verdict.value} "
            f"{o.decision.label} ({o.decision.score:.2f})"
            for o in report.misses()
        ]
    return "\n".join(lines)


def as_dict(report: Report) -> dict[str, Any]:
    return {
        "accuracy": report.accuracy,
        "per_intent": {name: list(counts) for name, counts in report.per_intent().items()},
    }
