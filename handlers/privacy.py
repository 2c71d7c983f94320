"""The owner's data rights ("Dữ liệu của tôi"): view, correct, erase, read the notice.

The consent gate itself is in the toolkit (:mod:`handlers.common.consent`). Erasure
anonymises leads, deletes the message log and conversation state, and records the
withdrawal; anonymous statistics stay, and the erasure step itself is not logged.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.core.sanitize import bounded_int
from bot.leads.catalogue import load_notices, load_statuses
from bot.leads.requests import working_days_after
from bot.leads.views import display_phone, label_or_code, lead_view
from bot.parsing import ParseError, parse_money
from handlers.common import (
    consent_request,
    menu_choice,
    notice_text,
    notify_staff,
    read_phone,
    record_consent,
)
from storage.models import ConsentAction, Lead
from storage.repositories import ACTOR_OWNER, CORRECTABLE_FIELDS, erase_person

NAME = "privacy"
#: Consent purposes (the part before ":") and the label that names them.
PURPOSE_LABELS = {"lead": "privacy.purpose.lead", "subscribe": "privacy.purpose.subscription"}
#: Flows that ask for consent; their name is carried by the "Xem thêm" of the notice.
CONSENT_FLOWS = frozenset({"register", "handoff"})
MAX_TEXT = 500
MIN_TEXT = 2
#: Fields the owner may correct from here, in the order offered.
FIX_FIELDS: tuple[str, ...] = (
    "full_name",
    "phone",
    "facility_name",
    "commune_name",
    "products",
    "need",
    "budget",
)


def _request_deadline(ctx: FlowContext) -> dict[str, object]:
    """For staff notices: by when the owner's request must be acknowledged (Decree 356)."""
    rule = ctx.content.get(load_notices).data_requests
    days = rule.acknowledge_within_working_days
    return {
        "reply_by": working_days_after(ctx.today, days),
        "working_days": days,
        "rule": rule.citation,
    }


# --- the "Dữ liệu của tôi" flow -------------------------------------------------------------


def _home(ctx: FlowContext) -> OutboundMessage:
    return OutboundMessage(
        text=ctx.texts.render("privacy/home"),
        choices=(
            Choice("privacy:view", ctx.texts.label("privacy.view")),
            Choice("privacy:fix", ctx.texts.label("privacy.fix")),
            Choice("privacy:delete", ctx.texts.label("privacy.delete")),
            Choice("privacy:notice", ctx.texts.label("privacy.notice")),
            menu_choice(ctx),
        ),
    )


def _state(conv: Conversation) -> dict[str, Any]:
    raw = conv.data.get(NAME) if conv.flow == NAME else None
    return dict(raw) if isinstance(raw, dict) else {}


def _in_flow(conv: Conversation, step: str, state: dict[str, Any]) -> Conversation:
    return Conversation(flow=NAME, step=step, data={**conv.data, NAME: state})


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    return Step(_in_flow(conv, "home", {}), [_home(ctx)])


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    state = _state(conv)
    if event.kind is EventKind.CHOICE:
        return await _on_choice(ctx, conv, event.text, state)
    if conv.step == "fix_value" and event.kind in (EventKind.TEXT, EventKind.CONTACT):
        return await _fix_value(ctx, conv, event, state)
    return Step(_in_flow(conv, "home", {}), [_home(ctx)])


