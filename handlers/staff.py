"""Events from the staff chats: replies relayed to owners, and a few commands.

* A reply to a forwarded hand-off message goes to that owner (found through the platform
  message ids the outbox stored for topic ``handoff:<id>``).
* ``/dong HT-12`` ends a hand-off; ``/trangthai KC-2026-000123 contacted [ghi chú]`` changes a
  lead's status (history appended; the owner told when ``statuses.yaml`` says so);
  ``/ghichu KC-… text`` adds a note; ``/hoso KC-…`` shows a lead; anything else shows help.

Plain chatter between staff is ignored. Names and phones are sent to staff, never logged.
"""

from __future__ import annotations

from bot.broadcasts import staff_chat as staff_broadcasts
from bot.core.flow import FlowContext
from bot.core.messages import EventKind, InboundEvent, OutboundMessage
from bot.leads.catalogue import load_statuses
from bot.leads.codes import format_handoff_ref, parse_handoff_ref, parse_lead_code
from bot.staff import chat as staff_chat
from bot.staff.actions import NotAllowedError
from bot.staff.scope import Scope
from storage.models import Lead

CMD_CLOSE = "dong"
CMD_STATUS = "trangthai"
CMD_NOTE = "ghichu"
CMD_SHOW = "hoso"
#: "/trangthai <code> <status> [note]": the note is everything after the status word.
STATUS_ARGS_MIN = 2
#: Commands only for linked staff (leads within their scope, hand-offs).
LEAD_COMMANDS = frozenset({CMD_CLOSE, CMD_STATUS, CMD_NOTE, CMD_SHOW, *staff_chat.COMMANDS})


async def handle_staff_event(ctx: FlowContext, event: InboundEvent) -> list[OutboundMessage]:
    """Handle one event from a configured staff chat; the replies go back to that chat.

    Lead commands and buttons need the sender's chat account linked to a staff account
    (``/lienket CODE``) and are checked against its scope (:mod:`bot.staff.chat`).
    """
    if staff_broadcasts.is_broadcast_event(event):
        return await staff_broadcasts.handle(ctx, event)
    if event.kind is EventKind.COMMAND:
        name = event.text.split("@", 1)[0].lower()
        if name == staff_chat.CMD_LINK:
            return await staff_chat.link(ctx, event, event.args)
        if name in LEAD_COMMANDS:
            scope = await staff_chat.staff_scope(ctx, event)
            if scope is None:
                return _say(ctx, "staff/not_linked")
            if name in staff_chat.COMMANDS:
                return await staff_chat.command(ctx, event, scope, name)
            return await _command(ctx, event, scope)
        return await _command(ctx, event, None)
    if event.kind is EventKind.CHOICE and event.text.startswith(staff_chat.CHOICE_PREFIX):
        scope = await staff_chat.staff_scope(ctx, event)
        if scope is None:
            return _say(ctx, "staff/not_linked")
        return await staff_chat.choice(ctx, event, scope)
    if event.kind is EventKind.TEXT and event.reply_to_message_id:
        return await _relay(ctx, event, event.reply_to_message_id)
    return []


def _say(ctx: FlowContext, template: str, **values: object) -> list[OutboundMessage]:
    return [OutboundMessage(text=ctx.texts.render(template, **values))]


async def _relay(ctx: FlowContext, event: InboundEvent, message_id: str) -> list[OutboundMessage]:
    handoffs = ctx.repos.handoffs
    handoff = await handoffs.find_by_message(
        channel=event.channel, chat_id=event.chat_id, message_id=message_id
    )
    if handoff is None:
        return []  # a reply to something else: staff talking among themselves
    ref = format_handoff_ref(handoff.id)
    scope = await staff_chat.staff_scope(ctx, event)
    if scope is None:
        return _say(ctx, "staff/not_linked")
    if not await _handoff_in_scope(ctx, event, scope, handoff.lead_id):
        return _say(ctx, "staff/handoff_unknown", ref=ref)
    if not handoff.is_open:
        return _say(ctx, "staff/handoff_closed", ref=ref)
    owner = await handoffs.owner_of(handoff)
    if owner is None or owner.blocked_at is not None:
        return _say(ctx, "staff/owner_unreachable", ref=ref)
    text = ctx.texts.render("handoff/staff_reply", text=event.text.strip())
    ctx.notify(
        owner.channel, owner.chat_id, OutboundMessage(text=text), topic=f"relay:{handoff.id}"
    )
    await handoffs.touch(handoff, now=ctx.now)
    await staff_chat.audit(ctx, event, scope, "relay", entity="handoff", entity_id=ref)
    ctx.trace["relayed_handoff"] = handoff.id
    return []


