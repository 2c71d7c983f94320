"""User-facing text, all of it from ``content/``: Jinja2 templates and button labels.

No Vietnamese sentence lives in Python; a handler asks for ``texts.render("core/start")`` or
``texts.label("menu.policies")`` and staff edit the files under ``content/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from bot.core import formatting

TEMPLATE_SUFFIX = ".j2"
LABELS_DIR = "labels"
CHANNEL_LABEL_PREFIX = "channel."


class ContentError(Exception):
    """A content file is missing or malformed; the message names the file (and line)."""


class Texts:
    """Renders templates from ``<content>/templates`` and labels from ``labels/*.yaml``."""

    def __init__(self, root: Path, *, globals_: Mapping[str, Any] | None = None) -> None:
        self.root = root
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(root / "templates"),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # output is neutral text; each adapter escapes for its channel
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            money=formatting.money,
            money_short=formatting.money_short,
            date=formatting.vn_date,
            percent=formatting.percent,
        )
        self._env.globals.update(globals_ or {})
        self._labels = _load_labels(root / LABELS_DIR)
        # A template names a button exactly as it is shown: «{{ label("nav.menu") }}».
        self._env.globals["label"] = self.label
        #: ``{{ "zalo_oa" | channel_name }}``: how owners and staff call a channel.
        self._env.filters["channel_name"] = self.channel_name
        #: Templates from content data, compiled on first use (content is read-only at run time).
        self._compiled: dict[str, jinja2.Template] = {}

    @property
    def environment(self) -> jinja2.Environment:
        return self._env

    def render(self, name: str, **context: Any) -> str:
        """Render ``templates/<name>.j2``; surrounding blank lines are dropped."""
        template = self._env.get_template(f"{name}{TEMPLATE_SUFFIX}")
        return template.render(**context).strip()

    def render_string(self, source: str, **context: Any) -> str:
        """Render a template held in a content data file (FAQ answers, rule explanations).

        Compiled once per distinct source: compiling costs milliseconds, rendering microseconds.
        """
        template = self._compiled.get(source)
        if template is None:
            template = self._compiled[source] = self._env.from_string(source)
        return template.render(**context).strip()

    def label(self, key: str, **context: Any) -> str:
        try:
            raw = self._labels[key]
        except KeyError as exc:
            msg = f"{self.root / LABELS_DIR}: no label {key!r}"
            raise ContentError(msg) from exc
        return raw.format(**context) if context else raw

    def channel_name(self, channel: str) -> str:
        """The ``channels.<name>`` label of a channel, or its name when there is none."""
        key = f"{CHANNEL_LABEL_PREFIX}{channel}"
        return self.label(key) if key in self._labels else channel

    def has_label(self, key: str) -> bool:
        return key in self._labels

    def labels_under(self, prefix: str) -> dict[str, str]:
        """``{code: label}`` for every key ``<prefix>.<code>`` (e.g. the status names)."""
        start = f"{prefix}."
        return {k[len(start) :]: v for k, v in self._labels.items() if k.startswith(start)}

    def template_names(self) -> list[str]:
        return sorted(
            name.removesuffix(TEMPLATE_SUFFIX)
            for name in self._env.list_templates()
            if name.endswith(TEMPLATE_SUFFIX)
        )


def _load_labels(folder: Path) -> dict[str, str]:
    """Merge ``labels/*.yaml`` (one file per area); a key defined twice is an error."""
    labels: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        data = load_yaml(path) or {}
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            msg = f"{path}: expected a mapping of label keys to texts"
            raise ContentError(msg)
        for key, value in data.items():
            if key in labels:
                msg = f"{path}: label {key!r} is already defined in another labels file"
                raise ContentError(msg)
            labels[str(key)] = value
    return labels


def load_yaml(path: Path) -> Any:
    """Read one YAML file, turning parse errors into a :class:`ContentError` with the line."""
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        msg = f"{path}: file not found"
        raise ContentError(msg) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        msg = f"{path}{where}: {exc}"
        raise ContentError(msg) from exc
