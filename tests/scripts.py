"""Conversation scripts kept as data and replayed on each channel."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

SCRIPTS = Path(__file__).resolve().parent / "fixtures" / "conversations"


def load_script(name: str) -> list[dict[str, Any]]:
    with (SCRIPTS / f"{name}.yaml").open(encoding="utf-8") as handle:
        steps: list[dict[str, Any]] = yaml.safe_load(handle)
    return steps
