"""Registering interest ("Đăng ký nhu cầu"): consent, a short form, one lead per confirmation.

Order matters: the consent notice comes before any personal question, and nothing the
owner types is kept before "Đồng ý". Answers the eligibility check already gave (facility
type, commune, products, support wanted, machine cost) are reused, not asked again. The
confirm button carries the draft id, and the draft id is unique in the lead history, so a
double tap, a redelivered update or a retry by another worker yields one lead.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.eligibility import load_eligibility
from bot.eligibility.answers import is_unknown_answer
from bot.leads.catalogue import LeadOptions, load_lead_options, load_statuses
from bot.leads.codes import format_lead_code
from bot.leads.views import display_phone, kinds_text, label_or_code, lead_view, programme_titles
from bot.parsing import ParseError, content_gazetteer, parse_money
from handlers.common import (
    back_to_menu,
    consent_request,
    has_consent,
    lead_notice,
    load_state,
    menu_choice,
    notify_staff,
    read_phone,
    record_consent,
    refusal_reply,
    save_state,
)
from storage.models import ConsentAction, Lead
from storage.repositories import LeadFields, Outcome

NAME = "register"
ELIGIBILITY_KEY = "eligibility"
#: An eligibility check in progress (its answers so far under "facts").
ELIGIBILITY_PROGRESS_KEY = "eligibility_progress"
#: Communes offered when a typed name matches several official units.
COMMUNE_CHOICES = 5
COMMUNE_TYPED = "typed"
#: The form, in the order asked. A field already answered (or reused) is skipped.
FIELDS: tuple[str, ...] = (
    "full_name",
    "phone",
    "facility_name",
    "facility_type",
    "commune_name",
    "products",
    "support_kinds",
    "need",
    "budget",
    "call_time",
)
#: Fields that may be left empty with the "Chưa rõ / Bỏ qua" button.
SKIPPABLE = frozenset({"need", "budget"})
MIN_TEXT = 2
MAX_NAME = 120
MAX_FACILITY = 200
MAX_TEXT = 1000
MAX_CALL_TIME = 120
#: The eligibility fact holding the cost of the machine, reused as the budget for machinery.
MACHINE_COST_FACT = "machine_cost"
MACHINERY = "machinery"


def _options(ctx: FlowContext) -> LeadOptions:
    return ctx.content.get(load_lead_options)


@dataclass(frozen=True, slots=True)
class RegistrationDraft:
    """The half-filled form, in ``conv.data["register"]`` (personal: dropped on cancel).

    ``draft`` is empty until the owner agreed to the notice: before that only the
    programme (not personal) is kept.
    """

    programme: str = ""
    #: The draft id (carried by the confirm button, unique in the lead history).
    draft: str = ""
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    #: Answering one field from the summary's "Sửa" menu: back to the summary after it.
    editing: bool = False
    #: A typed commune that matched several official units, and those units (code → name),
    #: while the owner picks one.
    commune_text: str = ""
    commune_options: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> RegistrationDraft:
        fields = data.get("fields")
        options = data.get("commune_options")
        return cls(
            programme=str(data.get("programme") or ""),
            draft=str(data.get("draft") or ""),
            fields=dict(fields) if isinstance(fields, Mapping) else {},
            editing=bool(data.get("editing")),
            commune_text=str(data.get("commune_text") or ""),
            commune_options=(
                {str(k): str(v) for k, v in options.items()}
                if isinstance(options, Mapping)
                else {}
            ),
        )

    def to_data(self) -> dict[str, Any]:
        data: dict[str, Any] = {"programme": self.programme}
        if self.draft:
            data.update(draft=self.draft, fields=dict(self.fields))
        if self.editing:
            data["editing"] = True
        if self.commune_options:
            data.update(commune_text=self.commune_text, commune_options=dict(self.commune_options))
        return data

    def answered(self, name: str, value: object) -> RegistrationDraft:
        return replace(self, fields={**self.fields, name: value})


def _state(conv: Conversation) -> RegistrationDraft:
    # Read even from another flow: an old "Gửi đăng ký" button still confirms its draft.
    return load_state(conv, NAME, RegistrationDraft)


def _at(conv: Conversation, step: str, state: RegistrationDraft) -> Conversation:
    return save_state(conv, flow=NAME, step=step, key=NAME, state=state)


# --- entry ----------------------------------------------------------------------------------


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    programme = ""
    if event.kind is EventKind.CHOICE and event.text.startswith(f"{NAME}:start:"):
        programme = event.text.removeprefix(f"{NAME}:start:")
    if not await has_consent(ctx):
        # Only the programme id (not personal) is kept until the owner agrees.
        state = RegistrationDraft(programme=programme)
        return Step(_at(conv, "consent", state), [consent_request(ctx, NAME)])
    return await _begin(ctx, conv, programme)


async def _begin(ctx: FlowContext, conv: Conversation, programme: str) -> Step:
    """A new draft, pre-filled from the eligibility answers and the owner's last lead."""
    fields = _reused_answers(ctx, conv, programme)
    latest = next(iter(await ctx.repos.leads.for_person(ctx.identity.person_id)), None)
    if latest is not None:
        fields.setdefault("full_name", latest.full_name)
        fields.setdefault("phone", latest.phone)
        fields.setdefault("facility_name", latest.facility_name)
    state = RegistrationDraft(programme=programme, draft=uuid.uuid4().hex, fields=fields)
    intro = ctx.say("register/intro", reused=sorted(fields))
    return _next(ctx, conv, state, intro=intro)


