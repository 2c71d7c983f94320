"""HTML pages from ``content/templates/dashboard/`` with autoescaping on.

The environment is an overlay of the bot's own (same filters and ``center`` global), with
escaping switched on: every value an owner typed is shown as text, never as markup. Page
helpers are globals rather than filters, so ``khuyencong content check`` can render the
templates with sample values.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import jinja2

from bot.core.formatting import vn_date
from bot.core.texts import Texts

TEMPLATE_DIR = "dashboard"


class Pages:
    def __init__(self, texts: Texts, *, zone: tzinfo) -> None:
        self._zone = zone
        self._env = texts.environment.overlay(autoescape=True)
        self._env.globals.update(
            label=texts.label,
            has_label=texts.has_label,
            day=self.day,
            moment=self.moment,
        )

    def day(self, value: datetime | None) -> str:
        return vn_date(value.astimezone(self._zone)) if value is not None else ""

    def moment(self, value: datetime | None) -> str:
        """dd/mm/yyyy HH:MM in the Center's time zone."""
        if value is None:
            return ""
        local = value.astimezone(self._zone)
        return f"{vn_date(local)} {local:%H:%M}"

    def render(self, name: str, **context: Any) -> str:
        template: jinja2.Template = self._env.get_template(f"{TEMPLATE_DIR}/{name}.j2")
        return template.render(**context)
