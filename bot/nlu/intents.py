"""What owners mean when they type: actions, eligibility questions, out of scope.

Staff keep four files under ``content/nlu/``:

* ``intents.yaml``: every action reachable by words (delete my data, register, talk to
  staff…), with the button it stands for, whether it must be confirmed first, and example
  sentences;
* ``rules.yaml``: eligibility questions in life terms ("chưa có giấy phép"), each pointing at
  the eligibility rule whose own explanation answers it;
* ``out_of_scope.yaml``: questions the Center does not answer, so the classifier learns them;
* ``questions.yaml``: more phrasings for the catalogue's answers (by document id).

:func:`training_examples` turns these and the catalogue's documents into the classifier's
training set; :func:`check_intents` is the content check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.checks import Problem
from bot.core.texts import ContentError, load_yaml
from bot.nlu.classifier import Example
from bot.nlu.index import SearchDocument
from bot.nlu.lexicon import NLU_DIR
from bot.nlu.normalize import fold

INTENTS_FILE = "intents.yaml"
RULES_FILE = "rules.yaml"
OUT_OF_SCOPE_FILE = "out_of_scope.yaml"
QUESTIONS_FILE = "questions.yaml"

OUT_OF_SCOPE = "out_of_scope"
RULE_PREFIX = "rule."
GENERAL_PREFIX = "general."
#: An intent or rule question with fewer examples cannot be learnt reliably.
MIN_EXAMPLES = 8
MIN_OUT_OF_SCOPE = 20
#: An action that is a command rather than a button ("command:cancel").
COMMAND_PREFIX = "command:"

#: The intents the code knows how to carry out; an intent file may not invent others.
INTENT_NAMES = frozenset(
    {
        "greeting",
        "thanks",
        "goodbye",
        "cancel",
        "menu",
        "help",
        "programmes",
        "eligibility_check",
        "register",
        "talk_to_staff",
        "my_leads",
        "subscribe",
        "unsubscribe",
        "view_data",
        "fix_data",
        "delete_data",
        "withdraw_consent",
    }
)
#: Intents that change or erase data: the bot always asks with buttons first.
MUST_CONFIRM = frozenset({"unsubscribe", "delete_data", "withdraw_consent"})
#: Actions that confirm by themselves before erasing (the privacy flow's yes/no question).
SELF_CONFIRMING_ACTIONS = frozenset({"privacy:delete"})
_INTENT_KEYS = frozenset({"action", "offer", "confirm", "reply", "escape", "examples"})


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing an owner can ask the bot to do by typing."""

    name: str
    examples: tuple[str, ...]
    #: The button (choice id) or ``command:<name>`` the intent stands for.
    action: str = ""
    #: The button offered when the bot only guesses this intent ("did you mean…"); a button
    #: that changes data without asking again must not be offered, so confirmed intents name
    #: a safe one (the subscriptions panel).
    offer: str = ""
    #: Ask "are you sure?" with buttons before doing it.
    confirm: bool = False
    #: A template answering it directly (greeting, thanks, goodbye).
    reply: str = ""
    #: Understood even while the owner is answering one of the bot's questions.
    escape: bool = False


@dataclass(frozen=True, slots=True)
class RuleQuestion:
    """Eligibility questions in life terms, answered by the rule ``rule``'s explanation."""

    rule: str
    examples: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{RULE_PREFIX}{self.rule}"


@dataclass(frozen=True, slots=True)
class IntentContent:
    intents: Mapping[str, Intent]
    rule_questions: tuple[RuleQuestion, ...]
    out_of_scope: tuple[str, ...]
    #: Document id → more phrasings of the question it answers.
    questions: Mapping[str, tuple[str, ...]]


def load_intents(root: Path) -> IntentContent:
    """Read the four files; a malformed one raises :class:`ContentError` naming it."""
    folder = root / NLU_DIR
    return IntentContent(
        intents=_load_intent_file(folder / INTENTS_FILE),
        rule_questions=_load_rules_file(folder / RULES_FILE),
        out_of_scope=tuple(
            _texts(folder / OUT_OF_SCOPE_FILE, "examples", _section(folder / OUT_OF_SCOPE_FILE))
        ),
        questions=_load_questions_file(folder / QUESTIONS_FILE),
    )


