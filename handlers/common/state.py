"""Typed per-flow state in ``Conversation.data``.

A flow keeps its state under one key as a dataclass with ``from_data`` (tolerant: a missing
or malformed value gives the default, as state written by an older version may be) and
``to_data`` (JSON-serialisable), instead of reading loose string keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, Self, TypeVar

from bot.core.messages import Conversation


class FlowState(Protocol):
    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self: ...

    def to_data(self) -> dict[str, Any]: ...


StateT = TypeVar("StateT", bound=FlowState)


def load_state(conv: Conversation, key: str, kind: type[StateT]) -> StateT:
    """The state stored under ``key`` (the default state when there is none)."""
    raw = conv.data.get(key)
    return kind.from_data(raw if isinstance(raw, Mapping) else {})


def save_state(
    conv: Conversation, *, flow: str, step: str, key: str, state: FlowState
) -> Conversation:
    """The conversation at ``flow``/``step`` with ``state`` stored under ``key``."""
    return Conversation(flow=flow, step=step, data={**conv.data, key: state.to_data()})