def _eligibility_answers(conv: Conversation) -> dict[str, Any]:
    """The last check's answers, then those of a check left unfinished (newer): an owner who
    stopped at question 7 is not asked the first six again."""
    answers: dict[str, Any] = {}
    eligibility = conv.data.get(ELIGIBILITY_KEY)
    finished = eligibility.get("answers") if isinstance(eligibility, Mapping) else None
    if isinstance(finished, Mapping):
        answers.update(finished)
    progress = conv.data.get(ELIGIBILITY_PROGRESS_KEY)
    facts = progress.get("facts") if isinstance(progress, Mapping) else None
    if isinstance(facts, Mapping):
        answers.update({key: value for key, value in facts.items() if value is not None})
    return answers


def _reused_answers(ctx: FlowContext, conv: Conversation, programme: str) -> dict[str, Any]:
    answers = _eligibility_answers(conv)
    options = _options(ctx)
    fields: dict[str, Any] = {}
    facility_type = answers.get("facility_type")
    if isinstance(facility_type, str) and facility_type in options.facility_types:
        fields["facility_type"] = facility_type
    unit_name = answers.get("unit_name")
    if isinstance(unit_name, str) and unit_name:
        fields["commune_name"] = unit_name
        fields["commune_code"] = str(answers.get("unit_code") or "")
    products = answers.get("products")
    if isinstance(products, str) and products.strip():
        fields["products"] = products.strip()
    elif isinstance(products, list) and products:
        fields["products"] = ", ".join(str(item) for item in products)
    kinds: list[str] = []
    wanted = answers.get("support_wanted")
    for reference in [programme, *(wanted if isinstance(wanted, list) else [wanted])]:
        if isinstance(reference, str) and reference:
            kinds += [kind for kind in options.kinds_for(reference) if kind not in kinds]
    if kinds:
        fields["support_kinds"] = kinds
    cost = answers.get(MACHINE_COST_FACT)
    if MACHINERY in kinds and isinstance(cost, int) and cost > 0:
        fields["budget"] = cost
    return fields


# --- every later event ----------------------------------------------------------------------


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    state = _state(conv)
    if event.kind is EventKind.CHOICE:
        return await _on_choice(ctx, conv, event, state)
    if conv.step == "consent" or not state.draft:
        if conv.step == "consent":
            return Step(conv, [consent_request(ctx, NAME)])
        return await start(ctx, conv, event)
    field = conv.step.removeprefix("ask:")
    if conv.step.startswith("ask:") and field in FIELDS:
        return await _on_answer(ctx, conv, event, state, field)
    return Step(conv, [_summary(ctx, state)])


