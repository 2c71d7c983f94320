"""Channel-aware wording: templates say "bấm «Chưa rõ»" for buttons; a channel without
buttons (the terminal chat) shows numbered options, so it reads "gõ «Chưa rõ»" instead.

The replacements are content (``content/channels/no_buttons.yaml``); typing an option's
label or number works on every channel (the engine maps it back to the choice).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.core.texts import ContentError, load_yaml

NO_BUTTONS_FILE = Path("channels") / "no_buttons.yaml"


@dataclass(frozen=True, slots=True)
class Rewording:
    """Ordered (from, to) replacements applied to every text a channel shows."""

    pairs: tuple[tuple[str, str], ...] = ()

    def apply(self, text: str) -> str:
        for old, new in self.pairs:
            text = text.replace(old, new)
        return text


def load_no_buttons_wording(root: Path) -> Rewording:
    path = root / NO_BUTTONS_FILE
    if not path.exists():
        return Rewording()
    data = load_yaml(path) or {}
    raw = data.get("replace") if isinstance(data, dict) else None
    if not isinstance(raw, list) or not all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(v, str) for v in pair)
        for pair in raw
    ):
        msg = f"{path}: expected 'replace:' with a list of [text, replacement] pairs"
        raise ContentError(msg)
    return Rewording(tuple((str(old), str(new)) for old, new in raw))
