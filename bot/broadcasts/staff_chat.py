"""``/broadcast`` in a staff chat: short announcements composed, checked and sent from there.

``/broadcast trade_fair Kính gửi {{ name }}…`` makes a draft for the subscribers of a topic
and answers with the audience count and a preview filled for a real recipient, with buttons
to test-send it to the author's own chat, send it (or submit it for a second staff member's
approval, when ``BROADCAST_APPROVAL_REQUIRED``) or drop it. ``/broadcast`` alone explains
the rest (schedule, pause, resume, cancel, progress). Buttons are ``bcs:<action>:<id>``.
"""

from __future__ import annotations

from datetime import datetime

from bot.broadcasts.control import BroadcastControl, Draft, Outcome, Result
from bot.broadcasts.notices import progress_message, report_message
from bot.broadcasts.policy import policy_for
from bot.core.flow import FlowContext
from bot.core.messages import Choice, EventKind, InboundEvent, OutboundMessage
from bot.leads.catalogue import load_lead_options
from bot.staff import chat as staff_chat
from bot.staff.scope import Scope
from storage.models.broadcasts import Broadcast, BroadcastStatus
from storage.repositories import Audience

COMMAND = "broadcast"
CHOICE_PREFIX = "bcs:"
#: Typed action words (Vietnamese without marks, or English) → action.
ACTIONS = {
    "thu": "test",
    "test": "test",
    "gui": "send",
    "send": "send",
    "duyet": "approve",
    "approve": "approve",
    "hen": "schedule",
    "schedule": "schedule",
    "dung": "pause",
    "pause": "pause",
    "tiep": "resume",
    "resume": "resume",
    "huy": "cancel",
    "cancel": "cancel",
    "xem": "status",
    "status": "status",
    "ds": "list",
    "list": "list",
}
TIME_FORMAT = "%d/%m/%Y %H:%M"


def is_broadcast_event(event: InboundEvent) -> bool:
    if event.kind is EventKind.CHOICE:
        return event.text.startswith(CHOICE_PREFIX)
    return event.kind is EventKind.COMMAND and event.text.split("@", 1)[0].lower() == COMMAND


def _actor(scope: Scope) -> str:
    """The same officer whether they act here or in the dashboard."""
    return f"staff:{scope.account_id}"


def _allowed(ctx: FlowContext, scope: Scope, broadcast: Broadcast, action: str) -> bool:
    """The dashboard's rules: anyone linked composes, tests and follows; admins start (or
    anyone submits when approval is required); another admin approves; admins and the author
    pause, resume, cancel and schedule."""
    author = broadcast.created_by == _actor(scope)
    if action == "send":
        return scope.is_admin or ctx.settings.broadcast_approval_required
    if action == "approve":
        return scope.is_admin and not author
    if action in {"pause", "resume", "cancel", "schedule"}:
        return scope.is_admin or author
    return True


def _control(ctx: FlowContext) -> BroadcastControl:
    return BroadcastControl(
        ctx.session,
        texts=ctx.texts,
        now=ctx.now,
        approval_required=ctx.settings.broadcast_approval_required,
    )


def _render(ctx: FlowContext, outcome: str, **values: object) -> str:
    defaults: dict[str, object] = dict.fromkeys(
        ("id", "status", "error", "scheduled", "topic", "topics"), ""
    )
    return ctx.texts.render(
        "broadcasts/staff_result", outcome=outcome, **(defaults | {"count": 0} | values)
    )


def _result(ctx: FlowContext, outcome: Outcome, **values: object) -> list[OutboundMessage]:
    broadcast = outcome.broadcast
    if broadcast is not None:
        values["id"] = broadcast.id
        values["status"] = ctx.texts.label(f"broadcasts.status.{broadcast.status}")
        if broadcast.scheduled_at is not None and broadcast.scheduled_at > ctx.now:
            values.setdefault("scheduled", _local(ctx, broadcast.scheduled_at))
    text = _render(ctx, outcome.result.value, count=outcome.count, error=outcome.error, **values)
    choices: tuple[Choice, ...] = ()
    if broadcast is not None and outcome.result is Result.APPROVAL_NEEDED:
        choices = (_button(ctx, "approve", broadcast.id),)
    elif broadcast is not None and outcome.result in (Result.STARTED, Result.RESUMED):
        choices = (_button(ctx, "status", broadcast.id), _button(ctx, "pause", broadcast.id))
    elif broadcast is not None and outcome.result is Result.PAUSED:
        choices = (_button(ctx, "resume", broadcast.id), _button(ctx, "cancel", broadcast.id))
    return [OutboundMessage(text=text, choices=choices)]


def _say(ctx: FlowContext, outcome: str, **values: object) -> list[OutboundMessage]:
    """A result the control layer does not produce (a typing mistake in the command)."""
    return [OutboundMessage(text=_render(ctx, outcome, **values))]


def _local(ctx: FlowContext, moment: datetime) -> str:
    return moment.astimezone(ctx.now.tzinfo).strftime(TIME_FORMAT)


def _button(ctx: FlowContext, action: str, broadcast_id: int) -> Choice:
    label = ctx.texts.label(f"broadcasts.staff.{ {'status': 'progress'}.get(action, action) }")
    return Choice(f"{CHOICE_PREFIX}{action}:{broadcast_id}", label)


def _help(ctx: FlowContext) -> list[OutboundMessage]:
    topics = ", ".join(ctx.content.get(load_lead_options).topics)
    return [OutboundMessage(text=ctx.texts.render("broadcasts/staff_help", topics=topics))]


