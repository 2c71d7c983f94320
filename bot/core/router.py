"""Decides which flow handles an event: global commands first, then buttons by their
prefix, then the user's current flow; and the main menu, built from the flows.

Modelled on aiogram's routers, but flows are registered by name and the state they work on
comes from the database, never from memory. Everything flow-specific (commands, menu
entries, drafts, cancel hooks) is read from the registered :class:`~bot.core.flow.Flow`
records: the router names no flow but its own menu.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Final

from bot.core.flow import START_ACTION, Flow, FlowContext, Handler
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step

MENU_FLOW: Final = "menu"
#: Choice ids of the menu's own buttons.
MAIN_MENU_CHOICE: Final = f"{MENU_FLOW}:main"
HELP_CHOICE: Final = f"{MENU_FLOW}:help"
HELP_LABEL: Final = "menu.help"
MENU_LABEL: Final = "nav.menu"
START_COMMANDS: Final = frozenset({"start", "menu"})
HELP_COMMANDS: Final = frozenset({"help", "trogiup"})
#: ``/huy`` also stops announcements (everything); ``/cancel`` only what is in progress.
CANCEL_EVERYTHING: Final = "huy"
CANCEL_COMMANDS: Final = frozenset({"cancel", CANCEL_EVERYTHING})
#: Global commands shown in a platform's "/" menu, before the flows' own.
GLOBAL_COMMANDS: Final = ("start", "menu", "help", CANCEL_EVERYTHING)

StaffHandler = Callable[[FlowContext, InboundEvent], Awaitable[list[OutboundMessage]]]
#: Sees every button press first and may rewrite it (broadcast buttons: count, unwrap).
ChoiceHook = Callable[[FlowContext, InboundEvent], Awaitable[InboundEvent]]
#: Reads a typed text: the event to dispatch instead (an action), a step (an answer), or
#: ``None`` to let the current flow read it.
Understand = Callable[
    [FlowContext, Conversation, InboundEvent], Awaitable["InboundEvent | Step | None"]
]


class Router:
    """The flows of the bot, the main menu, and the global behaviour around them.

    ``understand`` reads every typed text first (an action by words, a question);
    ``answer_text`` answers free text typed at the menu; ``staff_handler`` takes the events
    of configured staff chats instead of the owner flows.
    """

    def __init__(
        self,
        flows: Iterable[Flow] = (),
        *,
        understand: Understand | None = None,
        answer_text: Handler | None = None,
        staff_handler: StaffHandler | None = None,
        choice_hooks: Iterable[ChoiceHook] = (),
    ) -> None:
        self.understand = understand
        self.choice_hooks: list[ChoiceHook] = list(choice_hooks)
        self.answer_text = answer_text
        self.staff_handler = staff_handler
        self.menu = Flow(name=MENU_FLOW, start=self._menu_start, handle=self._menu_handle)
        self.flows: dict[str, Flow] = {MENU_FLOW: self.menu}
        self._commands: dict[str, tuple[Flow, str]] = {}
        for flow in flows:
            self.add(flow)

    def add(self, flow: Flow) -> None:
        if flow.name in self.flows:
            msg = f"flow {flow.name!r} registered twice"
            raise ValueError(msg)
        for command, action in flow.commands.items():
            if command in self._commands or _is_global(command):
                msg = f"command /{command} of {flow.name!r} is already taken"
                raise ValueError(msg)
            self._commands[command] = (flow, action)
        self.flows[flow.name] = flow

    # -- derived from the flows ------------------------------------------------------------

    def platform_commands(self) -> tuple[str, ...]:
        """The platform "/" menu: the global commands, then each flow's opening command."""
        return (*GLOBAL_COMMANDS, *self.flow_commands())

    def flow_commands(self) -> tuple[str, ...]:
        return tuple(command for flow in self.flows.values() for command in flow.start_commands)

    def main_menu(self, ctx: FlowContext, *, greeting: bool = False) -> OutboundMessage:
        """The greeting or the menu, with one entry per flow that declares one, then help."""
        entries = [
            Choice(f"{flow.name}:{START_ACTION}", ctx.texts.label(flow.menu_entry))
            for flow in self.flows.values()
            if flow.menu_entry is not None
        ]
        entries.append(Choice(HELP_CHOICE, ctx.texts.label(HELP_LABEL)))
        text = ctx.texts.render("core/start" if greeting else "core/menu")
        return OutboundMessage(text=text, choices=tuple(entries))

    def help(self, ctx: FlowContext) -> OutboundMessage:
        return ctx.say("core/help", flow_commands=self.flow_commands())

    def menu_hint(self, ctx: FlowContext) -> OutboundMessage:
        """A short line with the main-menu button, added after global replies."""
        return OutboundMessage(
            text=ctx.texts.render("core/menu_hint"),
            choices=(Choice(MAIN_MENU_CHOICE, ctx.texts.label(MENU_LABEL)),),
        )

    # -- dispatch --------------------------------------------------------------------------

    async def dispatch(self, ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        if self.staff_handler is not None and ctx.from_staff_chat:
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
        if command in START_COMMANDS:
            return await self.open(self.menu, ctx, conv, event)
        if command in HELP_COMMANDS:
            return Step(conv, [self.help(ctx), self.menu_hint(ctx)])
        if command in CANCEL_COMMANDS:
            return await self._cancel(ctx, conv, everything=command == CANCEL_EVERYTHING)
        target = self._commands.get(command)
        if target is not None:
            flow, action = target
            return await self._choice(ctx, conv, event.with_choice(f"{flow.name}:{action}"))
        return Step(conv, [ctx.say("core/unknown_command", command=command), self.menu_hint(ctx)])

    async def _cancel(self, ctx: FlowContext, conv: Conversation, *, everything: bool) -> Step:
        stopped: list[str] = []
        for flow in self.flows.values():
            if flow.on_cancel is not None and (what := await flow.on_cancel(ctx, everything)):
                stopped.append(what)
            if flow.draft_key is not None:
                conv.data.pop(flow.draft_key, None)
        conv.flow, conv.step = MENU_FLOW, START_ACTION
        reply = ctx.say("core/cancelled", stopped=stopped)
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

    # -- the menu flow ---------------------------------------------------------------------

    async def _menu_start(self, ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
        conv.flow, conv.step = MENU_FLOW, START_ACTION
        greeting = event.kind is EventKind.COMMAND and event.text == "start"
        return Step(conv, [self.main_menu(ctx, greeting=greeting)])

    async def _menu_handle(
        self, ctx: FlowContext, conv: Conversation, event: InboundEvent
    ) -> Step:
        if event.kind is EventKind.CHOICE:
            if event.text == HELP_CHOICE:
                return Step(conv, [self.help(ctx), self.main_menu(ctx)])
            return await self._menu_start(ctx, conv, event)
        if event.kind is EventKind.TEXT and self.answer_text is not None:
            return await self.answer_text(ctx, conv, event)
        return Step(conv, [ctx.say("core/not_understood"), self.main_menu(ctx)])


def _is_global(command: str) -> bool:
    return command in START_COMMANDS | HELP_COMMANDS | CANCEL_COMMANDS
