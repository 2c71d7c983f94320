"""The eligibility check as a chat: one question at a time, then an explained verdict.

The questions, rules and texts are content (``content/eligibility/``, templates under
``templates/eligibility/``); this module only walks the questionnaire. Everything it keeps
lives in ``conv.data`` as JSON, so a check interrupted today resumes next week:

* ``conv.data["eligibility_progress"]``: the answers so far (see ``content/eligibility/facts.md``);
* ``conv.data["eligibility"]``: the last result, ``{"answers", "verdicts", "evaluated_on"}``,
  which the registration flow reuses.

Choice ids: ``eligibility:a:<question>:<option>`` (an answer), ``eligibility:place:<code>``
(a commune-level unit), ``eligibility:back``, ``eligibility:restart``,
``eligibility:resume:continue``, ``eligibility:start[:<programme>]``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from bot.core.content import Content
from bot.core.flow import Flow, FlowContext
from bot.core.messages import Choice, Conversation, EventKind, InboundEvent, OutboundMessage, Step
from bot.core.paging import OWNER_MESSAGE_LIMIT
from bot.eligibility import (
    ALL_PROGRAMMES,
    LOCATION_FACTS,
    SUPPORT_FACT,
    AnswerType,
    EligibilityContent,
    Outcome,
    ProgrammeVerdict,
    Question,
    evaluate,
    interpret_choice_text,
    interpret_multi_text,
    interpret_yes_no,
    load_eligibility,
    next_question,
    programmes_in_scope,
)
from bot.eligibility.answers import is_unknown_answer
from bot.eligibility.places import MAX_PLACE_MATCHES, next_page, place_page
from bot.nlu import fold
from bot.parsing import (
    Gazetteer,
    ParseError,
    PlaceMatch,
    content_gazetteer,
    looks_like_former_address,
    parse_money,
    parse_number,
)
from bot.policy import Catalogue, load_catalogue
from handlers.common import back_to_menu, menu_choice

NAME = "eligibility"
PROGRESS_KEY = "eligibility_progress"
RESULT_KEY = "eligibility"
ASK_STAFF_CHOICE = "handoff:start"
REGISTER_CHOICE = "register:start:{programme}"

STEP_QUESTION = "question"
STEP_PLACE = "place"
STEP_RESUME = "resume"

ANSWER = "a"
PLACE = "place"
BACK = "back"
RESTART = "restart"
RESUME = "resume"
CONTINUE = "continue"
START = "start"
#: Under a verdict: the reasons and documents, or the legal provisions (on demand).
MORE = "more"
LEGAL = "legal"
#: Option ids the flow adds to every question (never used by content options).
UNKNOWN_OPTION = "unknown"
DONE_OPTION = "done"
NONE_OPTION = "none"
YES_OPTION = "yes"
NO_OPTION = "no"
PLACE_NONE = "none"
PLACE_MORE = "more"
MIN_PLACE_QUERY = 2
BUTTON_COLUMNS = 2


# --- content --------------------------------------------------------------------------------


def _content(ctx: FlowContext) -> EligibilityContent:
    return ctx.content.get(load_eligibility)


def _catalogue(ctx: FlowContext) -> Catalogue:
    return ctx.content.get(load_catalogue)


def warm_gazetteer(content: Content) -> None:
    """Build the gazetteer into the content cache (start-up, in a thread)."""
    content.get(content_gazetteer)


async def _gazetteer(ctx: FlowContext) -> Gazetteer:
    """The commune-level units, built once per process in a worker thread (≈0,2 s)."""
    return await asyncio.to_thread(ctx.content.get, content_gazetteer)


def resume_prompt_after(ctx: FlowContext) -> timedelta:
    """After this long away, the owner is asked "Tiếp tục" or "Làm lại" (content setting)."""
    return _content(ctx).settings.resume_prompt_after


# --- state ----------------------------------------------------------------------------------


def _progress(conv: Conversation) -> dict[str, Any] | None:
    raw = conv.data.get(PROGRESS_KEY)
    return dict(raw) if isinstance(raw, Mapping) else None


def _fresh(focus: str | None) -> dict[str, Any]:
    facts: dict[str, object] = {SUPPORT_FACT: focus} if focus else {}
    return {"facts": facts, "history": [], "focus": focus, "question": None}


def _save(
    ctx: FlowContext, conv: Conversation, progress: dict[str, Any], step: str
) -> Conversation:
    progress["updated_at"] = ctx.now.isoformat()
    return Conversation(flow=NAME, step=step, data={**conv.data, PROGRESS_KEY: progress})


def _facts(progress: Mapping[str, Any]) -> dict[str, object]:
    facts = progress.get("facts")
    return dict(facts) if isinstance(facts, Mapping) else {}


def _history(progress: Mapping[str, Any]) -> list[str]:
    history = progress.get("history")
    return [str(item) for item in history] if isinstance(history, list) else []


def _focus_of(ctx: FlowContext, event: InboundEvent) -> str | None:
    if event.kind is not EventKind.CHOICE:
        return None
    _, _, programme = event.text.partition(f"{NAME}:{START}:")
    return programme if programme in _content(ctx).programme_ids else None


def _is_away(ctx: FlowContext, progress: Mapping[str, Any]) -> bool:
    raw = progress.get("updated_at")
    if not isinstance(raw, str):
        return False
    try:
        updated = datetime.fromisoformat(raw)
    except ValueError:
        return False
    return ctx.now - updated > resume_prompt_after(ctx)


# --- entry points ---------------------------------------------------------------------------


async def start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    """From the menu, a command or a programme page (``eligibility:start:<programme>``)."""
    focus = _focus_of(ctx, event)
    progress = _progress(conv)
    if progress is not None and _history(progress):
        progress["pending_focus"] = focus
        return _resume_prompt(ctx, conv, progress)
    return _begin(ctx, conv, focus)


async def handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    progress = _progress(conv)
    if event.kind is EventKind.CHOICE:
        action, _, rest = event.text.removeprefix(f"{NAME}:").partition(":")
        if action == RESTART or (action == RESUME and rest == RESTART):
            focus = progress.get("pending_focus") or progress.get("focus") if progress else None
            return _begin(ctx, conv, focus if isinstance(focus, str) else None)
        if action in {MORE, LEGAL}:
            return _verdict_detail(ctx, conv, programme_id=rest, legal=action == LEGAL)
        if progress is None:
            return _no_check_in_progress(ctx, conv)
        if action == RESUME and rest == CONTINUE:
            progress.pop("pending_focus", None)
            return _ask(ctx, conv, progress)
        if _is_away(ctx, progress) or conv.step == STEP_RESUME:
            return _resume_prompt(ctx, conv, progress)
        if action == BACK:
            return _back(ctx, conv, progress)
        if action == ANSWER:
            return await _on_answer_choice(ctx, conv, progress, rest)
        if action == PLACE:
            return await _on_place_choice(ctx, conv, progress, rest)
        return _stale(ctx, conv, progress)
    if progress is None:
        return _no_check_in_progress(ctx, conv)
    if _is_away(ctx, progress) or conv.step == STEP_RESUME:
        return _resume_prompt(ctx, conv, progress)
    if event.kind is not EventKind.TEXT or not event.text.strip():
        return _ask(ctx, conv, progress, reask=True)
    return await _on_text(ctx, conv, progress, event.text)


FLOW = Flow(
    name=NAME,
    start=start,
    handle=handle,
    commands={"kiemtra": "start"},
    menu_entry="menu.eligibility",
)


# --- steps ----------------------------------------------------------------------------------


def _begin(ctx: FlowContext, conv: Conversation, focus: str | None) -> Step:
    progress = _fresh(focus)
    programme = _content(ctx).programme(focus) if focus else None
    intro = ctx.say(
        "eligibility/intro",
        programme=programme.name if programme else None,
        max_questions=_content(ctx).settings.max_questions,
    )
    return _advance(ctx, conv, progress, before=[intro])


def _resume_prompt(ctx: FlowContext, conv: Conversation, progress: dict[str, Any]) -> Step:
    question = _content(ctx).question(str(progress.get("question") or ""))
    text = ctx.texts.render(
        "eligibility/resume", answered=len(_history(progress)), has_question=question is not None
    )
    choices = (
        Choice(f"{NAME}:{RESUME}:{CONTINUE}", ctx.texts.label("eligibility.continue")),
        Choice(f"{NAME}:{RESUME}:{RESTART}", ctx.texts.label("eligibility.restart")),
    )
    message = OutboundMessage(text=text, choices=choices, columns=BUTTON_COLUMNS)
    return Step(_save(ctx, conv, progress, STEP_RESUME), [message])


def _no_check_in_progress(ctx: FlowContext, conv: Conversation) -> Step:
    """A tap on a button of a check that has ended (or was never started here)."""
    message = OutboundMessage(
        text=ctx.texts.render("eligibility/no_check", has_result=RESULT_KEY in conv.data),
        choices=(
            Choice(f"{NAME}:{RESTART}", ctx.texts.label("eligibility.start_new")),
            menu_choice(ctx),
        ),
        columns=BUTTON_COLUMNS,
    )
    return Step(conv, [message])


def _stale(ctx: FlowContext, conv: Conversation, progress: dict[str, Any]) -> Step:
    step = _ask(ctx, conv, progress)
    step.replies.insert(0, ctx.say("eligibility/stale"))
    return step


def _back(ctx: FlowContext, conv: Conversation, progress: dict[str, Any]) -> Step:
    content = _content(ctx)
    history = _history(progress)
    if conv.step == STEP_PLACE:
        # Leaving the list of places returns to the place question itself.
        progress.pop("places", None)
        return _ask(ctx, conv, progress)
    if not history:
        step = _ask(ctx, conv, progress)
        step.replies.insert(0, ctx.say("eligibility/back_first"))
        return step
    question = content.question(history.pop())
    facts = _facts(progress)
    if question is not None:
        for name in question.produced_facts():
            facts.pop(name, None)
    progress.update(facts=facts, history=history, selected=[], question=None)
    progress.pop("places", None)
    return _advance(ctx, conv, progress)


def _record(progress: dict[str, Any], question: Question, values: Mapping[str, object]) -> None:
    facts = _facts(progress)
    facts.update(values)
    history = _history(progress)
    history.append(question.id)
    progress.update(facts=facts, history=history, selected=[], question=None)
    progress.pop("places", None)


def _advance(
    ctx: FlowContext,
    conv: Conversation,
    progress: dict[str, Any],
    *,
    before: list[OutboundMessage] | None = None,
) -> Step:
    """Ask the next question, or give the verdict when nothing is left to ask (or when every
    programme in scope has already failed a deciding rule: no need to ask the rest)."""
    content = _content(ctx)
    facts = _facts(progress)
    question = next_question(content, facts)
    if question is None or _already_decided(ctx, facts):
        return _finish(ctx, conv, progress, before=before or [])
    progress["question"] = question.id
    step = _ask(ctx, conv, progress)
    step.replies[:0] = before or []
    return step


def _already_decided(ctx: FlowContext, facts: Mapping[str, object]) -> bool:
    content = _content(ctx)
    if not facts:
        return False
    verdicts = evaluate(content, _catalogue(ctx), facts, on=ctx.today)
    return all(verdict.outcome is Outcome.LIKELY_NOT_ELIGIBLE for verdict in verdicts)


def _current(ctx: FlowContext, progress: Mapping[str, Any]) -> Question | None:
    return _content(ctx).question(str(progress.get("question") or ""))


def _ask(
    ctx: FlowContext, conv: Conversation, progress: dict[str, Any], *, reask: bool = False
) -> Step:
    question = _current(ctx, progress)
    if question is None:
        return _advance(ctx, conv, progress)
    if progress.get("places"):
        return _offer_places(ctx, conv, progress)
    facts = _facts(progress)
    prompt = ctx.texts.render_string(question.reask if reask else question.prompt, **facts)
    text = ctx.texts.render(
        "eligibility/question",
        prompt=prompt,
        number=len(_history(progress)) + 1,
        kind=question.type.value,
        reask=reask,
        place=progress.pop("place_note", None),
    )
    message = OutboundMessage(
        text=text, choices=_question_choices(ctx, question, progress), columns=BUTTON_COLUMNS
    )
    return Step(_save(ctx, conv, progress, STEP_QUESTION), [message])


def _question_choices(
    ctx: FlowContext, question: Question, progress: Mapping[str, Any]
) -> tuple[Choice, ...]:
    if question.type is AnswerType.NUMBER:
        # The engine reads a typed "3" as a tap on the third button: a count question offers
        # none, and "chưa rõ", "quay lại", "làm lại" are typed (see questions.yaml settings).
        return ()
    prefix = f"{NAME}:{ANSWER}:{question.id}:"
    choices: list[Choice] = []
    if question.type is AnswerType.CHOICE:
        choices += [Choice(prefix + option.id, option.label) for option in question.options]
    elif question.type is AnswerType.YES_NO:
        labels = {option.id: option.label for option in question.options}
        choices += [
            Choice(
                prefix + YES_OPTION, labels.get(YES_OPTION) or ctx.texts.label("eligibility.yes")
            ),
            Choice(prefix + NO_OPTION, labels.get(NO_OPTION) or ctx.texts.label("eligibility.no")),
        ]
    elif question.type is AnswerType.MULTI_CHOICE:
        selected = set(progress.get("selected") or [])
        for option in question.options:
            ticked = option.id in selected
            key = "eligibility.selected" if ticked else "eligibility.not_selected"
            label = ctx.texts.label(key, label=option.label)
            choices.append(Choice(prefix + option.id, label, pressed=ticked))
        choices.append(Choice(prefix + DONE_OPTION, ctx.texts.label("eligibility.done")))
        if not selected:
            choices.append(Choice(prefix + NONE_OPTION, ctx.texts.label("eligibility.none")))
    if question.allow_unknown:
        label = question.unknown_label or ctx.texts.label("eligibility.unknown")
        choices.append(Choice(prefix + UNKNOWN_OPTION, label))
    return (*choices, *_navigation(ctx, progress))


def _navigation(ctx: FlowContext, progress: Mapping[str, Any]) -> tuple[Choice, ...]:
    back = Choice(f"{NAME}:{BACK}", ctx.texts.label("eligibility.back"))
    restart = Choice(f"{NAME}:{RESTART}", ctx.texts.label("eligibility.restart"))
    return (back, restart) if _history(progress) or progress.get("places") else (restart,)


# --- answers --------------------------------------------------------------------------------


async def _on_answer_choice(
    ctx: FlowContext, conv: Conversation, progress: dict[str, Any], rest: str
) -> Step:
    question_id, _, option_id = rest.partition(":")
    question = _current(ctx, progress)
    if question is None or question.id != question_id or conv.step != STEP_QUESTION:
        return _stale(ctx, conv, progress)
    if option_id == UNKNOWN_OPTION and question.allow_unknown:
        return _accept(ctx, conv, progress, question, _unknown_values(question))
    if question.type is AnswerType.CHOICE and question.option(option_id) is not None:
        return _accept(ctx, conv, progress, question, {question.fact: option_id})
    if question.type is AnswerType.YES_NO and option_id in {YES_OPTION, NO_OPTION}:
        return _accept(ctx, conv, progress, question, {question.fact: option_id == YES_OPTION})
    if question.type is AnswerType.MULTI_CHOICE:
        selected = [str(item) for item in progress.get("selected") or []]
        if option_id in {DONE_OPTION, NONE_OPTION}:
            chosen = [] if option_id == NONE_OPTION else selected
            return _accept(ctx, conv, progress, question, _multi_values(question, chosen))
        if question.option(option_id) is not None:
            if option_id in selected:
                selected.remove(option_id)
            else:
                selected.append(option_id)
            progress["selected"] = selected
            return _ask(ctx, conv, progress)
    return _stale(ctx, conv, progress)


async def _on_text(
    ctx: FlowContext, conv: Conversation, progress: dict[str, Any], text: str
) -> Step:
    content = _content(ctx)
    question = _current(ctx, progress)
    if question is None:
        return _advance(ctx, conv, progress)
    key = fold(text).strip(" .!?")
    if key in content.settings.back_words:
        return _back(ctx, conv, progress)
    if key in content.settings.restart_words:
        return _begin(ctx, conv, progress.get("focus") or None)
    if question.type is AnswerType.LOCATION:
        return await _search_places(ctx, conv, progress, question, text)
    if question.allow_unknown and is_unknown_answer(text, content.settings):
        return _accept(ctx, conv, progress, question, _unknown_values(question))
    if question.type is AnswerType.CHOICE:
        option_id = interpret_choice_text(question, text)
        if option_id is not None:
            return _accept(ctx, conv, progress, question, {question.fact: option_id})
    elif question.type is AnswerType.YES_NO:
        reading = interpret_yes_no(question, text, content.settings)
        if reading.ok:
            return _accept(ctx, conv, progress, question, {question.fact: reading.value})
    elif question.type is AnswerType.MULTI_CHOICE:
        chosen = interpret_multi_text(question, text, content.settings)
        if chosen is not None:
            return _accept(ctx, conv, progress, question, _multi_values(question, chosen))
    elif question.type in {AnswerType.MONEY, AnswerType.NUMBER}:
        return _on_amount(ctx, conv, progress, question, text)
    elif question.type is AnswerType.SHORT_TEXT:
        value = " ".join(text.split())
        if (question.min_length or 0) <= len(value) <= (question.max_length or len(value)):
            return _accept(ctx, conv, progress, question, {question.fact: value})
    return _ask(ctx, conv, progress, reask=True)


def _on_amount(
    ctx: FlowContext,
    conv: Conversation,
    progress: dict[str, Any],
    question: Question,
    text: str,
) -> Step:
    money = question.type is AnswerType.MONEY
    try:
        value = parse_money(text) if money else parse_number(text)
    except ParseError as exc:
        # One apology (why it was not read), then the question itself, not its re-ask.
        template = "parsing/money_invalid" if money else "parsing/number_invalid"
        step = _ask(ctx, conv, progress)
        step.replies.insert(0, ctx.say(template, reason=exc.reason.value))
        return step
    too_small = question.min_value is not None and value < question.min_value
    too_large = question.max_value is not None and value > question.max_value
    if too_small or too_large:
        return _ask(ctx, conv, progress, reask=True)
    return _accept(ctx, conv, progress, question, {question.fact: value})


def _unknown_values(question: Question) -> dict[str, object]:
    if question.type is AnswerType.LOCATION:
        return dict.fromkeys(LOCATION_FACTS)
    if question.type is AnswerType.MULTI_CHOICE:
        return {question.fact: None, **{o.fact: None for o in question.options if o.fact}}
    return {question.fact: None}


def _multi_values(question: Question, chosen: list[str]) -> dict[str, object]:
    values: dict[str, object] = {question.fact: list(chosen)}
    values.update({o.fact: o.id in chosen for o in question.options if o.fact})
    return values


def _accept(
    ctx: FlowContext,
    conv: Conversation,
    progress: dict[str, Any],
    question: Question,
    values: Mapping[str, object],
) -> Step:
    _record(progress, question, values)
    return _advance(ctx, conv, progress)


# --- places ---------------------------------------------------------------------------------


async def _search_places(
    ctx: FlowContext,
    conv: Conversation,
    progress: dict[str, Any],
    question: Question,
    text: str,
) -> Step:
    query = " ".join(text.split())
    content = _content(ctx)
    if len(query) < MIN_PLACE_QUERY:
        return _ask(ctx, conv, progress, reask=True)
    gazetteer = await _gazetteer(ctx)
    matches = gazetteer.find_units(
        query,
        limit=MAX_PLACE_MATCHES,
        prefer_province_code=content.settings.center_province_code,
    )
    former_address = looks_like_former_address(query)
    if len(matches) == 1 and not former_address:
        # One match: no extra tap. The next question names it ("Quay lại" corrects it).
        progress["place_note"] = _place_label(matches[0])
        return _accept(ctx, conv, progress, question, _unit_values(matches[0], typed=query))
    progress["place_text"] = query
    progress["places"] = [match.code for match in matches]
    progress["place_page"] = 0
    progress["former_address"] = former_address
    return _offer_places(ctx, conv, progress, matches=matches)


def _offer_places(
    ctx: FlowContext,
    conv: Conversation,
    progress: dict[str, Any],
    *,
    matches: list[PlaceMatch] | None = None,
) -> Step:
    if matches is None:
        names = progress.get("place_names") or {}
        codes = [int(code) for code in progress.get("places") or []]
        labels = {int(code): str(name) for code, name in dict(names).items()}
    else:
        codes = [match.code for match in matches]
        labels = {match.code: _place_label(match) for match in matches}
        progress["place_names"] = {str(code): label for code, label in labels.items()}
    query = str(progress.get("place_text") or "")
    shown, paged = place_page(codes, int(progress.get("place_page") or 0))
    text = ctx.texts.render(
        "eligibility/places",
        query=query,
        found=bool(codes),
        total=len(codes),
        paged=paged,
        former_address=bool(progress.get("former_address")),
    )
    choices = [Choice(f"{NAME}:{PLACE}:{code}", labels.get(code, str(code))) for code in shown]
    if paged:
        choices.append(
            Choice(f"{NAME}:{PLACE}:{PLACE_MORE}", ctx.texts.label("eligibility.place_more"))
        )
    choices.append(
        Choice(f"{NAME}:{PLACE}:{PLACE_NONE}", ctx.texts.label("eligibility.place_none"))
    )
    message = OutboundMessage(
        text=text, choices=(*choices, *_navigation(ctx, progress)), columns=1
    )
    return Step(_save(ctx, conv, progress, STEP_PLACE), [message])


def _place_label(match: PlaceMatch) -> str:
    return f"{match.name}, {match.province_name}"


async def _on_place_choice(
    ctx: FlowContext, conv: Conversation, progress: dict[str, Any], code: str
) -> Step:
    question = _current(ctx, progress)
    offered = [str(item) for item in progress.get("places") or []]
    if question is None or question.type is not AnswerType.LOCATION or conv.step != STEP_PLACE:
        return _stale(ctx, conv, progress)
    typed = str(progress.get("place_text") or "") or None
    if code == PLACE_MORE:
        codes = [int(item) for item in offered]
        progress["place_page"] = next_page(codes, int(progress.get("place_page") or 0))
        return _offer_places(ctx, conv, progress)
    if code == PLACE_NONE:
        values: dict[str, object] = dict.fromkeys(LOCATION_FACTS)
        values["location_text"] = typed
        return _accept(ctx, conv, progress, question, values)
    if code not in offered:
        return _stale(ctx, conv, progress)
    unit = (await _gazetteer(ctx)).unit_by_code(int(code))
    if unit is None:
        return _stale(ctx, conv, progress)
    return _accept(ctx, conv, progress, question, _unit_values(unit, typed=typed))


def _unit_values(unit: PlaceMatch, *, typed: str | None) -> dict[str, object]:
    return {
        "unit_code": unit.code,
        "unit_name": unit.name,
        "unit_kind": unit.kind.value,
        "province_code": unit.province_code,
        "province_name": unit.province_name,
        "province_kind": unit.province_kind.value,
        "location_text": typed,
    }


# --- verdict --------------------------------------------------------------------------------


def _finish(
    ctx: FlowContext,
    conv: Conversation,
    progress: dict[str, Any],
    *,
    before: list[OutboundMessage],
) -> Step:
    content = _content(ctx)
    facts = _facts(progress)
    wanted = facts.get(SUPPORT_FACT)
    scope = programmes_in_scope(content, facts)
    verdicts = evaluate(content, _catalogue(ctx), facts, on=ctx.today, programmes=scope)
    result = {
        "answers": facts,
        "verdicts": [verdict.to_dict() for verdict in verdicts],
        "evaluated_on": ctx.today.isoformat(),
    }
    done = back_to_menu(conv, PROGRESS_KEY)
    done.data[RESULT_KEY] = result
    ctx.trace["eligibility"] = {v.programme_id: v.outcome.value for v in verdicts}
    replies = list(before)
    if len(verdicts) > 1:
        replies.append(
            ctx.say(
                "eligibility/summary",
                verdicts=verdicts,
                all_programmes=wanted == ALL_PROGRAMMES or wanted is None,
            )
        )
    replies += [
        _verdict_message(ctx, group[0], names=[v.programme_name for v in group[1:]])
        for group in _grouped(verdicts)
    ]
    replies.append(
        OutboundMessage(
            text=ctx.texts.render("eligibility/done"),
            choices=(
                Choice(f"{NAME}:{RESTART}", ctx.texts.label("eligibility.restart")),
                menu_choice(ctx),
            ),
            columns=BUTTON_COLUMNS,
        )
    )
    return Step(done, replies)


def _grouped(verdicts: list[ProgrammeVerdict]) -> list[list[ProgrammeVerdict]]:
    """Programmes refused for the very same reasons share one message (a large enterprise
    reads the reason once, not five times)."""
    groups: dict[object, list[ProgrammeVerdict]] = {}
    for verdict in verdicts:
        key: object = verdict.programme_id
        if verdict.outcome is Outcome.LIKELY_NOT_ELIGIBLE:
            key = tuple(line.rule_id for line in verdict.deciding)
        groups.setdefault(key, []).append(verdict)
    return list(groups.values())


def _verdict_message(
    ctx: FlowContext, verdict: ProgrammeVerdict, *, names: list[str]
) -> OutboundMessage:
    """The verdict first (outcome, maximum, next step); reasons and law behind two buttons."""
    text = ctx.texts.render("eligibility/verdict", verdict=verdict, names=names)
    if len(text) > OWNER_MESSAGE_LIMIT:  # one screen: what to do is one tap away
        text = ctx.texts.render("eligibility/verdict", verdict=verdict, names=names, brief=True)
    if verdict.outcome is Outcome.LIKELY_NOT_ELIGIBLE:
        action = Choice(ASK_STAFF_CHOICE, ctx.texts.label("eligibility.ask_staff"))
    else:
        # Outside the Center's province the owner is referred to their own province; the
        # button stays for one who insists (the lead is then marked out of area for staff).
        label = (
            "eligibility.register_anyway" if verdict.outside_province else "eligibility.register"
        )
        register = REGISTER_CHOICE.format(programme=verdict.programme_id)
        action = Choice(register, ctx.texts.label(label))
    programme = verdict.programme_id
    choices = (
        action,
        Choice(f"{NAME}:{MORE}:{programme}", ctx.texts.label("eligibility.more")),
        Choice(f"{NAME}:{LEGAL}:{programme}", ctx.texts.label("eligibility.legal")),
    )
    return OutboundMessage(text=text, choices=choices)


def _verdict_detail(
    ctx: FlowContext, conv: Conversation, *, programme_id: str, legal: bool
) -> Step:
    """Reasons and documents, or citations, of the last verdict: the stored answers are
    evaluated again on the day of the check, so the owner reads what the verdict meant."""
    result = conv.data.get(RESULT_KEY)
    verdict = _stored_verdict(ctx, result, programme_id) if isinstance(result, Mapping) else None
    if verdict is None:
        return Step(conv, [ctx.say("eligibility/gone")])
    template = "eligibility/verdict_legal" if legal else "eligibility/verdict_more"
    return Step(conv, [ctx.say(template, verdict=verdict)])


def _stored_verdict(
    ctx: FlowContext, result: Mapping[str, Any], programme_id: str
) -> ProgrammeVerdict | None:
    content = _content(ctx)
    answers = result.get("answers")
    if programme_id not in content.programme_ids or not isinstance(answers, Mapping):
        return None
    try:
        day = date.fromisoformat(str(result.get("evaluated_on")))
    except ValueError:
        day = ctx.today
    verdicts = evaluate(content, _catalogue(ctx), answers, on=day, programmes=(programme_id,))
    return next(iter(verdicts), None)