def group_of(label: str) -> str:
    """What the classifier decides between for a label (see ``bot.nlu.classifier``): a
    programme's documents share their programme; anything else is its own group."""
    if label.startswith((GENERAL_PREFIX, RULE_PREFIX)) or "." not in label:
        return label
    return label.partition(".")[0]


def training_examples(
    documents: Iterable[SearchDocument], content: IntentContent
) -> list[Example]:
    """Every sentence the classifier learns from, labelled; duplicates kept once."""
    examples: list[Example] = []
    seen: set[tuple[str, str]] = set()

    def add(text: str, label: str) -> None:
        key = (fold(text), label)
        if key not in seen:
            seen.add(key)
            examples.append(Example(text, label, group_of(label)))

    for document in documents:
        for text in (_title_question(document.title), *document.phrases):
            add(text, document.id)
        for text in content.questions.get(document.id, ()):
            add(text, document.id)
    for intent in content.intents.values():
        for text in intent.examples:
            add(text, intent.name)
    for question in content.rule_questions:
        for text in question.examples:
            add(text, question.label)
    for text in content.out_of_scope:
        add(text, OUT_OF_SCOPE)
    return examples


def check_intents(
    root: Path, *, document_ids: Iterable[str] = (), rule_ids: Iterable[str] = ()
) -> list[Problem]:
    """Unknown intent, document or rule names, an intent with too few examples, the same
    example under two intents (or an intent and a question)."""
    lines = _intent_problems(root, document_ids=document_ids, rule_ids=rule_ids)
    return [Problem.from_line(line, default=root / NLU_DIR) for line in lines]


def _intent_problems(
    root: Path, *, document_ids: Iterable[str], rule_ids: Iterable[str]
) -> list[str]:
    try:
        content = load_intents(root)
    except ContentError as exc:
        return str(exc).splitlines()
    folder = root / NLU_DIR
    problems: list[str] = []
    intents_path = folder / INTENTS_FILE
    for name, intent in content.intents.items():
        if name not in INTENT_NAMES:
            known = ", ".join(sorted(INTENT_NAMES))
            problems.append(f"{intents_path}: unknown intent {name!r} (known: {known})")
        if len(intent.examples) < MIN_EXAMPLES:
            problems.append(
                f"{intents_path}: intent {name!r} has {len(intent.examples)} examples; "
                f"at least {MIN_EXAMPLES} are needed"
            )
        if name in MUST_CONFIRM and not (
            intent.confirm or intent.action in SELF_CONFIRMING_ACTIONS
        ):
            problems.append(f"{intents_path}: intent {name!r} changes data: add confirm: true")
        if intent.confirm and intent.offer == intent.action:
            problems.append(
                f"{intents_path}: intent {name!r} is confirmed first: its offer must be "
                "another, safe button"
            )
        if not intent.action and not intent.reply:
            problems.append(f"{intents_path}: intent {name!r} needs an action or a reply")
    rules_path = folder / RULES_FILE
    known_rules = set(rule_ids)
    for question in content.rule_questions:
        if known_rules and question.rule not in known_rules:
            problems.append(f"{rules_path}: unknown eligibility rule {question.rule!r}")
        if len(question.examples) < MIN_EXAMPLES:
            problems.append(
                f"{rules_path}: rule {question.rule!r} has {len(question.examples)} examples; "
                f"at least {MIN_EXAMPLES} are needed"
            )
    if len(content.out_of_scope) < MIN_OUT_OF_SCOPE:
        problems.append(
            f"{folder / OUT_OF_SCOPE_FILE}: at least {MIN_OUT_OF_SCOPE} examples are needed"
        )
    known_documents = set(document_ids)
    if known_documents:
        problems.extend(
            f"{folder / QUESTIONS_FILE}: unknown document {doc_id!r}"
            for doc_id in content.questions
            if doc_id not in known_documents
        )
    problems.extend(_duplicates(folder, content))
    return problems


