"""Decides which flow handles an event: global commands first, then buttons by their
prefix, then the user's current flow.

Modelled on aiogram's routers, but flows are registered by name and the state they work on
comes from the database, never from memory.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.flow import Flow, FlowContext
from bot.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.paging import PAGES_KEY

MENU_FLOW = "menu"
START_ACTION = "start"

#: Slash commands that open a flow directly (also listed in the Telegram command menu).
FLOW_COMMANDS: dict[str, str] = {
    "chinhsach": "policies",
    "kiemtra": "eligibility",
    "dangky": "register",
    "hoso": "myleads",
    "canbo": "handoff",
    "thongbao": "subscribe",
    "dulieu": "privacy",
}

StaffHandler = Callable[[FlowContext, InboundEvent], Awaitable[list[OutboundMessage]]]
StopAll = Callable[[FlowContext], Awaitable[bool]]
CancelHook = Callable[[FlowContext], Awaitable[object]]
#: Sees every button press first and may rewrite it (broadcast buttons: count, unwrap).
ChoiceHook = Callable[[FlowContext, InboundEvent], Awaitable[InboundEvent]]
#: Reads a typed text: the event to dispatch instead (an action), a step (an answer), or
#: ``None`` to let the current flow read it.
Understand = Callable[
    [FlowContext, Conversation, InboundEvent], Awaitable["InboundEvent | Step | None"]
]

#: Keys in ``Conversation.data`` holding half-filled forms, dropped when the user cancels:
#: an abandoned registration must not keep a name or phone in the conversation state (nor
#: the unread "Xem thêm" parts of a long reply, which may show them).
DRAFT_KEYS = ("register", "privacy", "handoff", PAGES_KEY)


@dataclass
class Router:
    """The flows of the bot and the global behaviour around them."""

    menu: Flow
    flows: dict[str, Flow] = field(default_factory=dict)
    #: Called for events from a configured staff chat instead of the owner flows.
    staff_handler: StaffHandler | None = None
    #: Stops every announcement subscription (``/huy``); None until subscriptions exist.
    stop_subscriptions: StopAll | None = None
    #: Run on every cancel (e.g. end an open hand-off with staff).
    cancel_hooks: list[CancelHook] = field(default_factory=list)
    choice_hooks: list[ChoiceHook] = field(default_factory=list)
    #: Understands typed text (actions by words, questions); None until configured.
    understand: Understand | None = None

    def __post_init__(self) -> None:
        self.flows.setdefault(self.menu.name, self.menu)

    def add(self, flow: Flow) -> None:
        if flow.name in self.flows:
            msg = f"flow {flow.name!r} registered twice"
            raise ValueError(msg)
        self.flows[flow.name] = flow

    async def dispatch(self, ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        if self.staff_handler is not None and ctx.trace.get("staff_chat"):
            return Step(conv, await self.staff_handler(ctx, event))
        if event.kind is EventKind.TEXT:
            command = ctx.content.command_for(event.text)
            if command is not None:
                return await self._command(ctx, conv, event, command)
            if self.understand is not None:
                routed = await self.understand(ctx, conv, event)
                if isinstance(routed, Step):
                    return routed
                if routed is not None and routed.kind is not EventKind.TEXT:
                    return await self.dispatch(ctx, conv, routed)
        if event.kind is EventKind.COMMAND:
            return await self._command(ctx, conv, event, event.text.lower())
        if event.kind is EventKind.CHOICE:
            for hook in self.choice_hooks:
                event = await hook(ctx, event)
            return await self._choice(ctx, conv, event)
        if event.kind is EventKind.UNKNOWN:
            return Step(conv, [ctx.say("core/unsupported_input"), self.menu_hint(ctx)])
        flow = self.flows.get(conv.flow, self.menu)
        return await flow.handle(ctx, conv, event)

    async def _command(
        self, ctx: FlowContext, conv: Conversation, event: InboundEvent, command: str
    ) -> Step:
        ctx.trace["command"] = command
        if command in {"start", "menu"}:
            return await self.open(self.menu, ctx, conv, event)
        if command in {"help", "trogiup"}:
            return Step(conv, [ctx.say("core/help"), self.menu_hint(ctx)])
        if command in {"cancel", "huy"}:
            return await self._cancel(ctx, conv, announce_stop=command == "huy")
        if command in {"huydangky", "unsubscribe"}:
            return await self._choice(ctx, conv, event.with_choice("subscribe:stop"))
        flow_name = FLOW_COMMANDS.get(command)
        if flow_name is not None:
            return await self._choice(ctx, conv, event.with_choice(f"{flow_name}:{START_ACTION}"))
        return Step(conv, [ctx.say("core/unknown_command", command=command), self.menu_hint(ctx)])

    async def _cancel(self, ctx: FlowContext, conv: Conversation, *, announce_stop: bool) -> Step:
        stopped = False
        if announce_stop and self.stop_subscriptions is not None:
            stopped = await self.stop_subscriptions(ctx)
        for hook in self.cancel_hooks:
            await hook(ctx)
        for key in DRAFT_KEYS:
            conv.data.pop(key, None)
        conv.flow, conv.step = MENU_FLOW, START_ACTION
        reply = ctx.say("core/cancelled", subscriptions_stopped=stopped)
        return Step(conv, [reply, self.menu_hint(ctx)])

    async def _choice(self, ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        prefix, _, rest = event.text.partition(":")
        flow = self.flows.get(prefix)
        if flow is None:
            ctx.trace["unavailable"] = prefix
            return Step(conv, [ctx.say("core/not_available_yet"), self.menu_hint(ctx)])
        if rest == START_ACTION or rest.startswith(f"{START_ACTION}:"):
            return await self.open(flow, ctx, conv, event)
        return await flow.handle(ctx, conv, event)

    async def open(
        self, flow: Flow, ctx: FlowContext, conv: Conversation, event: InboundEvent
    ) -> Step:
        """Enter ``flow`` from wherever the user is; flow data in ``conv.data`` is kept."""
        conv.flow, conv.step = flow.name, START_ACTION
        return await flow.start(ctx, conv, event)

    def menu_hint(self, ctx: FlowContext) -> OutboundMessage:
        """A short line with the main-menu button, added after global replies."""
        return OutboundMessage(
            text=ctx.texts.render("core/menu_hint"),
            choices=(Choice("menu:main", ctx.texts.label("nav.menu")),),
        )