async def _on_choice(
    ctx: FlowContext, conv: Conversation, choice: str, state: dict[str, Any]
) -> Step:
    _, _, rest = choice.partition(":")
    action, _, arg = rest.partition(":")
    if action == "view":
        return Step(_in_flow(conv, "home", {}), [await _view(ctx, conv), _home(ctx)])
    if action == "notice" and arg in CONSENT_FLOWS:
        # "Xem thêm" under a consent request: the full notice, the owner stays where they are.
        return Step(conv, [consent_request(ctx, arg, full=True)])
    if action == "notice":
        return Step(
            _in_flow(conv, "home", {}),
            [OutboundMessage(text=notice_text(ctx, full=True)), _home(ctx)],
        )
    if action == "fix":
        return await _fix_pick_lead(ctx, conv)
    if action == "fixlead" and (lead_id := bounded_int(arg)) is not None:
        return await _fix_pick_field(ctx, conv, lead_id)
    if action == "fixfield" and arg in FIX_FIELDS and "lead" in state:
        prompt = OutboundMessage(
            text=ctx.texts.render(
                "privacy/fix_ask", field=ctx.texts.label(f"privacy.field.{arg}")
            ),
            request_contact=arg == "phone",
        )
        return Step(_in_flow(conv, "fix_value", {**state, "field": arg}), [prompt])
    if action == "delete" and not arg:
        return Step(
            _in_flow(conv, "delete", {}),
            [
                OutboundMessage(
                    text=ctx.texts.render("privacy/delete_confirm"),
                    choices=(
                        Choice("privacy:delete:yes", ctx.texts.label("privacy.delete_yes")),
                        Choice("privacy:delete:no", ctx.texts.label("privacy.delete_no")),
                    ),
                )
            ],
        )
    if action == "delete" and arg == "yes":
        return await _erase(ctx, conv)
    return Step(_in_flow(conv, "home", {}), [_home(ctx)])


async def _view(ctx: FlowContext, conv: Conversation) -> OutboundMessage:
    """Everything stored about the person, in plain words."""
    person_id = ctx.identity.person_id
    zone = ctx.now.tzinfo or UTC
    statuses = ctx.content.get(load_statuses)
    leads = [
        lead_view(lead, texts=ctx.texts, statuses=statuses, zone=zone)
        for lead in await ctx.repos.leads.for_person(person_id)
    ]
    consents = [
        {
            "date": consent.created_at.astimezone(zone),
            "action": ctx.texts.label(f"privacy.action.{consent.action}"),
            "purpose": _purpose_text(ctx, consent.purpose),
            "version": consent.notice_version,
            "channel": label_or_code(ctx.texts, f"channel.{consent.channel}", consent.channel),
        }
        for consent in await ctx.repos.consents.for_person(person_id)
    ]
    topics = sorted(await ctx.repos.subscriptions.active_topics(person_id))
    open_handoff = await ctx.repos.handoffs.open_for(ctx.identity.identity_id)
    eligibility = conv.data.get("eligibility")
    evaluated_on = _day(eligibility.get("evaluated_on")) if isinstance(eligibility, dict) else None
    return OutboundMessage(
        text=ctx.texts.render(
            "privacy/view",
            leads=leads,
            consents=consents,
            topics=[ctx.texts.label(f"subscribe.topic.{topic}") for topic in topics],
            handoff_open=open_handoff is not None,
            channel=label_or_code(
                ctx.texts, f"channel.{ctx.identity.channel}", ctx.identity.channel
            ),
            has_eligibility=isinstance(eligibility, dict),
            evaluated_on=evaluated_on,
        )
    )


def _purpose_text(ctx: FlowContext, purpose: str) -> str:
    """What a consent was for, in words: never the stored key ("lead", "subscribe:fairs")."""
    kind, _, topic = purpose.partition(":")
    key = PURPOSE_LABELS.get(kind, "")
    if not key:
        return purpose
    text = ctx.texts.label(key)
    topic_key = f"subscribe.topic.{topic}"
    if topic and ctx.texts.has_label(topic_key):
        text = f"{text}: {ctx.texts.label(topic_key)}"
    return text


def _day(raw: object) -> date | None:
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        return None


async def _fix_pick_lead(ctx: FlowContext, conv: Conversation) -> Step:
    leads = await ctx.repos.leads.for_person(ctx.identity.person_id)
    if not leads:
        return Step(_in_flow(conv, "home", {}), [ctx.say("privacy/nothing_to_fix"), _home(ctx)])
    if len(leads) == 1:
        return await _fix_pick_field(ctx, conv, leads[0].id)
    choices = tuple(
        Choice(f"privacy:fixlead:{lead.id}", lead.code or str(lead.id)) for lead in leads[:8]
    )
    return Step(
        _in_flow(conv, "fix_lead", {}),
        [OutboundMessage(text=ctx.texts.render("privacy/fix_which_lead"), choices=choices)],
    )