def _duplicates(folder: Path, content: IntentContent) -> list[str]:
    """The same sentence (diacritics and case aside) under two different meanings."""
    owners: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
    sources: list[tuple[str, str, Sequence[str]]] = [
        (INTENTS_FILE, intent.name, intent.examples) for intent in content.intents.values()
    ]
    sources += [(RULES_FILE, q.label, q.examples) for q in content.rule_questions]
    sources.append((OUT_OF_SCOPE_FILE, OUT_OF_SCOPE, content.out_of_scope))
    sources += [(QUESTIONS_FILE, doc_id, texts) for doc_id, texts in content.questions.items()]
    for file_name, owner, texts in sources:
        for text in texts:
            key = " ".join(fold(text).split())
            if (file_name, owner) not in owners[key]:
                owners[key].append((file_name, owner))
    problems = []
    for key, found in owners.items():
        if len({owner for _, owner in found}) > 1:
            names = " and ".join(f"{owner!r}" for _, owner in found)
            problems.append(f"{folder / found[-1][0]}: {key!r} is an example of both {names}")
    return problems


def _title_question(title: str) -> str:
    """A section title ("Hỗ trợ …: Mức hỗ trợ") reads as a question about that section."""
    programme, separator, section = title.partition(": ")
    return f"{section} {programme}" if separator else title


def _section(path: Path) -> Any:
    data = load_yaml(path)
    if not isinstance(data, dict):
        msg = f"{path}: expected a mapping"
        raise ContentError(msg)
    return data


def _texts(path: Path, where: str, data: Mapping[str, Any]) -> list[str]:
    value = data.get(where)
    if not isinstance(value, list) or not value:
        msg = f"{path}: {where}: expected a non-empty list of sentences"
        raise ContentError(msg)
    return _sentences(path, where, value)


def _sentences(path: Path, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and str(item).strip() for item in value
    ):
        msg = f"{path}: {where}: every example must be a non-empty sentence"
        raise ContentError(msg)
    return [str(item).strip() for item in value]


def _load_intent_file(path: Path) -> dict[str, Intent]:
    data = _section(path)
    raw = data.get("intents")
    if not isinstance(raw, dict) or not raw:
        msg = f"{path}: expected intents: a mapping of intent names"
        raise ContentError(msg)
    intents: dict[str, Intent] = {}
    for name, body in raw.items():
        if not isinstance(body, dict):
            msg = f"{path}: intent {name!r}: expected a mapping"
            raise ContentError(msg)
        unknown = sorted(str(key) for key in body if key not in _INTENT_KEYS)
        if unknown:
            msg = f"{path}: intent {name!r}: unknown key {unknown[0]!r}"
            raise ContentError(msg)
        intents[str(name)] = Intent(
            name=str(name),
            examples=tuple(_sentences(path, f"intent {name!r}", body.get("examples"))),
            action=str(body.get("action") or ""),
            offer=str(body.get("offer") or body.get("action") or ""),
            confirm=bool(body.get("confirm", False)),
            reply=str(body.get("reply") or ""),
            escape=bool(body.get("escape", False)),
        )
    return intents


def _load_rules_file(path: Path) -> tuple[RuleQuestion, ...]:
    data = _section(path)
    raw = data.get("questions")
    if not isinstance(raw, list):
        msg = f"{path}: expected questions: a list of {{rule, examples}}"
        raise ContentError(msg)
    questions = []
    for number, item in enumerate(raw, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("rule"), str):
            msg = f"{path}: question {number}: expected rule: and examples:"
            raise ContentError(msg)
        examples = _sentences(path, f"rule {item['rule']!r}", item.get("examples"))
        questions.append(RuleQuestion(item["rule"], tuple(examples)))
    return tuple(questions)


def _load_questions_file(path: Path) -> dict[str, tuple[str, ...]]:
    data = _section(path)
    raw = data.get("questions")
    if not isinstance(raw, dict):
        msg = f"{path}: expected questions: a mapping of document ids to sentences"
        raise ContentError(msg)
    return {
        str(doc_id): tuple(_sentences(path, str(doc_id), texts)) for doc_id, texts in raw.items()
    }
