"""Conversation flows. Channel-neutral: nothing here imports a channel or a platform SDK.

Adding a flow: one module here exposing ``FLOW = Flow(...)`` with its wiring (commands,
main-menu entry, draft key, cancel hook), and one line in :data:`FLOWS`.
"""

from __future__ import annotations

from bot.broadcasts.clicks import count_click
from bot.core.content import Content
from bot.core.flow import Flow
from bot.core.router import Router
from handlers import (
    eligibility,
    handoff,
    linking,
    more,
    myleads,
    policies,
    privacy,
    registration,
    staff,
    subscriptions,
)
from handlers.common import questions

#: Every owner flow, in main-menu order (the prefix of its choice ids is its name).
FLOWS: tuple[Flow, ...] = (
    policies.FLOW,
    eligibility.FLOW,
    registration.FLOW,
    handoff.FLOW,
    myleads.FLOW,
    subscriptions.FLOW,
    privacy.FLOW,
    linking.FLOW,
    more.FLOW,
)


def build_router(flows: tuple[Flow, ...] = FLOWS) -> Router:
    """The router with the flows, the understanding of typed text, the free-text answerer
    at the menu and the staff side."""
    return Router(
        flows,
        understand=questions.understand_text,
        answer_text=questions.answer_question,
        staff_handler=staff.handle_staff_event,
        choice_hooks=(count_click,),
    )


def warm_up(content: Content) -> None:
    """Load every content-derived index once, at start-up (in a thread: it reads files and
    builds indexes), so no owner's first question pays for it on the event loop."""
    from bot.eligibility import load_eligibility
    from bot.policy import load_catalogue

    for loader in (load_catalogue, questions.load_question_index, load_eligibility):
        content.get(loader)
    eligibility.warm_gazetteer(content)


__all__ = ["FLOWS", "build_router", "warm_up"]
