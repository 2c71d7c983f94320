"""The Center's content folder, loaded once at start-up and shared read-only.

Domain packages (policies, eligibility, privacy…) each provide a loader function taking the
content root; :meth:`Content.get` calls it once and caches the result, so a typo in a
content file is reported at start-up (and by ``khuyencong content check``), not mid-chat.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bot.core.texts import ContentError, Texts, load_yaml
from bot.nlu.normalize import fold

T = TypeVar("T")

DEFAULT_CONTENT_DIR = Path(__file__).resolve().parents[2] / "content"
CENTER_FILE = "center.yaml"
TO_CONFIRM_KEY = "to_confirm"


@dataclass(frozen=True, slots=True)
class CenterInfo:
    """The Center's own details, shown in greetings, notices and fallbacks.

    A detail not known yet is empty (``""``): texts then send the owner to "Hỏi cán bộ"
    instead of showing it. ``to_confirm`` lists details present but not yet confirmed by the
    Center; ``khuyencong content check --deploy`` refuses both before going live.
    """

    name: str
    short_name: str
    province: str
    address: str
    phone: str
    email: str
    hours: str
    website: str = ""
    to_confirm: tuple[str, ...] = ()


class Content:
    """Everything under ``content/``: texts, the Center's details, typed command words."""

    def __init__(self, root: Path = DEFAULT_CONTENT_DIR) -> None:
        self.root = root
        self.center = load_center(root / CENTER_FILE)
        self.texts = Texts(root, globals_={"center": self.center})
        self.command_words = _load_command_words(root / "commands.yaml")
        self._cache: dict[Callable[[Path], Any], Any] = {}
        self._derived: dict[Callable[[Content], Any], Any] = {}

    def get(self, loader: Callable[[Path], T]) -> T:
        """The result of ``loader(root)``, computed once."""
        if loader not in self._cache:
            self._cache[loader] = loader(self.root)
        result: T = self._cache[loader]
        return result

    def derived(self, build: Callable[[Content], T]) -> T:
        """``build(self)``, computed once: objects made from several parts of the content
        (the rendered-document cache needs both the texts and the catalogue)."""
        if build not in self._derived:
            self._derived[build] = build(self)
        result: T = self._derived[build]
        return result

    def command_for(self, text: str) -> str | None:
        """The command a typed word means ("menu", "huy", "tro giup"…), if any."""
        return self.command_words.get(fold(text).strip(" .!?"))


def load_center(path: Path) -> CenterInfo:
    data = load_yaml(path)
    if not isinstance(data, dict):
        msg = f"{path}: expected a mapping"
        raise ContentError(msg)
    confirm = data.get(TO_CONFIRM_KEY) or []
    if not isinstance(confirm, list):
        msg = f"{path}: {TO_CONFIRM_KEY}: expected a list of field names"
        raise ContentError(msg)
    values = {str(k): "" if v is None else str(v) for k, v in data.items() if k != TO_CONFIRM_KEY}
    try:
        return CenterInfo(**values, to_confirm=tuple(str(name) for name in confirm))
    except TypeError as exc:
        msg = f"{path}: {exc}"
        raise ContentError(msg) from exc


def _load_command_words(path: Path) -> dict[str, str]:
    data = load_yaml(path)
    if not isinstance(data, dict):
        msg = f"{path}: expected a mapping of command to typed words"
        raise ContentError(msg)
    words: dict[str, str] = {}
    for command, phrases in data.items():
        if not isinstance(phrases, list):
            msg = f"{path}: {command}: expected a list of words"
            raise ContentError(msg)
        for phrase in phrases:
            words[fold(str(phrase))] = str(command)
    return words