async def _on_choice(
    ctx: FlowContext, conv: Conversation, event: InboundEvent, state: RegistrationDraft
) -> Step:
    _, _, rest = event.text.partition(":")
    action, _, arg = rest.partition(":")
    if action == "start":
        return await start(ctx, conv, event)
    if action == "consent":
        if arg == "yes":
            await record_consent(ctx, ConsentAction.CONSENT)
            return await _begin(ctx, conv, state.programme)
        await record_consent(ctx, ConsentAction.REFUSE)
        return Step(back_to_menu(conv, NAME), [refusal_reply(ctx)])
    if action == "ok":
        return await _confirm(ctx, conv, state, arg)
    if not state.draft:
        return Step(back_to_menu(conv, NAME), [_expired(ctx)])
    fields = state.fields
    options = _options(ctx)
    if action == "cancel":
        return Step(back_to_menu(conv, NAME), [ctx.say("register/cancelled"), _menu_only(ctx)])
    if action == "edit" and not arg:
        return Step(_at(conv, "edit", state), [_edit_menu(ctx)])
    if action == "edit" and arg in FIELDS:
        state = replace(state, editing=True)
        return Step(_at(conv, f"ask:{arg}", state), [_question(ctx, arg, fields)])
    if action == "type" and arg in options.facility_types:
        return _store(ctx, conv, state, "facility_type", arg)
    if action == "commune" and conv.step == "ask:commune_name":
        offered = state.commune_options
        if arg in offered:
            name = offered[arg].split(",", 1)[0]
            return _store_commune(ctx, conv, state, name, arg)
        if arg == COMMUNE_TYPED and state.commune_text:
            return _store_commune(ctx, conv, state, state.commune_text, "")
    if action == "call" and arg in options.call_times:
        return _store(ctx, conv, state, "call_time", arg)
    if action == "skip" and arg in SKIPPABLE:
        return _store(ctx, conv, state, arg, None if arg == "budget" else "")
    if action == "kind" and arg in options.kinds:
        kinds = list(fields.get("support_kinds", []))
        kinds = [kind for kind in kinds if kind != arg] if arg in kinds else [*kinds, arg]
        state = state.answered("support_kinds", kinds)
        return Step(
            _at(conv, "ask:support_kinds", state), [_question(ctx, "support_kinds", state.fields)]
        )
    if action == "kinds_done":
        if not fields.get("support_kinds"):
            return Step(
                conv, [ctx.say("register/kinds_empty"), _question(ctx, "support_kinds", fields)]
            )
        return _after_answer(ctx, conv, state)
    return Step(conv, [_current_prompt(ctx, conv, state)])


async def _on_answer(
    ctx: FlowContext,
    conv: Conversation,
    event: InboundEvent,
    state: RegistrationDraft,
    field: str,
) -> Step:
    if field == "phone":
        return _on_phone(ctx, conv, event, state)
    if event.kind is not EventKind.TEXT:
        return Step(conv, [_question(ctx, field, state.fields)])
    text = " ".join(event.text.split())
    if field == "budget":
        if is_unknown_answer(text, ctx.content.get(load_eligibility).settings):
            return _store(ctx, conv, state, "budget", None)  # "không biết" = "Chưa rõ"
        try:
            amount = parse_money(text)
        except ParseError as error:
            # Why it was not read, then the same question with its "Chưa rõ" button.
            return Step(
                conv,
                [
                    ctx.say("parsing/money_invalid", reason=error.reason.value),
                    _question(ctx, field, state.fields),
                ],
            )
        return _store(ctx, conv, state, "budget", amount)
    if field in ("facility_type", "support_kinds"):
        # Typed labels and numbers are mapped to buttons by the engine; anything else re-asks.
        return Step(conv, [_question(ctx, field, state.fields)])
    limit = {
        "full_name": MAX_NAME,
        "facility_name": MAX_FACILITY,
        "commune_name": MAX_NAME,
        "call_time": MAX_CALL_TIME,
    }.get(field, MAX_TEXT)
    if not MIN_TEXT <= len(text) <= limit or not any(char.isalpha() for char in text):
        return Step(
            conv,
            [
                ctx.say("register/invalid_text", field=field, limit=limit),
                _question(ctx, field, state.fields),
            ],
        )
    if field == "commune_name":
        return await _on_commune(ctx, conv, state, text)
    return _store(ctx, conv, state, field, text)


