"""Shared eligibility fixtures: the real questionnaire and rules, the real policy catalogue."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.eligibility import EligibilityContent, load_eligibility
from bot.policy import Catalogue, load_catalogue

ROOT = Path(__file__).resolve().parents[2]
CONTENT_DIR = ROOT / "content"
CASES_DIR = CONTENT_DIR / "eligibility" / "cases"


@pytest.fixture(scope="session")
def content() -> EligibilityContent:
    return load_eligibility(CONTENT_DIR)


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(CONTENT_DIR)
