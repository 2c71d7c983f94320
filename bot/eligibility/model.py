"""The eligibility content (questionnaire, rules, priorities, documents) and the verdicts.

Everything here is immutable and loaded once from ``content/eligibility/``; a verdict is
plain data that serialises to JSON for ``conv.data`` and the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from bot.eligibility.conditions import Condition


class AnswerType(StrEnum):
    CHOICE = "choice"
    MULTI_CHOICE = "multi_choice"
    YES_NO = "yes_no"
    NUMBER = "number"
    MONEY = "money"
    LOCATION = "location"
    SHORT_TEXT = "short_text"


class Outcome(StrEnum):
    """The only three things the bot may say; never "approved"."""

    LIKELY_ELIGIBLE = "likely_eligible"
    NEEDS_REVIEW = "needs_review"
    LIKELY_NOT_ELIGIBLE = "likely_not_eligible"


class OnFail(StrEnum):
    NOT_ELIGIBLE = "not_eligible"
    NEEDS_REVIEW = "needs_review"


class RuleResult(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    #: A rule that only hands a question to staff (a craft-village decision to look up):
    #: neither passed nor failed; the programme goes to staff review.
    STAFF_CHECK = "staff_check"


class SupportKind(StrEnum):
    """How a programme's maximum support is estimated."""

    #: rate × cost, capped (machinery): needs a cost fact.
    COST_SHARE = "cost_share"
    #: only the rate and cap are shown (per model, per establishment).
    CAP = "cap"
    #: no confirmed figure: staff give the amount.
    TO_CONFIRM = "to_confirm"


#: Facts written by a location question (the commune-level unit and its province).
LOCATION_FACTS: tuple[str, ...] = (
    "unit_code",
    "unit_name",
    "unit_kind",
    "province_code",
    "province_name",
    "province_kind",
    "location_text",
)
UNIT_KINDS = ("xa", "phuong", "dac_khu")
PROVINCE_KINDS = ("tinh", "thanh_pho_trung_uong")


@dataclass(frozen=True, slots=True)
class Option:
    """One answer of a choice question; ``implies`` sets other facts (registration…)."""

    id: str
    label: str
    synonyms: tuple[str, ...] = ()
    implies: tuple[tuple[str, object], ...] = ()
    #: For a multi-choice question: the yes/no fact this option sets.
    fact: str | None = None


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    fact: str
    type: AnswerType
    prompt: str
    reask: str
    options: tuple[Option, ...] = ()
    ask_if: Condition | None = None
    #: Offer a "Chưa rõ" button; the fact is then stored as unknown (``None``).
    allow_unknown: bool = False
    unknown_label: str | None = None
    min_value: int | None = None
    max_value: int | None = None
    min_length: int | None = None
    max_length: int | None = None

    def option(self, option_id: str) -> Option | None:
        return next((option for option in self.options if option.id == option_id), None)

    def produced_facts(self) -> tuple[str, ...]:
        """Every fact an answer to this question may write (cleared by "Quay lại")."""
        if self.type is AnswerType.LOCATION:
            return LOCATION_FACTS
        names = [self.fact]
        for option in self.options:
            names.extend(name for name, _ in option.implies)
            if option.fact:
                names.append(option.fact)
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    pass_if: Condition
    on_fail: OnFail
    explain_pass: str
    explain_fail: str
    explain_unknown: str
    citation: str
    todo: str = ""
    applies_if: Condition | None = None
    #: ``False`` when the reading of the law still needs confirming by the Center.
    certain: bool = True
    #: What to do when the rule cannot be decided (a question left "Chưa rõ").
    todo_unknown: str = ""
    #: The rule only hands a question to staff: its result is ``staff_check`` when it applies.
    staff_check: bool = False
    #: ``False`` when the article or clause cited is not confirmed (the rule itself may be).
    citation_certain: bool = True


@dataclass(frozen=True, slots=True)
class SupportSpec:
    kind: SupportKind
    rate: str | None = None
    cap: str | None = None
    line_multiplier: str | None = None
    cost_fact: str | None = None
    line_fact: str | None = None
    #: "cơ sở", "mô hình": what the cap is counted per.
    per: str = ""
    note: str = ""


@dataclass(frozen=True, slots=True)
class Programme:
    id: str
    name: str
    rules: tuple[str, ...]
    support: SupportSpec
    next_step: dict[Outcome, str]


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    when: Condition
    label: str
    citation: str
    certain: bool = True
    #: Why the priority is not certain (shown after the citation, never inside it).
    uncertainty: str = ""


@dataclass(frozen=True, slots=True)
class Document:
    text: str
    programmes: tuple[str, ...] = ()
    when: Condition | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    resume_prompt_after: timedelta
    default_province_code: int | None
    yes_words: frozenset[str]
    no_words: frozenset[str]
    unknown_words: frozenset[str]
    back_words: frozenset[str]
    restart_words: frozenset[str]
    max_questions: int

    @property
    def center_province_code(self) -> int | None:
        """The Center's own province: searched first, and facilities elsewhere are referred."""
        return self.default_province_code