async def _on_commune(
    ctx: FlowContext, conv: Conversation, state: RegistrationDraft, text: str
) -> Step:
    """A typed commune becomes the official unit (name and code) when it is recognised; with
    several candidates the owner picks one, or keeps what they typed for staff to check."""
    gazetteer = await asyncio.to_thread(ctx.content.get, content_gazetteer)
    province = ctx.content.get(load_eligibility).settings.default_province_code
    matches = gazetteer.find_units(text, limit=COMMUNE_CHOICES, prefer_province_code=province)
    if len(matches) == 1:
        return _store_commune(ctx, conv, state, matches[0].name, str(matches[0].code))
    if not matches:
        return _store_commune(ctx, conv, state, text, "")
    options = {str(match.code): f"{match.name}, {match.province_name}" for match in matches}
    state = replace(state, commune_text=text, commune_options=options)
    return Step(_at(conv, "ask:commune_name", state), [_commune_pick(ctx, state)])


def _commune_pick(ctx: FlowContext, state: RegistrationDraft) -> OutboundMessage:
    options = state.commune_options
    typed = state.commune_text
    choices = [Choice(f"{NAME}:commune:{code}", name) for code, name in options.items()]
    keep = ctx.texts.label("register.commune_keep", typed=typed[:40])
    choices.append(Choice(f"{NAME}:commune:{COMMUNE_TYPED}", keep))
    return OutboundMessage(
        text=ctx.texts.render("register/commune_pick", typed=typed), choices=tuple(choices)
    )


def _store_commune(
    ctx: FlowContext, conv: Conversation, state: RegistrationDraft, name: str, code: str
) -> Step:
    state = replace(state, commune_text="", commune_options={}).answered("commune_code", code)
    return _store(ctx, conv, state, "commune_name", name)


def _on_phone(
    ctx: FlowContext, conv: Conversation, event: InboundEvent, state: RegistrationDraft
) -> Step:
    reading = read_phone(ctx, event)
    if reading is None:
        return Step(conv, [_question(ctx, "phone", {})])
    if reading.not_yours:  # someone else's card: refused, and nothing of it is kept
        assert reading.problem is not None
        return Step(conv, [reading.problem, _question(ctx, "phone", {})])
    if reading.problem is not None:
        return Step(conv, [reading.problem])
    return _store(ctx, conv, state, "phone", reading.phone)


def _store(
    ctx: FlowContext, conv: Conversation, state: RegistrationDraft, name: str, value: object
) -> Step:
    return _after_answer(ctx, conv, state.answered(name, value))


def _after_answer(ctx: FlowContext, conv: Conversation, state: RegistrationDraft) -> Step:
    if state.editing:
        state = replace(state, editing=False)
        return Step(_at(conv, "summary", state), [_summary(ctx, state)])
    return _next(ctx, conv, state)


def _next(
    ctx: FlowContext,
    conv: Conversation,
    state: RegistrationDraft,
    *,
    intro: OutboundMessage | None = None,
) -> Step:
    """Ask the first field not answered yet, or show the summary."""
    fields = state.fields
    replies = [intro] if intro is not None else []
    for field in FIELDS:
        if field not in fields:
            replies.append(_question(ctx, field, fields))
            return Step(_at(conv, f"ask:{field}", state), replies)
    replies.append(_summary(ctx, state))
    return Step(_at(conv, "summary", state), replies)


# --- questions and summary ------------------------------------------------------------------


