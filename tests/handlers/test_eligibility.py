"""The eligibility flow, driven directly (no database): scripted conversations from
``tests/fixtures/eligibility/scripts.yaml``, plus resume, stored result and robustness."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.content import Content
from bot.flow import FlowContext, Identity
from bot.messages import Conversation, EventKind, InboundEvent, OutboundMessage
from bot.nlu import fold
from handlers.eligibility import FLOW, PROGRESS_KEY, RESULT_KEY
from storage import Database
from tests.harness import User, choice_ids, make_engine, texts_of

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "fixtures" / "eligibility" / "scripts.yaml"
NOW = datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(ROOT / "content")


@dataclass
class Chat:
    """One owner talking to the flow as the router would route it, with the state committed
    as JSON after every step (as the engine does)."""

    content: Content
    now: datetime = NOW
    conv: Conversation = field(default_factory=Conversation)
    last: list[OutboundMessage] = field(default_factory=list)
    counter: int = 0

    def context(self) -> FlowContext:
        return FlowContext(
            content=self.content,
            settings=cast(Settings, None),
            session=cast(AsyncSession, None),
            identity=Identity(1, 1, "test", "u1", "c1"),
            now=self.now,
        )

    def _event(self, kind: EventKind, text: str) -> InboundEvent:
        self.counter += 1
        return InboundEvent("test", "u1", "c1", f"e{self.counter}", kind, text)

    async def tap(self, choice_id: str) -> str:
        return await self._send(self._event(EventKind.CHOICE, choice_id))

    async def say(self, text: str) -> str:
        event = self._event(EventKind.TEXT, text)
        # Like the engine: a typed number or label of the last offered choices is a tap.
        offered = [choice for reply in self.last for choice in reply.choices]
        key = fold(text).strip()
        if key.isdigit() and 1 <= int(key) <= len(offered):
            event = event.with_choice(offered[int(key) - 1].id)
        else:
            event = next((event.with_choice(c.id) for c in offered if fold(c.label) == key), event)
        return await self._send(event)

    async def _send(self, event: InboundEvent) -> str:
        ctx = self.context()
        name, _, rest = event.text.partition(":")
        is_start = (
            event.kind is EventKind.CHOICE
            and name == FLOW.name
            and (rest == "start" or rest.startswith("start:"))
        )
        if is_start:
            self.conv.flow, self.conv.step = FLOW.name, "start"
            step = await FLOW.start(ctx, self.conv, event)
        else:
            step = await FLOW.handle(ctx, self.conv, event)
        stored = json.loads(json.dumps(step.conversation.data))  # must stay JSON
        self.conv = Conversation(step.conversation.flow, step.conversation.step, stored)
        self.last = step.replies
        return "\n\n".join(reply.text for reply in step.replies)

    @property
    def choice_ids(self) -> list[str]:
        return [choice.id for reply in self.last for choice in reply.choices]


def _scripts() -> list[dict[str, Any]]:
    with SCRIPTS.open(encoding="utf-8") as handle:
        scripts: list[dict[str, Any]] = yaml.safe_load(handle)["scripts"]
    return scripts


@pytest.mark.parametrize("script", _scripts(), ids=lambda script: script["name"])
async def test_scripted_conversation(content: Content, script: dict[str, Any]) -> None:
    chat = Chat(content)
    for number, step in enumerate(script["steps"], start=1):
        reply = await (chat.tap(step["tap"]) if "tap" in step else chat.say(str(step["say"])))
        where = f"step {number} ({step.get('tap') or step.get('say')}): {reply}"
        for fragment in step.get("expect", []):
            assert fragment in reply, where
        for fragment in step.get("absent", []):
            assert fragment not in reply, where
        for choice_id in step.get("expect_choices", []):
            assert choice_id in chat.choice_ids, where
        labels = [choice.label for reply in chat.last for choice in reply.choices]
        for label in step.get("expect_labels", []):
            assert label in labels, where


async def _answer_first_three(chat: Chat) -> None:
    await chat.tap("eligibility:start")
    await chat.tap("eligibility:a:facility_type:ho_kinh_doanh")
    await chat.say("phu tam")
    await chat.tap("eligibility:place:31569")


async def test_verdict_is_stored_for_registration(content: Content) -> None:
    chat = Chat(content)
    for action in (
        "eligibility:start:website_tmdt",
        "eligibility:a:facility_type:hop_tac_xa",
    ):
        await chat.tap(action)
    await chat.say("phu tam")
    await chat.tap("eligibility:place:31569")
    await chat.tap("eligibility:a:activity:san_xuat")
    await chat.say("bánh phồng tôm")
    await chat.tap("eligibility:a:prior_support:no")
    await chat.tap("eligibility:a:counterpart_funds:yes")
    await chat.tap("eligibility:a:priorities:workers")
    reply = await chat.tap("eligibility:a:priorities:done")
    assert "Có khả năng đủ điều kiện" in reply
    assert chat.conv.flow == "menu"
    assert PROGRESS_KEY not in chat.conv.data
    result = chat.conv.data[RESULT_KEY]
    assert isinstance(result, dict)
    assert result["evaluated_on"] == "2026-11-26"
    answers = result["answers"]
    assert answers["facility_type"] == "hop_tac_xa"
    assert answers["unit_code"] == 31569
    assert answers["unit_kind"] == "xa"
    assert answers["products"] == "bánh phồng tôm"
    assert answers["support_wanted"] == "website_tmdt"
    assert answers["many_workers"] is True
    assert answers["women_owned"] is False
    [verdict] = result["verdicts"]
    assert verdict["programme"] == "website_tmdt"
    assert verdict["outcome"] == "likely_eligible"
    assert verdict["support"]["to_confirm"] is True
    assert {line["rule"] for line in verdict["trace"]} >= {"registered", "location_area"}


async def test_resume_after_a_long_break_offers_continue_or_restart(content: Content) -> None:
    chat = Chat(content)
    await _answer_first_three(chat)
    chat.now = NOW + timedelta(days=3)
    reply = await chat.say("san xuat")
    assert "3 câu" not in reply  # two questions answered, not three
    assert "2 câu" in reply
    assert chat.choice_ids == ["eligibility:resume:continue", "eligibility:resume:restart"]
    reply = await chat.tap("eligibility:resume:continue")
    assert "Câu 3." in reply
    reply = await chat.say("san xuat")
    assert "Câu 4." in reply


async def test_short_pause_does_not_interrupt(content: Content) -> None:
    chat = Chat(content)
    await _answer_first_three(chat)
    chat.now = NOW + timedelta(hours=2)
    assert "Câu 3." in await chat.say("san xuat") or "Câu 4." in chat.last[0].text


async def test_returning_from_the_menu_with_answers_in_progress(content: Content) -> None:
    chat = Chat(content)
    await _answer_first_three(chat)
    chat.conv.flow = "menu"  # the owner went to the menu meanwhile
    reply = await chat.tap("eligibility:start")
    assert "Tiếp tục" not in reply  # the labels are on the buttons
    assert "eligibility:resume:continue" in chat.choice_ids
    reply = await chat.tap("eligibility:resume:restart")
    assert "Câu 1." in reply
    assert chat.conv.data[PROGRESS_KEY]["facts"] == {}  # type: ignore[index]


async def test_old_button_after_the_verdict_is_answered_politely(content: Content) -> None:
    chat = Chat(content)
    await chat.tap("eligibility:start")
    await chat.tap("eligibility:a:facility_type:doanh_nghiep_lon")
    assert RESULT_KEY in chat.conv.data
    reply = await chat.tap("eligibility:a:activity:san_xuat")
    assert "đã có kết quả" in reply
    assert "eligibility:restart" in chat.choice_ids


async def test_every_choice_id_fits_the_channel_limit(content: Content) -> None:
    chat = Chat(content)
    await _answer_first_three(chat)
    for choice_id in chat.choice_ids:
        assert len(choice_id.encode()) <= 64 and choice_id.isascii()


async def test_a_multi_choice_toggle_can_be_undone(content: Content) -> None:
    chat = Chat(content)
    await chat.tap("eligibility:start:dao_tao_tu_van")
    await chat.tap("eligibility:a:facility_type:ho_kinh_doanh")
    await chat.say("phu tam")
    await chat.tap("eligibility:place:31569")
    await chat.tap("eligibility:a:activity:san_xuat")
    await chat.say("lạp xưởng")
    await chat.tap("eligibility:a:prior_support:no")
    await chat.tap("eligibility:a:priorities:ethnic")
    reply = await chat.tap("eligibility:a:priorities:ethnic")
    assert "☑️" not in reply + "".join(c.label for r in chat.last for c in r.choices)
    await chat.tap("eligibility:a:priorities:done")
    answers = chat.conv.data[RESULT_KEY]["answers"]  # type: ignore[index]
    assert answers["ethnic_minority_owner"] is False
    assert answers["priority_answers"] == []


async def test_typed_back_and_restart_words(content: Content) -> None:
    chat = Chat(content)
    await _answer_first_three(chat)
    assert "Câu 2." in await chat.say("quay lai")
    assert "Câu 1." in await chat.say("lam lai")


async def test_a_script_through_the_real_engine(sqlite_database: Database) -> None:
    """The same scripted conversation, through router, engine, database and commit."""
    engine, _ = make_engine(sqlite_database)
    user = User(engine)
    script = next(s for s in _scripts() if s["name"].startswith("typed answers"))
    for step in script["steps"]:
        if "tap" in step:
            replies = await user.tap(step["tap"])
        else:
            replies = await user.say(str(step["say"]))
        text = texts_of(replies)
        for fragment in step.get("expect", []):
            assert fragment in text, (step, text)
        for choice_id in step.get("expect_choices", []):
            assert choice_id in choice_ids(replies), (step, text)
