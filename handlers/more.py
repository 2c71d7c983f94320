""" "Xem thêm": the next part of a long reply (see :mod:`bot.core.paging`).

The tap leaves the owner where they were: the flow and its step are unchanged, and the last
part carries the original buttons again, so the question it belonged to can be answered.
"""

from __future__ import annotations

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Conversation, InboundEvent, Step
from bot.core.paging import MORE_LABEL, MORE_PREFIX, PAGES_KEY, next_page

NAME = MORE_PREFIX.rstrip(":")


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    key = event.text.removeprefix(MORE_PREFIX)
    page = next_page(conv, key, more_label=ctx.texts.label(MORE_LABEL))
    if page is None:
        return Step(conv, [ctx.say("core/more_gone")])
    return Step(conv, [page])


#: Unread parts may show a name or a phone: a cancel drops them with the forms.
FLOW = Flow(name=NAME, start=handle, handle=handle, draft_key=PAGES_KEY)