def _question(ctx: FlowContext, field: str, fields: Mapping[str, Any]) -> OutboundMessage:
    texts, options = ctx.texts, _options(ctx)
    text = texts.render(f"register/ask_{field}")
    if field == "phone":
        return OutboundMessage(text=text, request_contact=True)
    if field == "facility_type":
        choices = tuple(
            Choice(f"{NAME}:type:{code}", texts.label(f"register.facility.{code}"))
            for code in options.facility_types
        )
        return OutboundMessage(text=text, choices=choices)
    if field == "support_kinds":
        chosen = set(fields.get("support_kinds", []))
        choices = tuple(
            Choice(
                f"{NAME}:kind:{kind}",
                texts.label(
                    "register.kind_on" if kind in chosen else "register.kind_off",
                    kind=texts.label(f"register.kind.{kind}"),
                ),
                pressed=kind in chosen,
            )
            for kind in options.kinds
        )
        done = Choice(f"{NAME}:kinds_done", texts.label("register.kinds_done"))
        return OutboundMessage(text=text, choices=(*choices, done))
    if field == "call_time":
        choices = tuple(
            Choice(f"{NAME}:call:{code}", texts.label(f"register.call.{code}"))
            for code in options.call_times
        )
        return OutboundMessage(text=text, choices=choices)
    if field in SKIPPABLE:
        skip = Choice(f"{NAME}:skip:{field}", texts.label(f"register.skip.{field}"))
        return OutboundMessage(text=text, choices=(skip,))
    return OutboundMessage(text=text)


def _current_prompt(
    ctx: FlowContext, conv: Conversation, state: RegistrationDraft
) -> OutboundMessage:
    field = conv.step.removeprefix("ask:")
    if conv.step.startswith("ask:") and field in FIELDS:
        return _question(ctx, field, state.fields)
    if conv.step == "edit":
        return _edit_menu(ctx)
    return _summary(ctx, state)


def _summary_values(ctx: FlowContext, fields: Mapping[str, Any]) -> dict[str, Any]:
    texts = ctx.texts
    facility_type = str(fields.get("facility_type") or "")
    call_time = str(fields.get("call_time") or "")
    budget = fields.get("budget")
    return {
        "full_name": fields.get("full_name", ""),
        "phone": display_phone(str(fields.get("phone") or "")),
        "facility_name": fields.get("facility_name", ""),
        "facility_type": label_or_code(texts, f"register.facility.{facility_type}", facility_type),
        "commune": fields.get("commune_name", ""),
        "products": fields.get("products", ""),
        "kinds": kinds_text(texts, list(fields.get("support_kinds", []))),
        "need": fields.get("need", ""),
        "budget": budget if isinstance(budget, int) else None,
        "call_time": label_or_code(texts, f"register.call.{call_time}", call_time),
    }


def _summary(ctx: FlowContext, state: RegistrationDraft) -> OutboundMessage:
    values = _summary_values(ctx, state.fields)
    return OutboundMessage(
        text=ctx.texts.render("register/summary", lead=values),
        choices=(
            Choice(f"{NAME}:ok:{state.draft}", ctx.texts.label("register.confirm")),
            Choice(f"{NAME}:edit", ctx.texts.label("register.edit")),
            Choice(f"{NAME}:cancel", ctx.texts.label("register.cancel")),
        ),
    )


def _edit_menu(ctx: FlowContext) -> OutboundMessage:
    choices = tuple(
        Choice(f"{NAME}:edit:{field}", ctx.texts.label(f"register.field.{field}"))
        for field in FIELDS
    )
    return OutboundMessage(
        text=ctx.texts.render("register/edit_which"), choices=choices, columns=2
    )


def _expired(ctx: FlowContext) -> OutboundMessage:
    return OutboundMessage(
        text=ctx.texts.render("register/expired"),
        choices=(Choice(f"{NAME}:start", ctx.texts.label("register.again")), menu_choice(ctx)),
    )


def _menu_only(ctx: FlowContext) -> OutboundMessage:
    return OutboundMessage(
        text=ctx.texts.render("register/back_to_menu"), choices=(menu_choice(ctx),)
    )