async def handle(ctx: FlowContext, event: InboundEvent) -> list[OutboundMessage]:
    """Answer one ``/broadcast`` command or ``bcs:`` button press from a staff chat.

    Only officers whose chat account is linked to a staff account (``/lienket``) may.
    """
    scope = await staff_chat.staff_scope(ctx, event)
    if scope is None:
        return [OutboundMessage(text=ctx.texts.render("staff/not_linked"))]
    if event.kind is EventKind.CHOICE:
        pressed, _, number = event.text.removeprefix(CHOICE_PREFIX).partition(":")
        return await _act(ctx, event, scope, action=pressed, number=number, extra=[])
    words = event.args.split()
    if not words:
        return _help(ctx)
    typed = ACTIONS.get(words[0].lower())
    if typed == "list":
        return await _list(ctx)
    if typed is not None:
        number = words[1] if len(words) > 1 else ""
        return await _act(ctx, event, scope, action=typed, number=number, extra=words[2:])
    return await _compose(ctx, event, scope, words[0], event.args.split(maxsplit=1)[1:])


async def _compose(
    ctx: FlowContext, event: InboundEvent, scope: Scope, topic: str, rest: list[str]
) -> list[OutboundMessage]:
    topics = ctx.content.get(load_lead_options).topics
    if topic not in topics:
        return _say(ctx, "bad_topic", topic=topic, topics=", ".join(topics))
    body = rest[0].strip() if rest else ""
    audience = Audience() if topic == "all" else Audience(topics=(topic,))
    control = _control(ctx)
    created = await control.compose(
        Draft(body=body, audience=audience),
        created_by=_actor(scope),
        report_to=f"{event.channel}:{event.chat_id}",
    )
    if created.broadcast is None:
        return _result(ctx, created)
    return await _preview(ctx, control, created.broadcast, created.count)


async def _preview(
    ctx: FlowContext, control: BroadcastControl, broadcast: Broadcast, count: int
) -> list[OutboundMessage]:
    message, sample = await control.preview(broadcast)
    audience = Audience.from_dict(broadcast.audience)
    text = ctx.texts.render(
        "broadcasts/preview",
        id=broadcast.id,
        status=ctx.texts.label(f"broadcasts.status.{broadcast.status}"),
        count=count,
        topics=", ".join(audience.topics),
        scheduled=_local(ctx, broadcast.scheduled_at) if broadcast.scheduled_at else "",
        approval=ctx.settings.broadcast_approval_required,
        sample=sample,
        text=message.text,
    )
    choices = (
        _button(ctx, "test", broadcast.id),
        _button(ctx, "send", broadcast.id),
        _button(ctx, "cancel", broadcast.id),
    )
    return [OutboundMessage(text=text, choices=choices)]


async def _list(ctx: FlowContext) -> list[OutboundMessage]:
    items = [
        {
            "id": item.id,
            "status": ctx.texts.label(f"broadcasts.status.{item.status}"),
            "title": item.title,
        }
        for item in await _control(ctx).repo.recent(limit=10)
    ]
    return [OutboundMessage(text=ctx.texts.render("broadcasts/staff_list", items=items))]


async def _act(
    ctx: FlowContext,
    event: InboundEvent,
    scope: Scope,
    *,
    action: str,
    number: str,
    extra: list[str],
) -> list[OutboundMessage]:
    control = _control(ctx)
    broadcast = await control.get(int(number)) if number.isdigit() else None
    if broadcast is None:
        return _result(ctx, Outcome(Result.UNKNOWN), id=number)
    if not _allowed(ctx, scope, broadcast, action):
        return _say(ctx, "not_allowed", id=broadcast.id)
    if action == "test":
        # On Telegram a user's private chat with the bot has the user's id.
        return _result(
            ctx, control.test_send(broadcast, channel=event.channel, chat_id=event.user_id)
        )
    if action == "send":
        return _result(ctx, await control.send(broadcast, actor=_actor(scope)))
    if action == "approve":
        return _result(ctx, await control.approve(broadcast, actor=_actor(scope)))
    if action == "pause":
        return _result(ctx, await control.pause(broadcast))
    if action == "resume":
        return _result(ctx, await control.resume(broadcast))
    if action == "cancel":
        return _result(ctx, await control.cancel(broadcast))
    if action == "schedule":
        return await _schedule(ctx, control, broadcast, " ".join(extra))
    return await _status(ctx, control, broadcast)


async def _schedule(
    ctx: FlowContext, control: BroadcastControl, broadcast: Broadcast, typed: str
) -> list[OutboundMessage]:
    zone = ctx.now.tzinfo
    try:
        at = datetime.strptime(typed.strip(), TIME_FORMAT).replace(tzinfo=zone)
    except ValueError:
        return _say(ctx, "bad_time", id=broadcast.id)
    outcome = await control.schedule(broadcast, at=at)
    return _result(ctx, outcome, scheduled=at.strftime(TIME_FORMAT))


async def _status(
    ctx: FlowContext, control: BroadcastControl, broadcast: Broadcast
) -> list[OutboundMessage]:
    progress = await control.progress(broadcast)
    policy = policy_for(ctx.settings, "telegram")
    replies = [
        progress_message(
            ctx.texts,
            broadcast,
            progress,
            rate_per_second=policy.rate_per_second,
            quiet_until=policy.quiet_until(ctx.now),
            zone=ctx.now.tzinfo,
        )
    ]
    if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
        replies.append(await report_message(ctx.texts, control.repo, broadcast))
    return replies


__all__ = ["handle", "is_broadcast_event"]
