"""Load and cross-check ``content/eligibility/*.yaml``.

Every fact a rule, a priority or an ``ask_if`` reads must be produced by a question (or be
declared in ``extra_facts``), and every value compared with a choice fact must be one of its
options: a typo in the rules is reported at start-up, not as a silent "unknown" in a chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.core.messages import MAX_CHOICE_ID_BYTES
from bot.core.texts import ContentError, load_yaml
from bot.eligibility.conditions import Condition, Constant, parse_condition
from bot.eligibility.model import (
    LOCATION_FACTS,
    PROVINCE_KINDS,
    UNIT_KINDS,
    AnswerType,
    Document,
    EligibilityContent,
    OnFail,
    Option,
    Outcome,
    Priority,
    Programme,
    Question,
    Rule,
    Settings,
    SupportKind,
    SupportSpec,
)
from bot.nlu import fold

ELIGIBILITY_DIR = "eligibility"
#: The longest choice id the flow builds from a question and option id.
ANSWER_CHOICE_PREFIX = "eligibility:a:"
DEFAULT_RESUME_HOURS = 12
DEFAULT_MAX_QUESTIONS = 12
_LOCATION_CHOICES = {"unit_kind": UNIT_KINDS, "province_kind": PROVINCE_KINDS}
_YES_NO_OPTIONS = ("yes", "no")
_CODE_FACTS = frozenset({"unit_code", "province_code"})


def load_eligibility(root: Path) -> EligibilityContent:
    """Read the questionnaire, rules, priorities and documents under ``root/eligibility``."""
    folder = root / ELIGIBILITY_DIR
    questions_path = folder / "questions.yaml"
    raw_questions = _mapping(load_yaml(questions_path), questions_path)
    settings = _settings(raw_questions.get("settings") or {}, questions_path)
    fact_types: dict[str, AnswerType] = {}
    fact_choices: dict[str, tuple[str, ...]] = dict(_LOCATION_CHOICES)
    for name, kind in (raw_questions.get("extra_facts") or {}).items():
        fact_types[str(name)] = _answer_type(kind, f"{questions_path}: extra_facts.{name}")
    questions: list[Question] = []
    seen: set[str] = set()
    for index, raw in enumerate(_list(raw_questions.get("questions"), questions_path)):
        where = f"{questions_path}: questions[{index}]"
        question = _question(_mapping(raw, where), where)
        if question.id in seen:
            msg = f"{where}: duplicate question id {question.id!r}"
            raise ContentError(msg)
        if question.ask_if is not None:
            _check_condition(question.ask_if, fact_types, fact_choices, where=where)
        seen.add(question.id)
        _register_facts(question, fact_types, fact_choices)
        questions.append(question)

    rules_path = folder / "rules.yaml"
    raw_rules = _mapping(load_yaml(rules_path), rules_path)
    rules: dict[str, Rule] = {}
    for index, raw in enumerate(_list(raw_rules.get("rules"), rules_path)):
        where = f"{rules_path}: rules[{index}]"
        rule = _rule(_mapping(raw, where), where)
        if rule.id in rules:
            msg = f"{where}: duplicate rule id {rule.id!r}"
            raise ContentError(msg)
        for condition in (rule.pass_if, rule.applies_if):
            if condition is not None:
                _check_condition(condition, fact_types, fact_choices, where=where)
        rules[rule.id] = rule
    programmes = tuple(
        _programme(_mapping(raw, where := f"{rules_path}: programmes[{index}]"), rules, where)
        for index, raw in enumerate(_list(raw_rules.get("programmes"), rules_path))
    )
    support_choices = fact_choices.get("support_wanted", ())
    for programme in programmes:
        if support_choices and programme.id not in support_choices:
            msg = f"{rules_path}: programme {programme.id!r} is not an option of support_wanted"
            raise ContentError(msg)
        for fact in (programme.support.cost_fact, programme.support.line_fact):
            if fact is not None and fact not in fact_types:
                msg = f"{rules_path}: programme {programme.id!r}: unknown fact {fact!r}"
                raise ContentError(msg)

    priorities_path = folder / "priorities.yaml"
    priorities = tuple(
        _priority(_mapping(raw, where := f"{priorities_path}: priorities[{index}]"), where)
        for index, raw in enumerate(
            _list(
                _mapping(load_yaml(priorities_path), priorities_path).get("priorities"),
                priorities_path,
            )
        )
    )
    for priority in priorities:
        _check_condition(priority.when, fact_types, fact_choices, where=str(priorities_path))

    documents_path = folder / "documents.yaml"
    documents = tuple(
        _document(_mapping(raw, where := f"{documents_path}: documents[{index}]"), where)
        for index, raw in enumerate(
            _list(
                _mapping(load_yaml(documents_path), documents_path).get("documents"),
                documents_path,
            )
        )
    )
    ids = {programme.id for programme in programmes}
    for document in documents:
        if document.when is not None:
            _check_condition(document.when, fact_types, fact_choices, where=str(documents_path))
        if unknown := set(document.programmes) - ids:
            msg = f"{documents_path}: unknown programmes {sorted(unknown)}"
            raise ContentError(msg)
    return EligibilityContent(
        outside_next_step=_outside_next_step(raw_rules, rules_path),
        questions=tuple(questions),
        rules=rules,
        programmes=programmes,
        priorities=priorities,
        documents=documents,
        settings=settings,
        fact_types=fact_types,
        fact_choices=fact_choices,
    )


def _outside_next_step(raw_rules: Mapping[str, Any], path: Path) -> str:
    """The next step for a facility outside the Center's province (``{province}`` = its name)."""
    outside = _mapping(raw_rules.get("outside_province") or {}, f"{path}: outside_province")
    return _text(outside.get("next_step"), f"{path}: outside_province.next_step")


