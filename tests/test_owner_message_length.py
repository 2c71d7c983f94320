"""Every owner-facing message fits one phone screen, or offers the rest on demand.

The conversation scripts (menu, registration, every eligibility script) are replayed, and a
crawler taps every button it meets from the main menu; any reply longer than
``OWNER_MESSAGE_LIMIT`` characters must carry a "Xem thêm" or "Căn cứ pháp lý" button.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core.messages import OutboundMessage
from bot.core.paging import MORE_PREFIX, OWNER_MESSAGE_LIMIT
from storage import Database
from tests.harness import User, make_engine
from tests.scripts import load_script

ELIGIBILITY_SCRIPTS = Path(__file__).resolve().parent / "fixtures" / "eligibility" / "scripts.yaml"
#: Buttons that lead on to the rest of a long message.
ON_DEMAND_PREFIXES = (MORE_PREFIX, "eligibility:more:", "eligibility:legal:")
#: Taps the crawler makes at most (every policy page, section and FAQ is well within it).
CRAWL_LIMIT = 400
#: Buttons the crawler leaves alone: they end the data it walks through or restart it.
CRAWL_SKIP = ("privacy:delete", "privacy:withdraw", "menu:main")
_users = itertools.count(1)


def _too_long(replies: Iterable[OutboundMessage]) -> list[str]:
    return [
        f"{len(reply.text)} chars: {reply.text[:120]!r}"
        for reply in replies
        if len(reply.text) > OWNER_MESSAGE_LIMIT
        and not any(choice.id.startswith(ON_DEMAND_PREFIXES) for choice in reply.choices)
    ]


class Walker:
    """One owner whose every reply is checked."""

    def __init__(self, user: User) -> None:
        self.user = user
        self.problems: list[str] = []
        self.seen = 0

    def check(self, where: str, replies: list[OutboundMessage]) -> list[OutboundMessage]:
        self.seen += len(replies)
        self.problems += [f"{where}: {problem}" for problem in _too_long(replies)]
        return replies

    async def step(self, step: dict[str, Any]) -> list[OutboundMessage]:
        if "tap" in step:
            return self.check(step["tap"], await self.user.tap(step["tap"]))
        if "choice" in (send := step.get("send", {})):
            return self.check(send["choice"], await self.user.tap(send["choice"]))
        if "command" in send:
            return self.check(send["command"], await self.user.command(send["command"]))
        text = str(step.get("say", step.get("phone", send.get("text", ""))))
        return self.check(text, await self.user.say(text))


def _eligibility_scripts() -> list[dict[str, Any]]:
    with ELIGIBILITY_SCRIPTS.open(encoding="utf-8") as handle:
        scripts: list[dict[str, Any]] = yaml.safe_load(handle)["scripts"]
    return scripts


async def test_scripted_conversations_fit_a_phone_screen(sqlite_database: Database) -> None:
    engine, _ = make_engine(sqlite_database)
    walker = Walker(User(engine, f"len-{next(_users)}"))
    await walker.step({"send": {"command": "start"}})
    for name in ("basic", "registration"):
        for step in load_script(name):
            await walker.step(step)
    for script in _eligibility_scripts():
        for step in script["steps"]:
            await walker.step(step)
    assert walker.seen > 100
    assert not walker.problems, "\n".join(walker.problems)


async def test_every_button_from_the_menu_leads_to_short_messages(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    walker = Walker(User(engine, f"crawl-{next(_users)}"))
    greeting = walker.check("start", await walker.user.command("start"))
    queue = [choice.id for reply in greeting for choice in reply.choices]
    done: set[str] = set()
    while queue and len(done) < CRAWL_LIMIT:
        choice_id = queue.pop(0)
        if choice_id in done or choice_id.startswith(CRAWL_SKIP):
            continue
        done.add(choice_id)
        replies = walker.check(choice_id, await walker.user.tap(choice_id))
        queue += [c.id for reply in replies for c in reply.choices if c.id not in done]
    assert len(done) > 50  # the crawl reached the policy pages, sections and FAQ
    assert not walker.problems, "\n".join(walker.problems)


async def test_a_long_reply_is_read_part_by_part_and_keeps_its_buttons(
    sqlite_database: Database,
) -> None:
    engine, _ = make_engine(sqlite_database)
    owner = User(engine, f"pages-{next(_users)}")
    await owner.command("start")
    await owner.tap("policies:start")
    replies = await owner.tap("policies:sec:hoi_cho_trien_lam:details")
    page = next(reply for reply in replies if len(reply.choices) > 1)
    assert len(page.text) <= OWNER_MESSAGE_LIMIT
    more = page.choices[0]
    assert more.id.startswith(MORE_PREFIX)
    assert more.label == "📄 Xem thêm"
    original = [choice.id for choice in page.choices[1:]]
    assert original  # the page's own buttons stay under its first part
    parts = [page.text]
    while more is not None:
        [page] = await owner.tap(more.id)
        parts.append(page.text)
        assert len(page.text) <= OWNER_MESSAGE_LIMIT
        more = next((c for c in page.choices if c.id.startswith(MORE_PREFIX)), None)
    assert [choice.id for choice in page.choices] == original  # the last part has them too
    assert len(parts) >= 3  # the section is 1,500 characters: three screens
    [again] = await owner.tap("more:0")
    assert "đã gửi rồi" in again.text  # a part already read is not sent twice


async def test_the_shortest_check_reaches_its_verdict_in_twelve_answers(
    sqlite_database: Database,
) -> None:
    """The bánh pía script, every answer by button or typed: at most 12 answers."""
    engine, _ = make_engine(sqlite_database)
    owner = User(engine, f"short-{next(_users)}")
    script = _eligibility_scripts()[0]
    await owner.tap(script["steps"][0]["tap"])
    answers = 0
    for step in script["steps"][1:]:
        replies = await (owner.tap(step["tap"]) if "tap" in step else owner.say(str(step["say"])))
        answers += 1
        if any("Có khả năng đủ điều kiện" in reply.text for reply in replies):
            break
    else:
        pytest.fail("the script never reached a verdict")
    assert answers <= 12
