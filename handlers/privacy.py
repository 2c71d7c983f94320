"""Consent and the owner's data rights ("Dữ liệu của tôi"): view, correct, erase.

The consent gate (:func:`consent_request`, :func:`record_consent`) is shared by the flows
that collect personal data (registration, hand-off): nothing personal is asked or stored
before an explicit "Đồng ý" to the current notice version (Law 91/2025 Art. 9; Decree
356/2025: no pre-selected or implied consent), and each answer is recorded as evidence.
Erasure anonymises leads, deletes the message log and conversation state, and records the
withdrawal; anonymous statistics stay.
"""

from __future__ import annotations

from datetime import UTC, date
from typing import Any

from bot.flow import Flow, FlowContext
from bot.leads.catalogue import ConsentNotice, load_notices, load_statuses
from bot.leads.requests import working_days_after
from bot.leads.views import display_phone, label_or_code, lead_view
from bot.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.parsing import ParseError, format_phone_vn, parse_money, parse_phone
from bot.sanitize import bounded_int
from storage.leads import ConsentAction, Lead
from storage.repositories import (
    ACTOR_OWNER,
    PURPOSE_LEAD,
    Consents,
    Handoffs,
    Leads,
    Subscriptions,
    erase_person,
)
from storage.repositories.leads import CORRECTABLE_FIELDS

NAME = "privacy"
DAYS_PER_MONTH = 30
PLATFORM_TELEGRAM = "Telegram"
PLATFORM_ZALO = "Zalo"
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


# --- the consent gate, used by registration and hand-off -----------------------------------


def lead_notice(ctx: FlowContext) -> ConsentNotice:
    return ctx.content.get(load_notices).lead


def request_deadline(ctx: FlowContext) -> dict[str, object]:
    """For staff notices: by when the owner's request must be acknowledged (Decree 356)."""
    rule = ctx.content.get(load_notices).data_requests
    days = rule.acknowledge_within_working_days
    return {
        "reply_by": working_days_after(ctx.today, days),
        "working_days": days,
        "rule": rule.citation,
    }


