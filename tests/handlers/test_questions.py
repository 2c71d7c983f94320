"""Free-text questions at the menu: answered from the catalogue when the bot is sure, the
nearest topics and a person offered when it is not, and never a made-up answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest
import yaml

from bot.core.content import Content
from bot.core.flow import FlowContext, Identity
from bot.core.messages import MAX_CHOICE_ID_BYTES, Conversation, EventKind, InboundEvent, Step
from bot.policy import load_catalogue
from handlers import policies
from handlers.common import policy_pages
from handlers.common.questions import answer_question, load_question_index
from tests.conftest import CONTENT_DIR, FIXTURES

NOW = datetime(2026, 11, 26, 9, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
OUT_OF_SCOPE = "out_of_scope"
MIN_ACCURACY = 0.9
MIN_QUESTIONS = 60
MIN_OUT_OF_SCOPE = 10
#: No topic named: the classifier is not sure which support is meant.
UNSURE_QUESTION = "cái đó bao nhiêu"


def _table() -> list[dict[str, Any]]:
    with (FIXTURES / "questions.yaml").open(encoding="utf-8") as handle:
        rows: list[dict[str, Any]] = yaml.safe_load(handle)
    return rows


def _expected(row: dict[str, Any]) -> list[str]:
    expect = row["expect"]
    return [str(item) for item in expect] if isinstance(expect, list) else [str(expect)]


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(CONTENT_DIR)


@pytest.fixture
def ctx(content: Content) -> FlowContext:
    return FlowContext(
        content=content,
        settings=cast(Any, None),
        session=cast(Any, None),
        identity=Identity(1, 1, "test", "u1", "c1"),
        now=NOW,
    )


def _event(text: str, kind: EventKind = EventKind.TEXT) -> InboundEvent:
    return InboundEvent(
        channel="test", user_id="u1", chat_id="c1", event_id="e1", kind=kind, text=text
    )


async def _ask(ctx: FlowContext, text: str) -> Step:
    return await answer_question(ctx, Conversation(), _event(text))


def _is_fallback(ctx: FlowContext, step: Step) -> bool:
    """One message: "not sure" or "cannot answer", with the button to ask a person."""
    if len(step.replies) != 1:
        return False
    (message,) = step.replies
    fallback_texts = {
        ctx.texts.render("questions/not_sure"),
        ctx.texts.render("questions/out_of_scope"),
    }
    ids = [choice.id for choice in message.choices]
    return message.text in fallback_texts and "handoff:start" in ids


async def test_accuracy_on_owner_questions(content: Content) -> None:
    rows = _table()
    assert len(rows) >= MIN_QUESTIONS
    assert sum(_expected(row) == [OUT_OF_SCOPE] for row in rows) >= MIN_OUT_OF_SCOPE
    right = 0
    wrong_out_of_scope: list[str] = []
    misses: list[str] = []
    for row in rows:
        ctx = FlowContext(
            content=content,
            settings=cast(Any, None),
            session=cast(Any, None),
            identity=Identity(1, 1, "test", "u1", "c1"),
            now=NOW,
        )
        step = await _ask(ctx, row["q"])
        answered = ctx.trace["question_answer"]
        expected = _expected(row)
        if expected == [OUT_OF_SCOPE]:
            ok = answered is None and _is_fallback(ctx, step)
            if not ok:
                wrong_out_of_scope.append(f"{row['q']!r} -> {answered}")
        else:
            ok = answered is not None and any(answered.startswith(e) for e in expected)
        right += ok
        if not ok:
            misses.append(f"{row['q']!r}: expected {expected}, got {answered}")
    accuracy = right / len(rows)
    print(f"\nquestion accuracy: {right}/{len(rows)} = {accuracy:.1%}")
    for miss in misses:
        print(f"  miss: {miss}")
    assert not wrong_out_of_scope, wrong_out_of_scope
    assert accuracy >= MIN_ACCURACY


async def test_a_clear_question_gets_the_programme_answer(ctx: FlowContext) -> None:
    step = await _ask(ctx, "vốn đối ứng là gì")
    assert ctx.trace["question_answer"] == "may_moc_thiet_bi.faq.von_doi_ung"
    assert step.replies == policy_pages.render_answer(ctx, "may_moc_thiet_bi.faq.von_doi_ung")
    assert "vốn đối ứng" in step.replies[0].text.lower()


async def test_the_conversation_stays_where_it_was(ctx: FlowContext) -> None:
    conv = Conversation(flow="menu", step="start", data={"kept": 1})
    step = await answer_question(ctx, conv, _event("ho tro may moc bao nhieu tien"))
    assert step.conversation is conv
    assert conv.data == {"kept": 1}


async def test_an_unsure_question_offers_the_nearest_topics_and_a_person(
    ctx: FlowContext,
) -> None:
    step = await _ask(ctx, UNSURE_QUESTION)
    assert ctx.trace["question_answer"] is None
    (message,) = step.replies
    assert message.text == ctx.texts.render("questions/not_sure")
    ids = [choice.id for choice in message.choices]
    topics = [choice for choice in message.choices if choice.id.startswith("policies:doc:")]
    assert len(topics) == 2
    assert ids[-2:] == ["handoff:start", "menu:main"]
    nearest = [doc_id for doc_id, _ in ctx.trace["question_nearest"]]
    assert [choice.id for choice in topics] == [f"policies:doc:{doc_id}" for doc_id in nearest]
    for choice in message.choices:
        assert len(choice.id.encode()) <= MAX_CHOICE_ID_BYTES
        assert choice.label


async def test_a_topic_button_is_understood_by_the_policies_flow(ctx: FlowContext) -> None:
    step = await _ask(ctx, UNSURE_QUESTION)
    topic = step.replies[0].choices[0]
    doc_id = topic.id.removeprefix("policies:doc:")
    shown = await policies.FLOW.handle(ctx, Conversation(), _event(topic.id, EventKind.CHOICE))
    assert shown.replies == policy_pages.render_answer(ctx, doc_id)
    assert ctx.texts.render("policies/not_found") not in shown.replies[0].text


async def test_section_topics_get_short_labels(ctx: FlowContext) -> None:
    step = await _ask(ctx, "hồ sơ điều kiện")  # two topics at once: not sure
    labels = {choice.id: choice.label for choice in step.replies[0].choices}
    sections = [label for cid, label in labels.items() if cid.count(".") == 1]
    assert sections
    for label in sections:
        assert " · " in label
        assert ":" not in label


async def test_out_of_scope_offers_the_programmes_and_a_person(ctx: FlowContext) -> None:
    step = await _ask(ctx, "thời tiết hôm nay thế nào")
    (message,) = step.replies
    assert message.text == ctx.texts.render("questions/out_of_scope")
    assert [choice.id for choice in message.choices] == [
        "policies:start",
        "handoff:start",
        "menu:main",
    ]


def test_the_index_covers_every_catalogue_document() -> None:
    questions = load_question_index(CONTENT_DIR)
    documents = load_catalogue(CONTENT_DIR).search_documents()
    assert len(questions.understanding.index) == len(documents)
    assert set(questions.labels) == {doc.id for doc in documents}
