"""Policy documents as messages: the programmes menu, and one document (a programme
summary, a section, a FAQ or a general entry) with its figures, sources and buttons.

Shown by the programmes flow (``handlers/policies.py``) and by the free-text answerer
(:mod:`handlers.common.questions`). Every button is a ``policies:`` location, so a tap
always lands in the programmes flow.
"""

from __future__ import annotations

from typing import Final

from bot.core.content import Content
from bot.core.flow import FlowContext
from bot.core.messages import Choice, OutboundMessage
from bot.policy import (
    FAQ_SECTION,
    Catalogue,
    DocumentCache,
    Programme,
    RenderedAnswer,
    load_catalogue,
)
from bot.policy.model import GENERAL_PREFIX, SUMMARY_BUTTONS
from handlers.common.navigation import menu_choice

NAME: Final = "policies"
PREFIX: Final = f"{NAME}:"
MENU: Final = "menu"
GENERAL: Final = "general"
BACK: Final = "back"
ELIGIBILITY_CHOICE: Final = "eligibility:start:{programme}"
REGISTER_CHOICE: Final = "register:start:{programme}"
SUMMARY_COLUMNS: Final = 2


def catalogue(ctx: FlowContext) -> Catalogue:
    return ctx.content.get(load_catalogue)


def _documents(ctx: FlowContext) -> DocumentCache:
    return ctx.content.derived(_document_cache)


def _document_cache(content: Content) -> DocumentCache:
    return DocumentCache(content.texts, content.get(load_catalogue))


def nav(ctx: FlowContext, back: str | None) -> tuple[Choice, ...]:
    """The "quay lại" (when there is somewhere to go back to) and "menu" buttons."""
    choices: list[Choice] = []
    if back is not None:
        choices.append(Choice(f"{PREFIX}{back}", ctx.texts.label("nav.back")))
    choices.append(menu_choice(ctx))
    return tuple(choices)


def _actions(ctx: FlowContext, programme_id: str) -> tuple[Choice, ...]:
    """Hand-overs to the eligibility check and the registration of interest."""
    return (
        Choice(
            ELIGIBILITY_CHOICE.format(programme=programme_id),
            ctx.texts.label("policies.button.eligibility"),
        ),
        Choice(
            REGISTER_CHOICE.format(programme=programme_id),
            ctx.texts.label("policies.button.register"),
        ),
    )


def programmes_menu(ctx: FlowContext) -> OutboundMessage:
    programmes = catalogue(ctx)
    choices = [Choice(f"{PREFIX}prog:{p.id}", p.short_title) for p in programmes.programmes]
    if programmes.general:
        choices.append(Choice(f"{PREFIX}{GENERAL}", ctx.texts.label("policies.button.general")))
    return OutboundMessage(
        text=ctx.texts.render("policies/menu"),
        choices=(*choices, *nav(ctx, None)),
    )


def general_list(ctx: FlowContext) -> OutboundMessage:
    entries = catalogue(ctx).general
    choices = tuple(Choice(f"{PREFIX}doc:{e.doc_id}", e.title) for e in entries)
    return OutboundMessage(
        text=ctx.texts.render("policies/general_list"),
        choices=(*choices, *nav(ctx, MENU)),
    )


def faq_list(ctx: FlowContext, programme: Programme) -> OutboundMessage:
    choices = tuple(
        Choice(f"{PREFIX}doc:{programme.id}.{FAQ_SECTION}.{entry.slug}", entry.title)
        for entry in programme.faq
    )
    return OutboundMessage(
        text=ctx.texts.render("policies/faq_list", programme=programme),
        choices=(*choices, *_actions(ctx, programme.id), *nav(ctx, f"prog:{programme.id}")),
    )


def _summary_choices(ctx: FlowContext, programme: Programme) -> tuple[Choice, ...]:
    sections = [s for s in SUMMARY_BUTTONS if s != FAQ_SECTION or programme.faq]
    choices = tuple(
        Choice(f"{PREFIX}sec:{programme.id}:{s}", ctx.texts.label(f"policies.button.{s}"))
        for s in sections
    )
    return (*choices, *_actions(ctx, programme.id), *nav(ctx, BACK))


def _answer_message(ctx: FlowContext, answer: RenderedAnswer) -> OutboundMessage:
    """Buttons under a rendered document depend on what it belongs to."""
    ref = answer.ref
    if ref.section == GENERAL_PREFIX:
        programmes = catalogue(ctx)
        entry = programmes.general_entry(ref.slug)
        related = tuple(
            Choice(f"{PREFIX}prog:{pid}", programmes.programme(pid).short_title)
            for pid in entry.related
        )
        return OutboundMessage(text=answer.text, choices=(*related, *nav(ctx, GENERAL)))
    programme = catalogue(ctx).programme(ref.programme_id)
    if ref.section == "summary":
        return OutboundMessage(
            text=answer.text,
            choices=_summary_choices(ctx, programme),
            columns=SUMMARY_COLUMNS,
        )
    back = (
        f"sec:{programme.id}:{FAQ_SECTION}"
        if ref.section == FAQ_SECTION
        else f"prog:{programme.id}"
    )
    return OutboundMessage(
        text=answer.text,
        choices=(*_actions(ctx, programme.id), *nav(ctx, back)),
        columns=SUMMARY_COLUMNS,
    )


def render_answer(ctx: FlowContext, doc_id: str) -> list[OutboundMessage]:
    """Show one search document (``<programme>.<section>``, ``<programme>.faq.<slug>`` or
    ``general.<slug>``) with the figures in force on ``ctx.today``, their sources and the
    right buttons. Used by this flow and by the free-text answerer. An unknown id gives a
    polite "no longer available" and the programmes menu."""
    try:
        answer = _documents(ctx).render(doc_id, day=ctx.today)
    except KeyError:
        return [
            OutboundMessage(text=ctx.texts.render("policies/not_found")),
            programmes_menu(ctx),
        ]
    ctx.trace["policy_doc"] = doc_id
    ctx.trace["policy_figures"] = [view.key for view in answer.figures]
    return [_answer_message(ctx, answer)]
