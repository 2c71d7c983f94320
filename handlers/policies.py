"""Browsing the support programmes: menu → programme → section or FAQ answer.

Every screen is addressed by a location string that is also its choice id after
``policies:`` (``prog:may_moc_thiet_bi``, ``sec:may_moc_thiet_bi:levels``,
``doc:general.chi_phi_tu_van``), so an old button keeps working after the user has moved on,
and the free-text answerer can show any document through :func:`render_answer`.
Nothing here touches the database.
"""

from __future__ import annotations

from bot.core.content import Content
from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.policy import (
    FAQ_SECTION,
    Catalogue,
    DocumentCache,
    Programme,
    RenderedAnswer,
    load_catalogue,
)
from bot.policy.model import GENERAL_PREFIX, SUMMARY_BUTTONS

NAME = "policies"
PREFIX = f"{NAME}:"
MENU = "menu"
GENERAL = "general"
BACK = "back"
MAIN_MENU_CHOICE = "menu:main"
ELIGIBILITY_CHOICE = "eligibility:start:{programme}"
REGISTER_CHOICE = "register:start:{programme}"
SUMMARY_COLUMNS = 2
STATE_KEY = "at"


def _catalogue(ctx: FlowContext) -> Catalogue:
    return ctx.content.get(load_catalogue)


def _documents(ctx: FlowContext) -> DocumentCache:
    return ctx.content.derived(_document_cache)


def _document_cache(content: Content) -> DocumentCache:
    return DocumentCache(content.texts, content.get(load_catalogue))


def _nav(ctx: FlowContext, back: str | None) -> tuple[Choice, ...]:
    """The "quay lại" (when there is somewhere to go back to) and "menu" buttons."""
    choices: list[Choice] = []
    if back is not None:
        choices.append(Choice(f"{PREFIX}{back}", ctx.texts.label("nav.back")))
    choices.append(Choice(MAIN_MENU_CHOICE, ctx.texts.label("nav.menu")))
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


def _programmes_menu(ctx: FlowContext) -> OutboundMessage:
    catalogue = _catalogue(ctx)
    choices = [Choice(f"{PREFIX}prog:{p.id}", p.short_title) for p in catalogue.programmes]
    if catalogue.general:
        choices.append(Choice(f"{PREFIX}{GENERAL}", ctx.texts.label("policies.button.general")))
    return OutboundMessage(
        text=ctx.texts.render("policies/menu"),
        choices=(*choices, *_nav(ctx, None)),
    )


def _general_list(ctx: FlowContext) -> OutboundMessage:
    entries = _catalogue(ctx).general
    choices = tuple(Choice(f"{PREFIX}doc:{e.doc_id}", e.title) for e in entries)
    return OutboundMessage(
        text=ctx.texts.render("policies/general_list"),
        choices=(*choices, *_nav(ctx, MENU)),
    )


def _faq_list(ctx: FlowContext, programme: Programme) -> OutboundMessage:
    choices = tuple(
        Choice(f"{PREFIX}doc:{programme.id}.{FAQ_SECTION}.{entry.slug}", entry.title)
        for entry in programme.faq
    )
    return OutboundMessage(
        text=ctx.texts.render("policies/faq_list", programme=programme),
        choices=(*choices, *_actions(ctx, programme.id), *_nav(ctx, f"prog:{programme.id}")),
    )


def _summary_choices(ctx: FlowContext, programme: Programme) -> tuple[Choice, ...]:
    sections = [s for s in SUMMARY_BUTTONS if s != FAQ_SECTION or programme.faq]
    choices = tuple(
        Choice(f"{PREFIX}sec:{programme.id}:{s}", ctx.texts.label(f"policies.button.{s}"))
        for s in sections
    )
    return (*choices, *_actions(ctx, programme.id), *_nav(ctx, BACK))


def _answer_message(ctx: FlowContext, answer: RenderedAnswer) -> OutboundMessage:
    """Buttons under a rendered document depend on what it belongs to."""
    ref = answer.ref
    if ref.section == GENERAL_PREFIX:
        catalogue = _catalogue(ctx)
        entry = catalogue.general_entry(ref.slug)
        related = tuple(
            Choice(f"{PREFIX}prog:{pid}", catalogue.programme(pid).short_title)
            for pid in entry.related
        )
        return OutboundMessage(text=answer.text, choices=(*related, *_nav(ctx, GENERAL)))
    programme = _catalogue(ctx).programme(ref.programme_id)
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
        choices=(*_actions(ctx, programme.id), *_nav(ctx, back)),
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
            _programmes_menu(ctx),
        ]
    ctx.trace["policy_doc"] = doc_id
    ctx.trace["policy_figures"] = [view.key for view in answer.figures]
    return [_answer_message(ctx, answer)]


def _screen(ctx: FlowContext, location: str) -> list[OutboundMessage]:
    """The messages for one location; raises ``KeyError`` when it does not exist."""
    kind, _, rest = location.partition(":")
    catalogue = _catalogue(ctx)
    if kind == MENU:
        return [_programmes_menu(ctx)]
    if kind == GENERAL:
        return [_general_list(ctx)]
    if kind == "prog":
        catalogue.programme(rest)
        return render_answer(ctx, f"{rest}.summary")
    if kind == "sec":
        programme_id, _, section = rest.partition(":")
        programme = catalogue.programme(programme_id)
        if section == FAQ_SECTION:
            return [_faq_list(ctx, programme)]
        catalogue.resolve(f"{programme_id}.{section}")
        return render_answer(ctx, f"{programme_id}.{section}")
    if kind == "doc":
        catalogue.resolve(rest)
        return render_answer(ctx, rest)
    msg = f"unknown location {location!r}"
    raise KeyError(msg)


def parent(location: str) -> str:
    """Where "quay lại" leads from ``location``."""
    kind, _, rest = location.partition(":")
    if kind == "sec":
        programme_id, _, _section = rest.partition(":")
        return f"prog:{programme_id}"
    if kind == "doc":
        head, _, tail = rest.partition(".")
        if head == GENERAL_PREFIX:
            return GENERAL
        if tail.startswith(f"{FAQ_SECTION}."):
            return f"sec:{head}:{FAQ_SECTION}"
        return f"prog:{head}"
    return MENU


def _go(ctx: FlowContext, location: str) -> Step:
    try:
        replies = _screen(ctx, location)
    except KeyError:
        location = MENU
        replies = [
            OutboundMessage(text=ctx.texts.render("policies/not_found")),
            _programmes_menu(ctx),
        ]
    step_name = location.partition(":")[0]
    return Step(Conversation(flow=NAME, step=step_name, data={STATE_KEY: location}), replies)


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """Open the programmes menu."""
    return _go(ctx, MENU)


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """Follow a ``policies:`` choice; answer a typed question; anything else re-shows the
    current screen with a hint."""
    current = str(conv.data.get(STATE_KEY, MENU)) if conv.flow == NAME else MENU
    if event.kind is EventKind.CHOICE and event.text.startswith(PREFIX):
        target = event.text.removeprefix(PREFIX)
        if target == BACK:
            target = parent(current)
        return _go(ctx, target)
    if event.kind is EventKind.TEXT:
        # Owners browsing often just type their question: answer it from the content.
        from handlers.questions import answer_question  # questions imports this module

        return await answer_question(ctx, conv, event)
    step = _go(ctx, current)
    step.replies.insert(0, OutboundMessage(text=ctx.texts.render("policies/hint")))
    return step


FLOW = Flow(name=NAME, start=start, handle=handle)

__all__ = ["FLOW", "NAME", "parent", "render_answer"]
