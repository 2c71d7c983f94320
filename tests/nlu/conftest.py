"""Shared NLU fixtures: the real lexicon and an index over the fixture documents."""

from __future__ import annotations

import pytest

from bot.nlu import Index, Lexicon, load_lexicon
from tests.nlu.kit import CONTENT_DIR, fixture_documents


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return load_lexicon(CONTENT_DIR)


@pytest.fixture(scope="session")
def index(lexicon: Lexicon) -> Index:
    return Index.build(fixture_documents(), lexicon)