def notice_text(ctx: FlowContext, *, full: bool = False) -> str:
    """The one-screen notice, or (``full``) every detail of it when the content has them."""
    notice = lead_notice(ctx)
    source = notice.details if full and notice.details else notice.text
    retention_months = max(1, ctx.settings.lead_retention_days // DAYS_PER_MONTH)
    return ctx.texts.render_string(
        source, retention_months=retention_months, platforms=chat_platforms(ctx)
    )


def chat_platforms(ctx: FlowContext) -> list[str]:
    """The chat apps this bot runs on whose servers carry the owner's messages: only those
    configured are named (the web chat is the Center's own server)."""
    settings = ctx.settings
    running = (
        (PLATFORM_TELEGRAM, settings.telegram_enabled),
        (PLATFORM_ZALO, bool(getattr(settings, "zalo_enabled", False))),
    )
    return [name for name, enabled in running if enabled]


async def has_consent(ctx: FlowContext) -> bool:
    """True when the person agreed to the notice version in force (and did not withdraw)."""
    consents = Consents(ctx.session)
    return await consents.has_consent(
        ctx.identity.person_id, PURPOSE_LEAD, lead_notice(ctx).version
    )


def consent_request(ctx: FlowContext, flow: str, *, full: bool = False) -> OutboundMessage:
    """The notice with two equal buttons; nothing is pre-selected or assumed. The short
    notice offers the full one ("Xem thêm"), which carries the same two buttons."""
    choices = [
        Choice(f"{flow}:consent:yes", ctx.texts.label("privacy.agree")),
        Choice(f"{flow}:consent:no", ctx.texts.label("privacy.disagree")),
    ]
    if not full and lead_notice(ctx).details:
        choices.append(Choice(f"{NAME}:notice:{flow}", ctx.texts.label("privacy.more")))
    return OutboundMessage(text=notice_text(ctx, full=full), choices=tuple(choices), columns=2)


async def record_consent(ctx: FlowContext, action: ConsentAction) -> None:
    await Consents(ctx.session).record(
        ctx.identity.person_id,
        identity_id=ctx.identity.identity_id,
        channel=ctx.identity.channel,
        purpose=PURPOSE_LEAD,
        action=action,
        notice_version=lead_notice(ctx).version,
        now=ctx.now,
    )


def refusal_reply(ctx: FlowContext) -> OutboundMessage:
    """After "Không đồng ý": nothing stored, and the public parts of the bot stay open."""
    return OutboundMessage(
        text=ctx.texts.render("privacy/refused"),
        choices=(
            Choice("policies:start", ctx.texts.label("privacy.browse_policies")),
            Choice("eligibility:start", ctx.texts.label("privacy.check_eligibility")),
            Choice("menu:main", ctx.texts.label("nav.menu")),
        ),
    )


def at_menu(conv: Conversation, *drop: str) -> Conversation:
    """Back at the main menu, keeping other flows' data except the keys in ``drop``."""
    data = {key: value for key, value in conv.data.items() if key not in drop}
    return Conversation(flow="menu", step="start", data=data)


def menu_choice(ctx: FlowContext) -> Choice:
    return Choice("menu:main", ctx.texts.label("nav.menu"))


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
        for lead in await Leads(ctx.session).for_person(person_id)
    ]
    consents = [
        {
            "date": consent.created_at.astimezone(zone),
            "action": ctx.texts.label(f"privacy.action.{consent.action}"),
            "purpose": _purpose_text(ctx, consent.purpose),
            "version": consent.notice_version,
            "channel": label_or_code(ctx.texts, f"channel.{consent.channel}", consent.channel),
        }
        for consent in await Consents(ctx.session).for_person(person_id)
    ]
    topics = sorted(await Subscriptions(ctx.session).active_topics(person_id))
    open_handoff = await Handoffs(ctx.session).open_for(ctx.identity.identity_id)
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
    leads = await Leads(ctx.session).for_person(ctx.identity.person_id)
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
    lead = await Leads(ctx.session).get(lead_id)
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
        if event.kind is EventKind.CONTACT:
            contact = event.contact
            if contact is None or contact.owner_user_id != event.user_id:
                return Step(conv, [ctx.say("register/contact_not_yours")])
            raw = contact.phone
        else:
            raw = event.text
        try:
            value = parse_phone(raw)
        except ParseError as error:
            suggestion = format_phone_vn(error.suggestion) if error.suggestion else None
            return Step(
                conv,
                [
                    ctx.say(
                        "parsing/phone_invalid",
                        reason=error.reason.value,
                        suggestion=suggestion,
                        digits=sum(char.isdigit() for char in raw),
                    )
                ],
            )
    elif field == "budget":
        try:
            value = parse_money(event.text)
        except ParseError as error:
            return Step(conv, [ctx.say("parsing/money_invalid", reason=error.reason.value)])
    else:
        value = " ".join(event.text.split())
        if not MIN_TEXT <= len(str(value)) <= MAX_TEXT:
            return Step(conv, [ctx.say("privacy/fix_invalid")])
    changed = await Leads(ctx.session).correct(
        lead, {field: value}, actor=ACTOR_OWNER, now=ctx.now
    )
    if changed:
        notice = OutboundMessage(
            text=ctx.texts.render(
                "staff/lead_corrected",
                code=lead.code,
                fields=[ctx.texts.label(f"privacy.field.{name}") for name in changed],
                **request_deadline(ctx),
            )
        )
        for channel, chat_id in ctx.settings.staff_targets:
            ctx.notify(channel, chat_id, notice, topic=f"lead:{lead.id}")
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
        notice = OutboundMessage(
            text=ctx.texts.render("staff/lead_erased", codes=codes, **request_deadline(ctx))
        )
        for channel, chat_id in ctx.settings.staff_targets:
            ctx.notify(channel, chat_id, notice, topic="erasure")
    ctx.trace["erased_leads"] = len(codes)
    reply = OutboundMessage(
        text=ctx.texts.render("privacy/deleted", count=len(codes)), choices=(menu_choice(ctx),)
    )
    # An empty conversation: the engine writes it back, so nothing stored about them remains.
    return Step(Conversation(flow="menu", step="start", data={}), [reply])


FLOW = Flow(name=NAME, start=start, handle=handle)

__all__ = [
    "FLOW",
    "at_menu",
    "consent_request",
    "has_consent",
    "lead_notice",
    "menu_choice",
    "notice_text",
    "record_consent",
    "refusal_reply",
]
