"""CPU per engine step without HTTP: where a step's own cost goes, measured in one process.

Run: ``.venv/bin/python bench/steps.py [--db sqlite postgresql] [--owners N] [--known]``

Each owner sends ``/start`` then nine typed questions of ``tests/fixtures/questions.yaml``
through the real engine (router, understanding, flows, one committed step each) on a fresh
database, one step at a time, with a recording channel instead of a platform. The CPU of
the process (the SQLite worker threads included) per step is printed, with the part spent
in each phase of the step (loading the owner, the flow, saving, recording the event id).
``--known`` greets every owner once before measuring, so first contact is left out.

Used for the cuts of issue 16 (``bench/README.md``): the HTTP benchmark (``updates.py``)
says how fast the whole bot is; this one says which part of a step moved.
"""

from __future__ import annotations

import argparse
import functools
import itertools
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core import engine as engine_module  # noqa: E402
from bot.core.messages import EventKind, InboundEvent  # noqa: E402
from storage import Database  # noqa: E402
from storage.repositories import conversations  # noqa: E402
from tests.conftest import drop_database, make_database  # noqa: E402
from tests.harness import make_engine  # noqa: E402

QUESTIONS = ROOT / "tests" / "fixtures" / "questions.yaml"
STEPS_PER_OWNER = 10
WARM_OWNERS = 20
DEFAULT_OWNERS = 150
MIN_QUESTION_LENGTH = 8
MS = 1000
#: (owner, method name, label) of the phases timed inside a step.
PHASES = (
    (conversations.Conversations, "load_step", "load owner and state"),
    (engine_module.Engine, "_run_flow", "flow (understanding, answer)"),
    (engine_module.Engine, "_save", "save state, log, outbox"),
    (engine_module.Engine, "_record_processed", "record the event id"),
)


def questions() -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            found.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(yaml.safe_load(QUESTIONS.read_text(encoding="utf-8")))
    return [text for text in found if len(text) > MIN_QUESTION_LENGTH]


def timed(spent: Counter[str], label: str, method: Callable[..., Awaitable[Any]]) -> Any:
    """``method`` that adds its CPU time to ``spent[label]`` (steps run one at a time)."""

    @functools.wraps(method)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.process_time()
        try:
            return await method(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - started

    return wrapper


async def measure(database: Database, *, owners: int, known: bool) -> dict[str, float]:
    engine, _channel = make_engine(database)
    texts = questions()
    ids = itertools.count()

    def event(owner: int, kind: EventKind, text: str) -> InboundEvent:
        user = f"owner{owner}"
        return InboundEvent(
            channel="test",
            user_id=user,
            chat_id=user,
            event_id=f"e{next(ids)}",
            kind=kind,
            text=text,
        )

    async def walk(owner: int) -> None:
        await engine.process(event(owner, EventKind.COMMAND, "start"))
        for number in range(1, STEPS_PER_OWNER):
            text = texts[(owner * STEPS_PER_OWNER + number) % len(texts)]
            await engine.process(event(owner, EventKind.TEXT, text))

    for owner in range(WARM_OWNERS):
        await walk(owner)
    measured = range(WARM_OWNERS, WARM_OWNERS + owners)
    if known:
        for owner in measured:
            await engine.process(event(owner, EventKind.COMMAND, "start"))
    spent: Counter[str] = Counter()
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in PHASES]
    for (owner, name, original), (_, _, label) in zip(originals, PHASES, strict=True):
        setattr(owner, name, timed(spent, label, original))
    try:
        started = time.process_time()
        for owner in measured:
            await walk(owner)
        total = time.process_time() - started
    finally:
        for owner, name, original in originals:
            setattr(owner, name, original)
    await engine.flush_delivered()
    steps = owners * STEPS_PER_OWNER
    result = {"step": total / steps * MS}
    result.update({label: seconds / steps * MS for label, seconds in spent.items()})
    return result


async def run(kind: str, *, owners: int, known: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        database = await make_database(kind, Path(folder))
        try:
            return await measure(database, owners=owners, known=known)
        finally:
            await drop_database(database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--owners", type=int, default=DEFAULT_OWNERS)
    parser.add_argument("--known", action="store_true", help="leave first contact out")
    args = parser.parse_args()
    import uvloop  # the loop `khuyencong serve` runs on

    for kind in args.db:
        result = uvloop.run(run(kind, owners=args.owners, known=args.known))
        print(f"{kind}: {result.pop('step'):.2f} ms CPU per step")
        for label, value in sorted(result.items(), key=lambda item: -item[1]):
            print(f"  {label:32s} {value:5.2f} ms")


if __name__ == "__main__":
    main()