def _after_lead(ctx: FlowContext) -> tuple[Choice, ...]:
    return (
        Choice("myleads:start", ctx.texts.label("register.my_leads")),
        Choice("subscribe:start", ctx.texts.label("register.subscribe")),
        menu_choice(ctx),
    )


# --- confirmation ---------------------------------------------------------------------------


async def _confirm(
    ctx: FlowContext, conv: Conversation, state: RegistrationDraft, draft_id: str
) -> Step:
    leads = ctx.repos.leads
    done = await leads.by_draft(draft_id)
    if done is not None and done.person_id == ctx.identity.person_id:
        # A second tap or a redelivered update: the same lead, nothing new is written.
        reply = OutboundMessage(
            text=ctx.texts.render("register/already", code=done.code), choices=_after_lead(ctx)
        )
        return Step(back_to_menu(conv, NAME) if state.draft == draft_id else conv, [reply])
    if state.draft != draft_id or not _complete(state.fields):
        return Step(back_to_menu(conv, NAME), [_expired(ctx)])
    if not await has_consent(ctx):
        return Step(
            _at(conv, "consent", RegistrationDraft(programme=state.programme)),
            [consent_request(ctx, NAME)],
        )
    fields = state.fields
    submission = await leads.submit(
        draft_id,
        LeadFields(
            full_name=str(fields["full_name"]),
            phone=str(fields["phone"]),
            facility_name=str(fields.get("facility_name", "")),
            facility_type=str(fields.get("facility_type", "")),
            commune_code=str(fields.get("commune_code", "")),
            commune_name=str(fields.get("commune_name", "")),
            products=str(fields.get("products", "")),
            support_kinds=tuple(fields.get("support_kinds", [])),
            need=str(fields.get("need", "") or ""),
            budget=fields.get("budget") if isinstance(fields.get("budget"), int) else None,
            call_time=str(fields.get("call_time", "")),
            programme_id=state.programme,
            eligibility=_eligibility_record(conv),
        ),
        person_id=ctx.identity.person_id,
        identity_id=ctx.identity.identity_id,
        channel=ctx.identity.channel,
        notice_version=lead_notice(ctx).version,
        now=ctx.now,
        make_code=lambda lead_id: format_lead_code(lead_id, ctx.now.year),
    )
    lead = submission.lead
    ctx.trace.update(lead_id=lead.id, lead_outcome=submission.outcome.value)
    if submission.outcome is not Outcome.DUPLICATE:
        _tell_staff(ctx, lead, updated=submission.outcome is Outcome.UPDATED)
    template = "register/updated" if submission.outcome is Outcome.UPDATED else "register/done"
    reply = OutboundMessage(
        text=ctx.texts.render(template, code=lead.code), choices=_after_lead(ctx)
    )
    return Step(back_to_menu(conv, NAME), [reply])


def _complete(fields: Mapping[str, Any]) -> bool:
    return (
        bool(fields.get("full_name"))
        and bool(fields.get("phone"))
        and bool(fields.get("support_kinds"))
    )


def _eligibility_record(conv: Conversation) -> dict[str, Any]:
    """What the owner was told by the eligibility check, kept for staff (JSON)."""
    eligibility = conv.data.get(ELIGIBILITY_KEY)
    return dict(eligibility) if isinstance(eligibility, Mapping) else {}


def _tell_staff(ctx: FlowContext, lead: Lead, *, updated: bool) -> None:
    """Post the lead, unmasked, to every staff chat (after the commit, via the outbox)."""
    zone = ctx.now.tzinfo
    assert zone is not None
    view = lead_view(
        lead,
        texts=ctx.texts,
        statuses=ctx.content.get(load_statuses),
        zone=zone,
        programmes=programme_titles(ctx.content),
    )
    text = ctx.texts.render("staff/new_lead", lead=view, updated=updated)
    notify_staff(ctx, text, topic=f"lead:{lead.id}")


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"dangky": "start"},
    menu_entry="menu.register",
    draft_key=NAME,
)

__all__ = ["FIELDS", "FLOW"]
