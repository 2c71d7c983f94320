"""Shared NLU test helpers: paths and the table fixtures under ``tests/fixtures/nlu/``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.nlu import SearchDocument

ROOT = Path(__file__).resolve().parents[2]
CONTENT_DIR = ROOT / "content"
NLU_FIXTURES = ROOT / "tests" / "fixtures" / "nlu"


def read_table(name: str) -> Any:
    with (NLU_FIXTURES / name).open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def fixture_documents() -> list[SearchDocument]:
    return [
        SearchDocument(row["id"], row["title"], tuple(row["phrases"]))
        for row in read_table("documents.yaml")
    ]
