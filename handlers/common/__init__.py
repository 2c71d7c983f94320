"""The flow toolkit: what several flows need, in one place, so no flow imports another.

* :mod:`~handlers.common.navigation`: the main-menu button and going back to the menu.
* :mod:`~handlers.common.consent`: the consent gate before any personal question.
* :mod:`~handlers.common.phone`: reading a phone, typed or shared, with the ownership check.
* :mod:`~handlers.common.staff`: notices to the staff chats.
* :mod:`~handlers.common.state`: typed per-flow state kept in ``Conversation.data``.
* :mod:`~handlers.common.policy_pages` and :mod:`~handlers.common.questions`: policy
  documents as answers, shown by the programmes flow and by the free-text answerer.

Repositories come from the context (``ctx.repos.leads``); signals to the engine are
explicit (``ctx.leave_no_trace()``), never ``ctx.trace``.
"""

from handlers.common.consent import (
    consent_request,
    has_consent,
    lead_notice,
    notice_text,
    record_consent,
    refusal_reply,
)
from handlers.common.navigation import MAIN_MENU_CHOICE, back_to_menu, menu_choice
from handlers.common.phone import PhoneReading, read_phone
from handlers.common.staff import notify_staff
from handlers.common.state import FlowState, load_state, save_state

__all__ = [
    "MAIN_MENU_CHOICE",
    "FlowState",
    "PhoneReading",
    "back_to_menu",
    "consent_request",
    "has_consent",
    "lead_notice",
    "load_state",
    "menu_choice",
    "notice_text",
    "notify_staff",
    "read_phone",
    "record_consent",
    "refusal_reply",
    "save_state",
]