def _register_facts(
    question: Question,
    fact_types: dict[str, AnswerType],
    fact_choices: dict[str, tuple[str, ...]],
) -> None:
    if question.type is AnswerType.LOCATION:
        for name in LOCATION_FACTS:
            fact_types[name] = AnswerType.NUMBER if name in _CODE_FACTS else AnswerType.SHORT_TEXT
        return
    fact_types[question.fact] = question.type
    if question.type is AnswerType.CHOICE:
        fact_choices[question.fact] = tuple(option.id for option in question.options)
    for option in question.options:
        if option.fact:
            fact_types[option.fact] = AnswerType.YES_NO
        for name, value in option.implies:
            if name not in fact_types:
                fact_types[name] = (
                    AnswerType.YES_NO if isinstance(value, bool) else AnswerType.SHORT_TEXT
                )


def _check_condition(
    condition: Condition,
    fact_types: Mapping[str, AnswerType],
    fact_choices: Mapping[str, tuple[str, ...]],
    *,
    where: str,
) -> None:
    for test in condition.comparisons():
        if test.fact not in fact_types:
            msg = f"{where}: unknown fact {test.fact!r} (not produced by any earlier question)"
            raise ContentError(msg)
        allowed = fact_choices.get(test.fact)
        if allowed is None or test.operator not in {"equals", "in"}:
            continue
        values = test.operand if test.operator == "in" else (test.operand,)
        if wrong := [value for value in values if value not in allowed]:
            msg = f"{where}: {test.fact} has no option {wrong} (options: {list(allowed)})"
            raise ContentError(msg)


def _question(raw: Mapping[str, Any], where: str) -> Question:
    question_id = _ident(raw.get("id"), f"{where}.id")
    answer_type = _answer_type(raw.get("type"), f"{where}.type")
    options = tuple(
        _option(_mapping(item, f"{where}.options[{i}]"), f"{where}.options[{i}]")
        for i, item in enumerate(raw.get("options") or [])
    )
    if answer_type in {AnswerType.CHOICE, AnswerType.MULTI_CHOICE} and not options:
        msg = f"{where}: a {answer_type.value} question needs options"
        raise ContentError(msg)
    if answer_type is AnswerType.YES_NO and {o.id for o in options} - set(_YES_NO_OPTIONS):
        msg = f"{where}: yes_no options may only relabel 'yes' and 'no'"
        raise ContentError(msg)
    if answer_type is AnswerType.MULTI_CHOICE and any(o.fact is None for o in options):
        msg = f"{where}: every multi_choice option needs its own 'fact'"
        raise ContentError(msg)
    for option in options:
        choice_id = f"{ANSWER_CHOICE_PREFIX}{question_id}:{option.id}"
        if len(choice_id.encode()) > MAX_CHOICE_ID_BYTES:
            msg = f"{where}: choice id {choice_id!r} is longer than {MAX_CHOICE_ID_BYTES} bytes"
            raise ContentError(msg)
    ask_if = raw.get("ask_if")
    validation = raw.get("validation") or {}
    return Question(
        id=question_id,
        fact=_ident(raw.get("fact", question_id), f"{where}.fact"),
        type=answer_type,
        prompt=_text(raw.get("prompt"), f"{where}.prompt"),
        reask=_text(raw.get("reask"), f"{where}.reask"),
        options=options,
        ask_if=None if ask_if is None else parse_condition(ask_if, where=f"{where}.ask_if"),
        allow_unknown=bool(raw.get("allow_unknown", False)),
        unknown_label=raw.get("unknown_label"),
        min_value=validation.get("min"),
        max_value=validation.get("max"),
        min_length=validation.get("min_length"),
        max_length=validation.get("max_length"),
    )


