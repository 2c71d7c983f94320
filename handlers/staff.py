"""Events from the staff chats: replies relayed to owners, and a few commands.

* A reply to a forwarded hand-off message goes to that owner (found through the platform
  message ids the outbox stored for topic ``handoff:<id>``).
* ``/dong HT-12`` ends a hand-off; ``/trangthai KC-2026-000123 contacted [ghi chú]`` changes a
  lead's status (history appended; the owner told when ``statuses.yaml`` says so);
  ``/ghichu KC-… text`` adds a note; ``/hoso KC-…`` shows a lead; anything else shows help.

Plain chatter between staff is ignored. Names and phones are sent to staff, never logged.
"""

from __future__ import annotations

from datetime import UTC

from bot.flow import FlowContext
from bot.leads.catalogue import Statuses, load_statuses
from bot.leads.codes import format_handoff_ref, parse_handoff_ref, parse_lead_code
from bot.leads.views import lead_view
from bot.messages import EventKind, InboundEvent, OutboundMessage
from handlers import staff_broadcasts
from storage.leads import Lead, LeadStatus
from storage.models import ChannelIdentity
from storage.repositories import Handoffs, Leads

CMD_CLOSE = "dong"
CMD_STATUS = "trangthai"
CMD_NOTE = "ghichu"
CMD_SHOW = "hoso"
#: "/trangthai <code> <status> [note]": the note is everything after the status word.
STATUS_ARGS_MIN = 2


async def handle_staff_event(ctx: FlowContext, event: InboundEvent) -> list[OutboundMessage]:
    """Handle one event from a configured staff chat; the replies go back to that chat."""
    if staff_broadcasts.is_broadcast_event(event):
        return await staff_broadcasts.handle(ctx, event)
    if event.kind is EventKind.COMMAND:
        return await _command(ctx, event)
    if event.kind is EventKind.TEXT and event.reply_to_message_id:
        return await _relay(ctx, event, event.reply_to_message_id)
    return []


def _actor(event: InboundEvent) -> str:
    return f"{event.channel}:{event.user_id}"


def _say(ctx: FlowContext, template: str, **values: object) -> list[OutboundMessage]:
    return [OutboundMessage(text=ctx.texts.render(template, **values))]


async def _relay(ctx: FlowContext, event: InboundEvent, message_id: str) -> list[OutboundMessage]:
    handoffs = Handoffs(ctx.session)
    handoff = await handoffs.find_by_message(
        channel=event.channel, chat_id=event.chat_id, message_id=message_id
    )
    if handoff is None:
        return []  # a reply to something else: staff talking among themselves
    ref = format_handoff_ref(handoff.id)
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
    ctx.trace["relayed_handoff"] = handoff.id
    return []


async def _command(ctx: FlowContext, event: InboundEvent) -> list[OutboundMessage]:
    name = event.text.split("@", 1)[0].lower()
    args = event.args.split()
    if name == CMD_CLOSE and args:
        return await _close(ctx, args[0])
    if name == CMD_STATUS and len(args) >= STATUS_ARGS_MIN:
        note = event.args.split(maxsplit=2)[2] if len(args) > STATUS_ARGS_MIN else ""
        return await _status(ctx, event, args[0], args[1], note)
    if name == CMD_NOTE and len(args) >= STATUS_ARGS_MIN:
        return await _note(ctx, event, args[0], event.args.split(maxsplit=1)[1])
    if name == CMD_SHOW and args:
        return await _show(ctx, args[0])
    statuses = ctx.content.get(load_statuses)
    return _say(ctx, "staff/help", statuses=list(statuses.by_status.values()))


async def _close(ctx: FlowContext, ref: str) -> list[OutboundMessage]:
    handoff_id = parse_handoff_ref(ref)
    handoffs = Handoffs(ctx.session)
    handoff = await handoffs.get(handoff_id) if handoff_id is not None else None
    if handoff is None:
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
    return _say(ctx, "staff/handoff_closed_ok", ref=shown)


async def _lead(ctx: FlowContext, typed: str) -> Lead | None:
    code = parse_lead_code(typed)
    if code is None:
        return None
    lead = await Leads(ctx.session).by_code(code)
    return lead if lead is not None and lead.anonymised_at is None else None


async def _status(
    ctx: FlowContext, event: InboundEvent, typed_code: str, typed_status: str, note: str
) -> list[OutboundMessage]:
    statuses = ctx.content.get(load_statuses)
    lead = await _lead(ctx, typed_code)
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
    await Leads(ctx.session).set_status(lead, status, actor=_actor(event), now=ctx.now, note=note)
    notified = await _tell_owner(ctx, lead, status, statuses) if status.value != old else False
    return _say(
        ctx,
        "staff/status_changed",
        code=lead.code,
        old=statuses.name(old),
        new=statuses.name(status),
        notified=notified,
    )


async def _tell_owner(
    ctx: FlowContext, lead: Lead, status: LeadStatus, statuses: Statuses
) -> bool:
    info = statuses[status]
    if not info.notify_owner or lead.identity_id is None:
        return False
    owner = await ctx.session.get(ChannelIdentity, lead.identity_id)
    if owner is None or owner.blocked_at is not None:
        return False
    sentence = ctx.texts.render_string(info.message, code=lead.code)
    text = ctx.texts.render(
        "myleads/status_changed", code=lead.code, status=info.name, sentence=sentence
    )
    ctx.notify(owner.channel, owner.chat_id, OutboundMessage(text=text), topic=f"status:{lead.id}")
    return True


async def _note(
    ctx: FlowContext, event: InboundEvent, typed_code: str, note: str
) -> list[OutboundMessage]:
    lead = await _lead(ctx, typed_code)
    if lead is None:
        return _say(ctx, "staff/lead_unknown", code=typed_code)
    await Leads(ctx.session).add_note(lead, note.strip(), actor=_actor(event), now=ctx.now)
    return _say(ctx, "staff/note_added", code=lead.code)


async def _show(ctx: FlowContext, typed_code: str) -> list[OutboundMessage]:
    lead = await _lead(ctx, typed_code)
    if lead is None:
        return _say(ctx, "staff/lead_unknown", code=typed_code)
    view = lead_view(
        lead, texts=ctx.texts, statuses=ctx.content.get(load_statuses), zone=ctx.now.tzinfo or UTC
    )
    return _say(ctx, "staff/new_lead", lead=view, updated=False, shown=True)


__all__ = ["handle_staff_event"]
