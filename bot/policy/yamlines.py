"""YAML loading that remembers line numbers, so content errors point at the right line.

Staff edit these files by hand; "general.yaml:42: …" is worth far more to them than a
Python traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.core.texts import ContentError


class LocatedDict(dict[Any, Any]):
    """A mapping that knows the line it starts on and the line of each key."""

    line: int
    key_lines: dict[Any, int]
    duplicates: list[tuple[Any, int]]


class LocatedList(list[Any]):
    """A sequence that knows the line it starts on and the line of each item."""

    line: int
    item_lines: list[int]


#: libyaml's parser when installed (about ten times faster), else the pure-Python one.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader whose mappings and sequences carry 1-based line numbers."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    result.duplicates = []
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in result:
            result.duplicates.append((key, line))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_located(path: Path) -> Any:
    """Parse ``path`` keeping line numbers; syntax errors become :class:`ContentError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        msg = f"{path}: file not found"
        raise ContentError(msg) from exc
    try:
        return yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        msg = f"{path}{where}: {exc}"
        raise ContentError(msg) from exc


def line_of(node: Any, key: Any = None, *, default: int = 1) -> int:
    """The line of ``node`` (or of ``key`` inside it, or item ``key`` of a list)."""
    if isinstance(node, LocatedDict):
        if key is not None and key in node.key_lines:
            return node.key_lines[key]
        return node.line
    if isinstance(node, LocatedList):
        if isinstance(key, int) and 0 <= key < len(node.item_lines):
            return node.item_lines[key]
        return node.line
    return default