def _option(raw: Mapping[str, Any], where: str) -> Option:
    implies = raw.get("implies") or {}
    if not isinstance(implies, Mapping):
        msg = f"{where}.implies: expected a mapping of fact to value"
        raise ContentError(msg)
    synonyms = tuple(fold(str(word)) for word in raw.get("synonyms") or [])
    return Option(
        id=_ident(raw.get("id"), f"{where}.id"),
        label=_text(raw.get("label"), f"{where}.label"),
        synonyms=synonyms,
        implies=tuple((str(k), v) for k, v in implies.items()),
        fact=None if raw.get("fact") is None else _ident(raw.get("fact"), f"{where}.fact"),
    )


def _rule(raw: Mapping[str, Any], where: str) -> Rule:
    applies_if = raw.get("applies_if")
    try:
        on_fail = OnFail(str(raw.get("on_fail")))
    except ValueError as exc:
        msg = f"{where}.on_fail: use not_eligible or needs_review"
        raise ContentError(msg) from exc
    staff_check = bool(raw.get("staff_check", False))
    if staff_check:
        # Only hands a question to staff: one text, no pass condition, never "failed".
        if "pass_if" in raw or on_fail is not OnFail.NEEDS_REVIEW:
            msg = f"{where}: a staff_check rule has no pass_if and on_fail: needs_review"
            raise ContentError(msg)
        explain = _text(raw.get("explain"), f"{where}.explain")
        pass_if: Condition = Constant(False)
        texts = (explain, explain, explain)
    else:
        if "pass_if" not in raw:
            msg = f"{where}: missing pass_if"
            raise ContentError(msg)
        pass_if = parse_condition(raw["pass_if"], where=f"{where}.pass_if")
        texts = (
            _text(raw.get("explain_pass"), f"{where}.explain_pass"),
            _text(raw.get("explain_fail"), f"{where}.explain_fail"),
            _text(raw.get("explain_unknown"), f"{where}.explain_unknown"),
        )
    return Rule(
        id=_ident(raw.get("id"), f"{where}.id"),
        pass_if=pass_if,
        applies_if=None
        if applies_if is None
        else parse_condition(applies_if, where=f"{where}.applies_if"),
        on_fail=on_fail,
        explain_pass=texts[0],
        explain_fail=texts[1],
        explain_unknown=texts[2],
        citation=_text(raw.get("citation"), f"{where}.citation"),
        todo=str(raw.get("todo") or "").strip(),
        todo_unknown=str(raw.get("todo_unknown") or "").strip(),
        certain=bool(raw.get("certain", True)),
        staff_check=staff_check,
        citation_certain=bool(raw.get("citation_certain", True)),
    )


