"""Answering a question typed at the menu ("ho tro may moc bao nhieu tien?").

The question is matched against every document of the policy catalogue (programme sections,
FAQ entries, general entries) by :class:`bot.nlu.Understanding`. A confident match is shown
exactly as the programmes flow shows it (:func:`handlers.common.policy_pages.render_answer`),
so the answer is always the Center's own text with its figures and sources. When the bot is not
sure, it says so and offers the two nearest topics as buttons (``policies:doc:<id>``, handled
by the programmes flow) plus a person (``handoff:start``): it never guesses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.core.flow import FlowContext
from bot.core.messages import (
    MAX_CHOICE_ID_BYTES,
    Choice,
    Conversation,
    InboundEvent,
    OutboundMessage,
    Step,
)
from bot.nlu import DEFAULT_THRESHOLD, Index, Match, SearchDocument, Understanding, load_lexicon
from bot.policy import FAQ_SECTION, Catalogue, load_catalogue
from bot.policy.model import GENERAL_PREFIX
from handlers.common.navigation import menu_choice
from handlers.common.policy_pages import render_answer

DOCUMENT_CHOICE = "policies:doc:{doc_id}"
PROGRAMMES_CHOICE = "policies:start"
HANDOFF_CHOICE = "handoff:start"


@dataclass(frozen=True, slots=True)
class QuestionIndex:
    """The understanding over the catalogue, built once per content folder."""

    understanding: Understanding
    #: Document id → the button label offering it when the bot is not sure.
    labels: Mapping[str, str]


def load_question_index(root: Path) -> QuestionIndex:
    """Index every catalogue document; cached with ``ctx.content.get(load_question_index)``.

    Button labels are worked out later (they need the label templates), so this keeps the
    document titles; :func:`_topic_label` turns section titles into short labels.
    """
    catalogue = load_catalogue(root)
    documents = [
        SearchDocument(doc.id, doc.title, tuple(doc.phrases))
        for doc in catalogue.search_documents()
    ]
    index = Index.build(documents, load_lexicon(root))
    return QuestionIndex(
        understanding=Understanding(index, threshold=DEFAULT_THRESHOLD),
        labels={doc.id: doc.title for doc in documents},
    )


async def answer_question(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """Answer a typed question with the best document, or offer the nearest topics."""
    questions = ctx.content.get(load_question_index)
    answer = questions.understanding.answer(event.text)
    ctx.trace["question_nearest"] = [[match.id, match.score] for match in answer.nearest]
    if answer.best is not None:
        ctx.trace["question_answer"] = answer.best.id
        return Step(conv, render_answer(ctx, answer.best.id))
    ctx.trace["question_answer"] = None
    catalogue = ctx.content.get(load_catalogue)
    topics = [
        Choice(choice_id, _topic_label(ctx, catalogue, match, questions.labels))
        for match in answer.nearest
        if len((choice_id := DOCUMENT_CHOICE.format(doc_id=match.id)).encode())
        <= MAX_CHOICE_ID_BYTES
    ]
    if topics:
        text = ctx.texts.render("questions/not_sure")
    else:
        text = ctx.texts.render("questions/out_of_scope")
        topics = [Choice(PROGRAMMES_CHOICE, ctx.texts.label("questions.programmes"))]
    choices = (
        *topics,
        Choice(HANDOFF_CHOICE, ctx.texts.label("questions.ask_staff")),
        menu_choice(ctx),
    )
    return Step(conv, [OutboundMessage(text=text, choices=choices)])


def _topic_label(
    ctx: FlowContext, catalogue: Catalogue, match: Match, titles: Mapping[str, str]
) -> str:
    """A short button label: "⚙️ Máy móc, thiết bị · Mức hỗ trợ" for a programme section,
    the question itself for a FAQ or general entry."""
    head, _, rest = match.id.partition(".")
    section, _, _slug = rest.partition(".")
    if head == GENERAL_PREFIX or section == FAQ_SECTION or not catalogue.has_programme(head):
        return titles.get(match.id, match.id)
    return ctx.texts.label(
        "questions.topic",
        programme=catalogue.programme(head).short_title,
        section=catalogue.section_title(section),
    )
