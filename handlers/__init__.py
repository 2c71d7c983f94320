"""Conversation flows. Channel-neutral: nothing here imports a channel SDK."""

from __future__ import annotations

import importlib
import logging
from typing import cast

from bot.content import Content
from bot.flow import Flow, Handler
from bot.router import CancelHook, Router, StaffHandler, StopAll
from handlers.menu import build_menu_flow

log = logging.getLogger(__name__)

#: Flow modules, each exporting ``FLOW``; the menu links to them by name.
FLOW_MODULES = (
    "handlers.policies",
    "handlers.eligibility",
    "handlers.registration",
    "handlers.myleads",
    "handlers.subscriptions",
    "handlers.privacy",
    "handlers.handoff",
)


def build_router() -> Router:
    """The router with every flow of the bot."""
    answer_text = cast(Handler | None, _optional("handlers.questions", "answer_question"))
    router = Router(menu=build_menu_flow(answer_text=answer_text))
    for module_name in FLOW_MODULES:
        flow = _optional(module_name, "FLOW")
        if isinstance(flow, Flow):
            router.add(flow)
    staff = cast(StaffHandler | None, _optional("handlers.staff", "handle_staff_event"))
    stop = cast(StopAll | None, _optional("handlers.subscriptions", "stop_all"))
    router.staff_handler = staff
    router.stop_subscriptions = stop
    close_handoff = cast(CancelHook | None, _optional("handlers.handoff", "close_open_handoff"))
    if close_handoff is not None:
        router.cancel_hooks.append(close_handoff)
    return router


def warm_up(content: Content) -> None:
    """Load every content-derived index once, at start-up (in a thread: it reads files and
    builds indexes), so no owner's first question pays for it on the event loop."""
    from bot.eligibility import load_eligibility
    from bot.policy import load_catalogue
    from handlers.eligibility import warm_gazetteer
    from handlers.questions import load_question_index

    for loader in (load_catalogue, load_question_index, load_eligibility):
        content.get(loader)
    warm_gazetteer(content)


def _optional(module_name: str, attribute: str) -> object:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    return getattr(module, attribute)
