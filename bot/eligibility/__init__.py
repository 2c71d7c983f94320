"""Eligibility check: questionnaire and rules as data, an explained and cited verdict.

``load_eligibility(root)`` reads ``content/eligibility/``; ``evaluate(content, catalogue,
facts, on=day)`` returns one :class:`ProgrammeVerdict` per programme: *likely eligible*,
*needs staff review* or *likely not eligible* (never "approved"), with the rule trace.
"""

from bot.eligibility.answers import (
    Interpretation,
    interpret_choice_text,
    interpret_multi_text,
    interpret_yes_no,
)
from bot.eligibility.check import check_eligibility
from bot.eligibility.conditions import Condition, parse_condition
from bot.eligibility.engine import check_rule, evaluate
from bot.eligibility.loader import load_eligibility
from bot.eligibility.model import (
    LOCATION_FACTS,
    AnswerType,
    EligibilityContent,
    OnFail,
    Option,
    Outcome,
    PriorityMatch,
    Programme,
    ProgrammeVerdict,
    Question,
    Rule,
    RuleOutcome,
    RuleResult,
    SupportEstimate,
    SupportKind,
)
from bot.eligibility.questionnaire import (
    ALL_PROGRAMMES,
    SUPPORT_FACT,
    next_question,
    pending_questions,
    programmes_in_scope,
    with_implied,
)
from bot.eligibility.support import FigureCatalogue, estimate_support

__all__ = [
    "ALL_PROGRAMMES",
    "LOCATION_FACTS",
    "SUPPORT_FACT",
    "AnswerType",
    "Condition",
    "EligibilityContent",
    "FigureCatalogue",
    "Interpretation",
    "OnFail",
    "Option",
    "Outcome",
    "PriorityMatch",
    "Programme",
    "ProgrammeVerdict",
    "Question",
    "Rule",
    "RuleOutcome",
    "RuleResult",
    "SupportEstimate",
    "SupportKind",
    "check_eligibility",
    "check_rule",
    "estimate_support",
    "evaluate",
    "interpret_choice_text",
    "interpret_multi_text",
    "interpret_yes_no",
    "load_eligibility",
    "next_question",
    "parse_condition",
    "pending_questions",
    "programmes_in_scope",
    "with_implied",
]
