"""Shared NLU fixtures: the real lexicon and an index over the fixture documents."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.nlu import Index, Lexicon, SearchDocument, load_lexicon

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


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return load_lexicon(CONTENT_DIR)


@pytest.fixture(scope="session")
def index(lexicon: Lexicon) -> Index:
    return Index.build(fixture_documents(), lexicon)
