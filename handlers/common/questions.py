"""Understanding what an owner types: an action, a question, or something else.

Typed text is read by :class:`bot.nlu.Interpreter` (a classifier trained from ``content/``):

* an **action** ("xoá thông tin của tôi", "đừng nhắn nữa", "ghi danh giúp tôi") is carried out
  as the button it stands for; one that changes or erases data is confirmed with buttons
  first (the privacy flow's own yes/no, or a confirmation here);
* a **question** is answered with the catalogue's own text
  (:func:`handlers.common.policy_pages.render_answer`); when it carries the owner's cost ("máy sấy
  700 triệu") the rule is applied to that number; an eligibility question in life terms
  ("chưa có giấy phép") is answered from the eligibility rule's own explanation, with the
  offer to run the check;
* when the bot is **not sure** it says so and offers the three nearest topics or actions plus
  a person; **out of scope** gets the honest fallback. Both are kept (masked) for
  ``khuyencong nlu review``.

:func:`understand_text` is the router's hook for every typed text. At rest (menu, browsing
programmes, lists) it handles everything; while the owner answers one of a flow's questions,
the typed answer wins and only clear escapes (cancel, talk to staff) are taken.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bot.core.flow import FlowContext
from bot.core.messages import (
    MAX_CHOICE_ID_BYTES,
    Choice,
    Conversation,
    EventKind,
    InboundEvent,
    OutboundMessage,
    Step,
)
from bot.nlu import DEFAULT_THRESHOLD, Index, SearchDocument, Understanding, load_lexicon
from bot.nlu.classifier import Guess, train_cached
from bot.nlu.entities import extract
from bot.nlu.intents import (
    COMMAND_PREFIX,
    OUT_OF_SCOPE,
    RULE_PREFIX,
    Intent,
    IntentContent,
    load_intents,
    training_examples,
)
from bot.nlu.masking import mask_personal_data
from bot.nlu.understanding import Decision, Interpreter, Verdict
from bot.policy import FAQ_SECTION, Catalogue, load_catalogue
from bot.policy.model import GENERAL_PREFIX
from handlers.common.navigation import MAIN_MENU_CHOICE
from handlers.common.policy_pages import render_answer

DOCUMENT_CHOICE = "policies:doc:{doc_id}"
PROGRAMMES_CHOICE = "policies:start"
HANDOFF_CHOICE = "handoff:start"
ELIGIBILITY_CHOICE = "eligibility:start"

#: Flows where a typed text is never the answer to a question of the flow.
AT_REST_FLOWS = frozenset({"menu", "policies", "myleads", "subscribe"})
#: (flow, step) pairs at rest inside flows that otherwise ask typed questions.
AT_REST_STEPS = frozenset({("privacy", "home")})
#: Flows whose typed text goes to a person: never intercepted.
HUMAN_FLOWS = frozenset({"handoff"})
#: While a flow waits for a typed answer, an escape must be at least this likely.
ESCAPE_CONFIDENT = 0.6
#: Programmes whose support is rate × cost, where the owner's own amount can be applied.
COST_FACT_DOCUMENTS = frozenset({"summary", "levels", "faq"})


@dataclass(frozen=True, slots=True)
class QuestionIndex:
    """Everything the understanding needs, built once per content folder."""

    interpreter: Interpreter
    intents: IntentContent
    #: The older search index over the catalogue (the benchmark's baseline).
    understanding: Understanding
    #: Document id → its title, for "did you mean" buttons.
    labels: Mapping[str, str]


def load_question_index(root: Path) -> QuestionIndex:
    """Train (or read from the cache) the classifier over the catalogue and the intent files;
    cached with ``ctx.content.get(load_question_index)``. Training runs in a child process,
    so the bot never imports scikit-learn (issue 16's memory)."""
    catalogue = load_catalogue(root)
    lexicon = load_lexicon(root)
    documents = [
        SearchDocument(doc.id, doc.title, tuple(doc.phrases))
        for doc in catalogue.search_documents()
    ]
    intents = load_intents(root)
    classifier = train_cached(training_examples(documents, intents), lexicon, isolated=True)
    return QuestionIndex(
        interpreter=Interpreter(classifier),
        intents=intents,
        understanding=Understanding(Index.build(documents, lexicon), threshold=DEFAULT_THRESHOLD),
        labels={doc.id: doc.title for doc in documents},
    )


# --- the router's hook ------------------------------------------------------------------------


async def understand_text(
    ctx: FlowContext, conv: Conversation, event: InboundEvent
) -> InboundEvent | Step | None:
    """A typed text as an action (the event to dispatch instead), an answer (a step), or
    ``None`` when the current flow should read it as the answer to its question."""
    text = event.text.strip()
    if event.kind is not EventKind.TEXT or not text or conv.flow in HUMAN_FLOWS:
        return None
    questions = ctx.content.get(load_question_index)
    decision = questions.interpreter.read(text)
    ctx.trace["nlu"] = {
        "verdict": decision.verdict.value,
        "label": decision.label,
        "score": round(decision.score, 3),
    }
    if conv.flow not in AT_REST_FLOWS and (conv.flow, conv.step) not in AT_REST_STEPS:
        intent = questions.intents.intents.get(decision.label)
        if (
            decision.verdict is Verdict.ACT
            and intent is not None
            and intent.escape
            and decision.score >= ESCAPE_CONFIDENT
        ):
            return _act(ctx, conv, event, intent)
        return None
    return await respond(ctx, conv, event, decision)


async def answer_question(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """A typed text at rest (the menu's and the programmes flow's free text)."""
    decision = ctx.content.get(load_question_index).interpreter.read(event.text)
    routed = await respond(ctx, conv, event, decision)
    if isinstance(routed, Step):
        return routed
    # An action: the menu cannot dispatch it, so offer it as a button instead.
    return _not_sure(ctx, conv, decision)


async def respond(
    ctx: FlowContext, conv: Conversation, event: InboundEvent, decision: Decision
) -> InboundEvent | Step:
    questions = ctx.content.get(load_question_index)
    if decision.verdict is not Verdict.ACT and ctx.session is not None:
        # Kept for staff review (masked, not linked to the owner); a test context has no session.
        await ctx.repos.unplaced.keep(
            text=mask_personal_data(event.text.strip()),
            verdict=decision.verdict.value,
            guess=decision.label,
            now=ctx.now,
        )
    if decision.verdict is not Verdict.ACT:
        if decision.verdict is Verdict.OUT_OF_SCOPE:
            return _out_of_scope(ctx, conv)
        return _not_sure(ctx, conv, decision)
    intent = questions.intents.intents.get(decision.label)
    if intent is not None:
        return _act(ctx, conv, event, intent)
    if decision.label.startswith(RULE_PREFIX):
        return _rule_answer(ctx, conv, decision.label.removeprefix(RULE_PREFIX))
    ctx.trace["question_answer"] = decision.label
    replies = render_answer(ctx, decision.label)
    estimate = _estimate(ctx, decision.label, event.text)
    if estimate is not None:
        replies.insert(0, estimate)  # the owner's own number first, the rule and buttons after
    return Step(conv, replies)


# --- actions ----------------------------------------------------------------------------------


def _act(
    ctx: FlowContext, conv: Conversation, event: InboundEvent, intent: Intent
) -> InboundEvent | Step:
    ctx.trace["intent"] = intent.name
    if intent.reply:
        reply = OutboundMessage(
            text=ctx.texts.render(intent.reply),
            choices=(Choice(MAIN_MENU_CHOICE, ctx.texts.label("nav.menu")),),
        )
        return Step(conv, [reply])
    if intent.confirm:
        return Step(conv, [_confirmation(ctx, intent)])
    if intent.action.startswith(COMMAND_PREFIX):
        command = intent.action.removeprefix(COMMAND_PREFIX)
        return replace(event, kind=EventKind.COMMAND, text=command, args="")
    return event.with_choice(intent.action)


def _confirmation(ctx: FlowContext, intent: Intent) -> OutboundMessage:
    """ "Are you sure?" with the action's own button and a way out; nothing changes yet."""
    return OutboundMessage(
        text=ctx.texts.render(f"nlu/confirm_{intent.name}"),
        choices=(
            Choice(intent.action, ctx.texts.label(f"nlu.confirm_{intent.name}")),
            Choice(MAIN_MENU_CHOICE, ctx.texts.label("nlu.keep")),
        ),
        columns=1,
    )


# --- answers ----------------------------------------------------------------------------------


def _rule_answer(ctx: FlowContext, conv: Conversation, rule_id: str) -> Step:
    """An eligibility question in life terms, answered by the rule's own explanation."""
    from bot.eligibility import load_eligibility

    rule = ctx.content.get(load_eligibility).rules.get(rule_id)
    if rule is None:  # the content check prevents this; never a crash for the owner
        return _out_of_scope(ctx, conv)
    ctx.trace["question_answer"] = f"{RULE_PREFIX}{rule_id}"
    reply = OutboundMessage(
        text=ctx.texts.render("nlu/rule_answer", rule=rule),
        choices=(
            Choice(ELIGIBILITY_CHOICE, ctx.texts.label("nlu.rule")),
            Choice(HANDOFF_CHOICE, ctx.texts.label("questions.ask_staff")),
            Choice(MAIN_MENU_CHOICE, ctx.texts.label("nav.menu")),
        ),
    )
    return Step(conv, [reply])


def _estimate(ctx: FlowContext, doc_id: str, text: str) -> OutboundMessage | None:
    """The rule applied to the cost the owner typed, for a programme that shares costs."""
    entities = extract(text)
    ctx.trace["entities"] = entities.to_trace()
    if entities.amount is None:
        return None
    programme_id, _, rest = doc_id.partition(".")
    if rest.partition(".")[0] not in COST_FACT_DOCUMENTS:
        return None
    from bot.eligibility import SupportKind, estimate_support, load_eligibility

    programme = ctx.content.get(load_eligibility).programme(programme_id)
    if programme is None or programme.support.kind is not SupportKind.COST_SHARE:
        return None
    spec = programme.support
    facts: dict[str, object] = {}
    if spec.cost_fact:
        facts[spec.cost_fact] = entities.amount
    if spec.line_fact:
        facts[spec.line_fact] = entities.technology_line
    support = estimate_support(spec, ctx.content.get(load_catalogue), facts, on=ctx.today)
    if support.cost is None:
        return None
    ctx.trace["estimate"] = support.max_amount
    return OutboundMessage(text=ctx.texts.render("nlu/estimate", support=support))


def _out_of_scope(ctx: FlowContext, conv: Conversation) -> Step:
    ctx.trace["question_answer"] = None
    choices = (
        Choice(PROGRAMMES_CHOICE, ctx.texts.label("questions.programmes")),
        Choice(HANDOFF_CHOICE, ctx.texts.label("questions.ask_staff")),
        Choice(MAIN_MENU_CHOICE, ctx.texts.label("nav.menu")),
    )
    text = ctx.texts.render("questions/out_of_scope")
    return Step(conv, [OutboundMessage(text=text, choices=choices)])


def _not_sure(ctx: FlowContext, conv: Conversation, decision: Decision) -> Step:
    """The nearest topics or actions as buttons, plus a person: never a guess."""
    ctx.trace["question_answer"] = None
    ctx.trace["question_nearest"] = [
        [guess.label, round(guess.score, 3)] for guess in decision.nearest
    ]
    questions = ctx.content.get(load_question_index)
    catalogue = ctx.content.get(load_catalogue)
    topics: list[Choice] = []
    for guess in decision.nearest:
        choice = _offer(ctx, catalogue, questions, guess)
        if choice is not None and all(choice.id != seen.id for seen in topics):
            topics.append(choice)
    if not topics:
        return _out_of_scope(ctx, conv)
    choices = (
        *topics,
        Choice(HANDOFF_CHOICE, ctx.texts.label("questions.ask_staff")),
        Choice(MAIN_MENU_CHOICE, ctx.texts.label("nav.menu")),
    )
    text = ctx.texts.render("questions/not_sure")
    return Step(conv, [OutboundMessage(text=text, choices=choices)])


def _offer(
    ctx: FlowContext, catalogue: Catalogue, questions: QuestionIndex, guess: Guess
) -> Choice | None:
    intent = questions.intents.intents.get(guess.label)
    if intent is not None:
        if intent.offer in {HANDOFF_CHOICE, MAIN_MENU_CHOICE} or not intent.offer:
            return None  # always offered anyway
        if intent.offer.startswith(COMMAND_PREFIX):
            return None
        return Choice(intent.offer, ctx.texts.label(f"nlu.intent.{intent.name}"))
    if guess.label.startswith(RULE_PREFIX):
        return Choice(ELIGIBILITY_CHOICE, ctx.texts.label("nlu.rule"))
    if guess.label == OUT_OF_SCOPE:
        return None
    choice_id = DOCUMENT_CHOICE.format(doc_id=guess.label)
    if len(choice_id.encode()) > MAX_CHOICE_ID_BYTES:
        return None
    return Choice(choice_id, _topic_label(ctx, catalogue, guess.label, questions.labels))


def _topic_label(
    ctx: FlowContext, catalogue: Catalogue, doc_id: str, titles: Mapping[str, str]
) -> str:
    """A short button label: "⚙️ Máy móc, thiết bị · Mức hỗ trợ" for a programme section,
    the question itself for a FAQ or general entry."""
    head, _, rest = doc_id.partition(".")
    section, _, _slug = rest.partition(".")
    if head == GENERAL_PREFIX or section == FAQ_SECTION or not catalogue.has_programme(head):
        return titles.get(doc_id, doc_id)
    return ctx.texts.label(
        "questions.topic",
        programme=catalogue.programme(head).short_title,
        section=catalogue.section_title(section),
    )


__all__ = [
    "QuestionIndex",
    "answer_question",
    "load_question_index",
    "understand_text",
]
