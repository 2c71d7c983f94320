"""Checks of ``content/center.yaml``: no placeholder ever reaches an owner, and a deployment
does not start with the Center's contact details missing.

Two levels, because the shipped content cannot know a real Center's phone number:

* :func:`check_center` (always, part of ``khuyencong content check``): a value is either real
  or empty; placeholder text such as "(cán bộ Trung tâm cập nhật số điện thoại)" is an error.
  An empty value is allowed: owners are then sent to "Hỏi cán bộ".
* :func:`check_center_ready` (``khuyencong content check --deploy``, before going live):
  the contact details are filled in and nothing is left under ``to_confirm``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.core.checks import Problem
from bot.core.content import CENTER_FILE, TO_CONFIRM_KEY
from bot.core.texts import ContentError
from bot.nlu import fold
from bot.policy.yamlines import LocatedDict, line_of, load_located

#: Every detail ``center.yaml`` may hold.
FIELDS = ("name", "short_name", "province", "address", "phone", "email", "hours", "website")
#: Needed by every text, even in development.
ALWAYS_REQUIRED = ("name", "short_name", "province")
#: Needed before owners use the bot: how to reach the Center (the consent notice relies on it).
REQUIRED_TO_GO_LIVE = ("address", "phone", "email", "hours")
#: Words that mark a value as "to be filled in", compared without diacritics.
PLACEHOLDER_WORDS = ("cap nhat", "todo", "tbd", "xxx", "placeholder", "dien sau", "chua co")
#: A value wrapped whole in brackets is a note to the editor, not a fact.
BRACKETED = re.compile(r"^\s*[\(\[<{].*[\)\]>}]\s*$", re.DOTALL)
MIN_PHONE_DIGITS = 8


def looks_like_placeholder(value: str) -> bool:
    """Whether ``value`` is an editor's note ("(cán bộ … cập nhật …)", "TODO") not a fact."""
    folded = fold(value)
    return bool(BRACKETED.match(value)) or any(word in folded for word in PLACEHOLDER_WORDS)


def check_center(root: Path) -> list[Problem]:
    """Placeholders, malformed phone or email, missing names: always an error."""
    path = root / CENTER_FILE
    data = _load(path)
    if isinstance(data, Problem):
        return [data]
    problems: list[Problem] = []
    for field in FIELDS:
        text = _value(data, field)
        line = line_of(data, field)
        if text and looks_like_placeholder(text):
            problems.append(
                Problem(
                    path,
                    line,
                    f"{field}: {text!r} is a placeholder, not the Center's {field}; write the "
                    f'real value, or "" until it is known (owners are then sent to "Hỏi cán bộ")',
                )
            )
        elif field == "phone" and text and sum(c.isdigit() for c in text) < MIN_PHONE_DIGITS:
            problems.append(Problem(path, line, f"phone: {text!r} is not a phone number"))
        elif field == "email" and text and "@" not in text:
            problems.append(Problem(path, line, f"email: {text!r} is not an email address"))
        elif field in ALWAYS_REQUIRED and not text:
            problems.append(Problem(path, line, f"{field}: must not be empty"))
    unknown = set(data) - {*FIELDS, TO_CONFIRM_KEY}
    problems += [Problem(path, line_of(data, key), f"unknown field {key!r}") for key in unknown]
    confirm = data.get(TO_CONFIRM_KEY) or []
    if not isinstance(confirm, list) or not set(map(str, confirm)) <= set(FIELDS):
        problems.append(
            Problem(
                path,
                line_of(data, TO_CONFIRM_KEY),
                f"{TO_CONFIRM_KEY}: expected a list of field names among {list(FIELDS)}",
            )
        )
    return problems


def check_center_ready(root: Path) -> list[Problem]:
    """Before going live: contact details set, nothing left to confirm."""
    path = root / CENTER_FILE
    data = _load(path)
    if isinstance(data, Problem):
        return [data]
    problems = [
        Problem(
            path,
            line_of(data, field),
            f"{field}: not set; fill in the Center's real {field} before going live",
        )
        for field in REQUIRED_TO_GO_LIVE
        if not _value(data, field)
    ]
    confirm = data.get(TO_CONFIRM_KEY) or []
    if isinstance(confirm, list):
        problems += [
            Problem(
                path,
                line_of(data, TO_CONFIRM_KEY),
                f"{field}: still listed under {TO_CONFIRM_KEY}; check it with the Center, then "
                "remove it from the list",
            )
            for field in map(str, confirm)
        ]
    return problems


def _load(path: Path) -> LocatedDict | Problem:
    try:
        data: Any = load_located(path)
    except ContentError as exc:
        return Problem(path, 1, str(exc))
    if not isinstance(data, LocatedDict):
        return Problem(path, 1, "expected a mapping of the Center's details")
    return data


def _value(data: LocatedDict, field: str) -> str:
    value = data.get(field)
    return "" if value is None else str(value).strip()