async def _handoff_in_scope(
    ctx: FlowContext, event: InboundEvent, scope: Scope, lead_id: int | None
) -> bool:
    """A hand-off about a lead is the business of staff who may see that lead."""
    if lead_id is None or not scope.is_limited:
        return True
    try:
        await staff_chat.desk(ctx, scope, event).lead(lead_id)
    except NotAllowedError:
        return False
    return True


async def _command(
    ctx: FlowContext, event: InboundEvent, scope: Scope | None
) -> list[OutboundMessage]:
    name = event.text.split("@", 1)[0].lower()
    args = event.args.split()
    if scope is not None and name == CMD_CLOSE and args:
        return await _close(ctx, event, scope, args[0])
    if scope is not None and name == CMD_STATUS and len(args) >= STATUS_ARGS_MIN:
        note = event.args.split(maxsplit=2)[2] if len(args) > STATUS_ARGS_MIN else ""
        return await _status(
            ctx, event, scope, typed_code=args[0], typed_status=args[1], note=note
        )
    if scope is not None and name == CMD_NOTE and len(args) >= STATUS_ARGS_MIN:
        return await _note(ctx, event, scope, args[0], event.args.split(maxsplit=1)[1])
    if scope is not None and name == CMD_SHOW and args:
        return await _show(ctx, event, scope, args[0])
    statuses = ctx.content.get(load_statuses)
    return _say(ctx, "staff/help", statuses=list(statuses.by_status.values()))


async def _close(
    ctx: FlowContext, event: InboundEvent, scope: Scope, ref: str
) -> list[OutboundMessage]:
    handoff_id = parse_handoff_ref(ref)
    handoffs = ctx.repos.handoffs
    handoff = await handoffs.get(handoff_id) if handoff_id is not None else None
    if handoff is None or not await _handoff_in_scope(ctx, event, scope, handoff.lead_id):
        return _say(ctx, "staff/handoff_unknown", ref=ref)
    shown = format_handoff_ref(handoff.id)
    if not await handoffs.close(handoff, now=ctx.now, by="staff"):
        return _say(ctx, "staff/handoff_closed", ref=shown)
    owner = await handoffs.owner_of(handoff)
    if owner is not None and owner.blocked_at is None:
        text = ctx.texts.render("handoff/closed_by_staff", ref=shown)
        ctx.notify(
            owner.channel, owner.chat_id, OutboundMessage(text=text), topic=f"relay:{handoff.id}"
        )
    await staff_chat.audit(ctx, event, scope, "handoff_close", entity="handoff", entity_id=shown)
    return _say(ctx, "staff/handoff_closed_ok", ref=shown)


async def _lead(ctx: FlowContext, event: InboundEvent, scope: Scope, typed: str) -> Lead | None:
    """The lead a typed code names, if it exists and is within the officer's scope."""
    code = parse_lead_code(typed)
    if code is None:
        return None
    try:
        return await staff_chat.desk(ctx, scope, event).lead_by_code(code)
    except NotAllowedError:
        return None


async def _status(
    ctx: FlowContext,
    event: InboundEvent,
    scope: Scope,
    *,
    typed_code: str,
    typed_status: str,
    note: str,
) -> list[OutboundMessage]:
    statuses = ctx.content.get(load_statuses)
    lead = await _lead(ctx, event, scope, typed_code)
    if lead is None:
        return _say(ctx, "staff/lead_unknown", code=typed_code)
    status = statuses.find(typed_status)
    if status is None:
        return _say(
            ctx,
            "staff/status_unknown",
            typed=typed_status,
            statuses=list(statuses.by_status.values()),
        )
    old = lead.status
    notified = await staff_chat.desk(ctx, scope, event).set_status(lead, status, note=note)
    return _say(
        ctx,
        "staff/status_changed",
        code=lead.code,
        old=statuses.name(old),
        new=statuses.name(status),
        notified=notified,
    )


async def _note(
    ctx: FlowContext, event: InboundEvent, scope: Scope, typed_code: str, note: str
) -> list[OutboundMessage]:
    lead = await _lead(ctx, event, scope, typed_code)
    if lead is None:
        return _say(ctx, "staff/lead_unknown", code=typed_code)
    await staff_chat.desk(ctx, scope, event).add_note(lead, note)
    return _say(ctx, "staff/note_added", code=lead.code)


async def _show(
    ctx: FlowContext, event: InboundEvent, scope: Scope, typed_code: str
) -> list[OutboundMessage]:
    return await staff_chat.card(ctx, event, scope, typed_code)


__all__ = ["handle_staff_event"]