async def _own_lead(ctx: FlowContext, lead_id: int) -> Lead | None:
    lead = await ctx.repos.leads.get(lead_id)
    if lead is None or lead.person_id != ctx.identity.person_id or lead.anonymised_at:
        return None
    return lead


async def _fix_pick_field(ctx: FlowContext, conv: Conversation, lead_id: int) -> Step:
    lead = await _own_lead(ctx, lead_id)
    if lead is None:
        return Step(_in_flow(conv, "home", {}), [_home(ctx)])
    choices = tuple(
        Choice(f"privacy:fixfield:{field}", ctx.texts.label(f"privacy.field.{field}"))
        for field in FIX_FIELDS
    )
    text = ctx.texts.render("privacy/fix_which_field", code=lead.code)
    return Step(
        _in_flow(conv, "fix_field", {"lead": lead.id}),
        [OutboundMessage(text=text, choices=(*choices, menu_choice(ctx)), columns=2)],
    )


async def _fix_value(
    ctx: FlowContext, conv: Conversation, event: InboundEvent, state: dict[str, Any]
) -> Step:
    field = str(state.get("field", ""))
    lead = await _own_lead(ctx, int(state.get("lead", 0)))
    if lead is None or field not in FIX_FIELDS or field not in CORRECTABLE_FIELDS:
        return Step(_in_flow(conv, "home", {}), [_home(ctx)])
    value: object
    if field == "phone":
        reading = read_phone(ctx, event)
        if reading is None or reading.problem is not None:
            return Step(conv, [reading.problem] if reading and reading.problem else [])
        value = reading.phone
    elif field == "budget":
        try:
            value = parse_money(event.text)
        except ParseError as error:
            return Step(conv, [ctx.say("parsing/money_invalid", reason=error.reason.value)])
    else:
        value = " ".join(event.text.split())
        if not MIN_TEXT <= len(str(value)) <= MAX_TEXT:
            return Step(conv, [ctx.say("privacy/fix_invalid")])
    changed = await ctx.repos.leads.correct(lead, {field: value}, actor=ACTOR_OWNER, now=ctx.now)
    if changed:
        notice = ctx.texts.render(
            "staff/lead_corrected",
            code=lead.code,
            fields=[ctx.texts.label(f"privacy.field.{name}") for name in changed],
            **_request_deadline(ctx),
        )
        notify_staff(ctx, notice, topic=f"lead:{lead.id}")
    shown = display_phone(str(value)) if field == "phone" else value
    reply = ctx.say(
        "privacy/fixed",
        code=lead.code,
        field=ctx.texts.label(f"privacy.field.{field}"),
        value=shown,
        changed=bool(changed),
    )
    return Step(_in_flow(conv, "home", {}), [reply, _home(ctx)])


async def _erase(ctx: FlowContext, conv: Conversation) -> Step:
    """Erase, record the withdrawal, tell staff which codes were anonymised."""
    report = await erase_person(
        ctx.session,
        ctx.identity.person_id,
        now=ctx.now,
        current_identity_id=ctx.identity.identity_id,
    )
    await record_consent(ctx, ConsentAction.WITHDRAW)
    codes = [code for code in report.lead_codes if code]
    if codes:
        text = ctx.texts.render("staff/lead_erased", codes=codes, **_request_deadline(ctx))
        notify_staff(ctx, text, topic="erasure")
    ctx.leave_no_trace()
    ctx.trace["erased_leads"] = len(codes)
    reply = OutboundMessage(
        text=ctx.texts.render("privacy/deleted", count=len(codes)), choices=(menu_choice(ctx),)
    )
    # An empty conversation: the engine writes it back, so nothing stored about them remains.
    return Step(Conversation(flow="menu", step="start", data={}), [reply])


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"dulieu": "start"},
    menu_entry="menu.privacy",
    draft_key=NAME,
)

__all__ = ["FLOW"]
