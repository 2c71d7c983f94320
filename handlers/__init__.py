"""Conversation flows. Channel-neutral: nothing here imports a channel SDK."""

from __future__ import annotations

from bot.broadcasts.clicks import count_click
from bot.content import Content
from bot.router import Router
from handlers import (
    eligibility,
    handoff,
    more,
    myleads,
    policies,
    privacy,
    questions,
    registration,
    staff,
    subscriptions,
)
from handlers.menu import build_menu_flow

#: Every flow the menu links to, by name (the prefix of its choice ids).
FLOWS = (
    policies.FLOW,
    eligibility.FLOW,
    registration.FLOW,
    myleads.FLOW,
    subscriptions.FLOW,
    privacy.FLOW,
    handoff.FLOW,
    more.FLOW,
)


def build_router() -> Router:
    """The router with every flow of the bot and the hooks between them."""
    router = Router(menu=build_menu_flow(answer_text=questions.answer_question))
    for flow in FLOWS:
        router.add(flow)
    router.staff_handler = staff.handle_staff_event
    router.stop_subscriptions = subscriptions.stop_all
    router.cancel_hooks.append(handoff.close_open_handoff)
    router.choice_hooks.append(count_click)
    router.understand = questions.understand_text
    return router


def warm_up(content: Content) -> None:
    """Load every content-derived index once, at start-up (in a thread: it reads files and
    builds indexes), so no owner's first question pays for it on the event loop."""
    from bot.eligibility import load_eligibility
    from bot.policy import load_catalogue

    for loader in (load_catalogue, questions.load_question_index, load_eligibility):
        content.get(loader)
    eligibility.warm_gazetteer(content)


__all__ = ["FLOWS", "build_router", "warm_up"]
