"""The eligibility flow through the real engine: scripted conversations from
``tests/fixtures/eligibility/scripts.yaml``, plus resume, stored result and robustness."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.core.clock import FixedClock
from bot.core.messages import Conversation, OutboundMessage
from handlers.eligibility import PROGRESS_KEY, RESULT_KEY
from storage import Database
from tests.harness import User, fixed_clock, make_engine

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "fixtures" / "eligibility" / "scripts.yaml"
NOW = datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


@dataclass
class Chat:
    """An owner in the eligibility check, through the real engine (the one test driver)."""

    user: User
    clock: FixedClock

    async def tap(self, choice_id: str) -> str:
        return (await self.user.tap(choice_id)).text

    async def say(self, text: str) -> str:
        return (await self.user.say(text)).text

    @property
    def last(self) -> list[OutboundMessage]:
        return self.user.last

    @property
    def choice_ids(self) -> list[str]:
        return self.user.choice_ids

    async def conv(self) -> Conversation:
        return await self.user.conversation()


@pytest.fixture
def chat(sqlite_database: Database) -> Chat:
    clock = fixed_clock(NOW)
    engine, _ = make_engine(sqlite_database, clock=clock)
    return Chat(User(engine), clock)


def _scripts() -> list[dict[str, Any]]:
    with SCRIPTS.open(encoding="utf-8") as handle:
        scripts: list[dict[str, Any]] = yaml.safe_load(handle)["scripts"]
    return scripts


@pytest.mark.parametrize("script", _scripts(), ids=lambda script: script["name"])
async def test_scripted_conversation(chat: Chat, script: dict[str, Any]) -> None:
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


async def test_verdict_is_stored_for_registration(chat: Chat) -> None:
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
    conv = await chat.conv()
    assert conv.flow == "menu"
    assert PROGRESS_KEY not in conv.data
    result = conv.data[RESULT_KEY]
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


async def test_resume_after_a_long_break_offers_continue_or_restart(chat: Chat) -> None:
    await _answer_first_three(chat)
    chat.clock.advance(timedelta(days=3))
    reply = await chat.say("san xuat")
    assert "3 câu" not in reply  # two questions answered, not three
    assert "2 câu" in reply
    assert chat.choice_ids == ["eligibility:resume:continue", "eligibility:resume:restart"]
    reply = await chat.tap("eligibility:resume:continue")
    assert "Câu 3." in reply
    reply = await chat.say("san xuat")
    assert "Câu 4." in reply


async def test_short_pause_does_not_interrupt(chat: Chat) -> None:
    await _answer_first_three(chat)
    chat.clock.advance(timedelta(hours=2))
    assert "Câu 3." in await chat.say("san xuat") or "Câu 4." in chat.last[0].text


async def test_returning_from_the_menu_with_answers_in_progress(chat: Chat) -> None:
    await _answer_first_three(chat)
    await chat.tap("menu:main")  # the owner went to the menu meanwhile
    reply = await chat.tap("eligibility:start")
    assert "Tiếp tục" not in reply  # the labels are on the buttons
    assert "eligibility:resume:continue" in chat.choice_ids
    reply = await chat.tap("eligibility:resume:restart")
    assert "Câu 1." in reply
    assert (await chat.conv()).data[PROGRESS_KEY]["facts"] == {}  # type: ignore[index]


async def test_old_button_after_the_verdict_is_answered_politely(chat: Chat) -> None:
    await chat.tap("eligibility:start")
    await chat.tap("eligibility:a:facility_type:doanh_nghiep_lon")
    assert RESULT_KEY in (await chat.conv()).data
    reply = await chat.tap("eligibility:a:activity:san_xuat")
    assert "đã có kết quả" in reply
    assert "eligibility:restart" in chat.choice_ids


async def test_every_choice_id_fits_the_channel_limit(chat: Chat) -> None:
    await _answer_first_three(chat)
    for choice_id in chat.choice_ids:
        assert len(choice_id.encode()) <= 64 and choice_id.isascii()


async def test_a_multi_choice_toggle_can_be_undone(chat: Chat) -> None:
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
    answers = (await chat.conv()).data[RESULT_KEY]["answers"]  # type: ignore[index]
    assert answers["ethnic_minority_owner"] is False
    assert answers["priority_answers"] == []


async def test_typed_back_and_restart_words(chat: Chat) -> None:
    await _answer_first_three(chat)
    assert "Câu 2." in await chat.say("quay lai")
    assert "Câu 1." in await chat.say("lam lai")