@dataclass(frozen=True, slots=True)
class EligibilityContent:
    questions: tuple[Question, ...]
    rules: dict[str, Rule]
    programmes: tuple[Programme, ...]
    priorities: tuple[Priority, ...]
    documents: tuple[Document, ...]
    settings: Settings
    #: Every fact name with its answer type (for validating command-line input).
    fact_types: dict[str, AnswerType]
    #: Allowed values of choice facts.
    fact_choices: dict[str, tuple[str, ...]]
    #: The next step for a facility outside the Center's province ("{province}" = its name).
    outside_next_step: str = ""

    def question(self, question_id: str) -> Question | None:
        return next((q for q in self.questions if q.id == question_id), None)

    def programme(self, programme_id: str) -> Programme | None:
        return next((p for p in self.programmes if p.id == programme_id), None)

    @property
    def programme_ids(self) -> tuple[str, ...]:
        return tuple(programme.id for programme in self.programmes)


# --- verdicts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    """One line of a verdict's trace: which rule, what it found, why, and the law."""

    rule_id: str
    result: RuleResult
    explanation: str
    citation: str
    todo: str = ""
    on_fail: OnFail = OnFail.NOT_ELIGIBLE
    certain: bool = True
    #: Whether this rule decided the programme's outcome.
    decisive: bool = False
    citation_certain: bool = True

    def to_dict(self) -> dict[str, object]:
        return {
            "rule": self.rule_id,
            "result": self.result.value,
            "explanation": self.explanation,
            "citation": self.citation,
            "todo": self.todo,
            "on_fail": self.on_fail.value,
            "certain": self.certain,
            "citation_certain": self.citation_certain,
            "decisive": self.decisive,
        }


@dataclass(frozen=True, slots=True)
class SupportEstimate:
    """The *maximum* support ("tối đa"), never a promise nor the sum granted.

    ``max_amount`` is set only when the cost is known and every figure is confirmed; when a
    figure is uncertain or missing, ``to_confirm`` is true and no number is given.
    """

    kind: SupportKind
    to_confirm: bool
    max_amount: int | None = None
    rate: Decimal | None = None
    cap: int | None = None
    cost: int | None = None
    technology_line: bool = False
    multiplier: Decimal | None = None
    #: The cost is so high that the cap, not the rate, limits the support.
    capped: bool = False
    #: The cost exceeds twice the cap in force.
    exceeds_double_cap: bool = False
    per: str = ""
    citation: str = ""
    effective_from: date | None = None
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "to_confirm": self.to_confirm,
            "max_amount": self.max_amount,
            "rate": str(self.rate) if self.rate is not None else None,
            "cap": self.cap,
            "cost": self.cost,
            "technology_line": self.technology_line,
            "multiplier": str(self.multiplier) if self.multiplier is not None else None,
            "capped": self.capped,
            "exceeds_double_cap": self.exceeds_double_cap,
            "per": self.per,
            "citation": self.citation,
            "effective_from": self.effective_from.isoformat() if self.effective_from else None,
            "note": self.note,
        }


@dataclass(frozen=True, slots=True)
class PriorityMatch:
    id: str
    label: str
    citation: str
    certain: bool = True
    uncertainty: str = ""

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "label": self.label,
            "citation": self.citation,
            "certain": self.certain,
            "uncertainty": self.uncertainty,
        }


@dataclass(frozen=True, slots=True)
class ProgrammeVerdict:
    programme_id: str
    programme_name: str
    outcome: Outcome
    trace: tuple[RuleOutcome, ...]
    #: ``None`` for a programme the facility is likely not eligible for: no amount is shown.
    support: SupportEstimate | None
    priorities: tuple[PriorityMatch, ...] = ()
    documents: tuple[str, ...] = ()
    next_step: str = ""
    evaluated_on: date | None = None
    #: The owner's province when it is not the Center's: that province's khuyến công centre
    #: (or Sở Công Thương) handles the facility; ``None`` inside the Center's area or unknown.
    outside_province: str | None = None

    @property
    def deciding(self) -> tuple[RuleOutcome, ...]:
        """The rules that decided the outcome, in rule order."""
        return tuple(line for line in self.trace if line.decisive)

    def to_dict(self) -> dict[str, object]:
        return {
            "programme": self.programme_id,
            "name": self.programme_name,
            "outcome": self.outcome.value,
            "trace": [line.to_dict() for line in self.trace],
            "support": self.support.to_dict() if self.support is not None else None,
            "priorities": [match.to_dict() for match in self.priorities],
            "documents": list(self.documents),
            "next_step": self.next_step,
            "evaluated_on": self.evaluated_on.isoformat() if self.evaluated_on else None,
            "outside_province": self.outside_province,
        }
