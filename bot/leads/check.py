"""``khuyencong content check`` for lead content: notice, statuses, form options, labels.

Each loader already refuses a malformed file; this also checks that every option code has
its label and that each notifying status message renders, so a typo is found before an
owner or a staff chat sees it.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from bot.core.checks import Problem
from bot.core.content import Content
from bot.core.texts import ContentError
from bot.leads.catalogue import (
    NOTICE_FILE,
    OPTIONS_FILE,
    STATUSES_FILE,
    load_lead_options,
    load_notices,
    load_statuses,
)

SAMPLE_CODE = "KC-2026-000123"
SAMPLE_RETENTION_MONTHS = 24


def check_leads(root: Path) -> list[Problem]:
    problems: list[Problem] = []
    try:
        content = Content(root)
        notices = load_notices(root)
        statuses = load_statuses(root)
        options = load_lead_options(root)
    except ContentError as exc:
        return [Problem(root, 1, str(exc))]
    texts = content.texts
    for notice in (notices.lead, notices.subscription):
        try:
            texts.render_string(notice.text, retention_months=SAMPLE_RETENTION_MONTHS)
        except jinja2.TemplateError as exc:
            problems.append(Problem(root / NOTICE_FILE, 1, f"notice: {exc}"))
    for info in statuses.by_status.values():
        if info.message:
            try:
                texts.render_string(info.message, code=SAMPLE_CODE)
            except jinja2.TemplateError as exc:
                problems.append(Problem(root / STATUSES_FILE, 1, f"{info.status}: {exc}"))
    wanted = [
        *(f"register.kind.{kind}" for kind in options.kinds),
        *(f"register.facility.{code}" for code in options.facility_types),
        *(f"register.call.{code}" for code in options.call_times),
        *(f"subscribe.topic.{topic}" for topic in options.topics),
    ]
    problems += [
        Problem(root / OPTIONS_FILE, 1, f"no label {key!r} in labels/")
        for key in wanted
        if not texts.has_label(key)
    ]
    return problems