def _programme(raw: Mapping[str, Any], rules: Mapping[str, Rule], where: str) -> Programme:
    rule_ids = tuple(str(rule_id) for rule_id in _list(raw.get("rules"), where))
    if missing := [rule_id for rule_id in rule_ids if rule_id not in rules]:
        msg = f"{where}: unknown rules {missing}"
        raise ContentError(msg)
    raw_steps = _mapping(raw.get("next_step"), f"{where}.next_step")
    try:
        next_step = {
            Outcome(key): _text(value, f"{where}.next_step") for key, value in raw_steps.items()
        }
    except ValueError as exc:
        msg = f"{where}.next_step: keys must be outcomes ({[o.value for o in Outcome]})"
        raise ContentError(msg) from exc
    if missing_outcomes := [o.value for o in Outcome if o not in next_step]:
        msg = f"{where}.next_step: missing {missing_outcomes}"
        raise ContentError(msg)
    support = _mapping(raw.get("support"), f"{where}.support")
    try:
        kind = SupportKind(str(support.get("kind")))
    except ValueError as exc:
        msg = f"{where}.support.kind: use one of {[k.value for k in SupportKind]}"
        raise ContentError(msg) from exc
    spec = SupportSpec(
        kind=kind,
        rate=support.get("rate"),
        cap=support.get("cap"),
        line_multiplier=support.get("line_multiplier"),
        cost_fact=support.get("cost_fact"),
        line_fact=support.get("line_fact"),
        per=str(support.get("per") or ""),
        note=str(support.get("note") or "").strip(),
    )
    if kind is not SupportKind.TO_CONFIRM and not (spec.rate and spec.cap):
        msg = f"{where}.support: {kind.value} needs 'rate' and 'cap' figure names"
        raise ContentError(msg)
    if kind is SupportKind.COST_SHARE and not spec.cost_fact:
        msg = f"{where}.support: cost_share needs 'cost_fact'"
        raise ContentError(msg)
    return Programme(
        id=_ident(raw.get("id"), f"{where}.id"),
        name=_text(raw.get("name"), f"{where}.name"),
        rules=rule_ids,
        support=spec,
        next_step=next_step,
    )


def _priority(raw: Mapping[str, Any], where: str) -> Priority:
    certain = bool(raw.get("certain", True))
    uncertainty = str(raw.get("uncertainty") or "").strip()
    if not certain and not uncertainty:
        msg = f"{where}: an uncertain priority needs 'uncertainty' (why it is not certain)"
        raise ContentError(msg)
    return Priority(
        id=_ident(raw.get("id"), f"{where}.id"),
        when=parse_condition(raw.get("when"), where=f"{where}.when"),
        label=_text(raw.get("label"), f"{where}.label"),
        citation=_text(raw.get("citation"), f"{where}.citation"),
        certain=certain,
        uncertainty=uncertainty,
    )


def _document(raw: Mapping[str, Any], where: str) -> Document:
    when = raw.get("when")
    return Document(
        text=_text(raw.get("text"), f"{where}.text"),
        programmes=tuple(str(p) for p in raw.get("programmes") or []),
        when=None if when is None else parse_condition(when, where=f"{where}.when"),
    )


def _settings(raw: Mapping[str, Any], path: Path) -> Settings:
    def words(key: str) -> frozenset[str]:
        return frozenset(fold(str(word)) for word in raw.get(key) or [])

    hours = raw.get("resume_prompt_after_hours", DEFAULT_RESUME_HOURS)
    if not isinstance(hours, int | float) or hours <= 0:
        msg = f"{path}: settings.resume_prompt_after_hours must be a positive number"
        raise ContentError(msg)
    province = raw.get("default_province_code")
    return Settings(
        resume_prompt_after=timedelta(hours=hours),
        default_province_code=None if province is None else int(province),
        yes_words=words("yes_words"),
        no_words=words("no_words"),
        unknown_words=words("unknown_words"),
        back_words=words("back_words"),
        restart_words=words("restart_words"),
        max_questions=int(raw.get("max_questions", DEFAULT_MAX_QUESTIONS)),
    )


def _answer_type(raw: object, where: str) -> AnswerType:
    try:
        return AnswerType(str(raw))
    except ValueError as exc:
        msg = f"{where}: unknown answer type {raw!r} (use one of {[t.value for t in AnswerType]})"
        raise ContentError(msg) from exc


def _mapping(raw: object, where: object) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        msg = f"{where}: expected a mapping"
        raise ContentError(msg)
    return raw


def _list(raw: object, where: object) -> list[Any]:
    if not isinstance(raw, list):
        msg = f"{where}: expected a list"
        raise ContentError(msg)
    return raw


def _ident(raw: object, where: str) -> str:
    if (
        not isinstance(raw, str)
        or not raw
        or not raw.isascii()
        or not raw.replace("_", "").isalnum()
    ):
        msg = f"{where}: expected an ASCII identifier (letters, digits, _), got {raw!r}"
        raise ContentError(msg)
    return raw


def _text(raw: object, where: str) -> str:
    if not isinstance(raw, str) or not raw.strip():
        msg = f"{where}: expected a non-empty text"
        raise ContentError(msg)
    return raw.strip()
