"""Fixtures for the policy catalogue tests: the real content and a fixed day."""

from __future__ import annotations

from datetime import date

import pytest

from bot.core.content import Content
from bot.core.texts import Texts
from bot.policy import Catalogue, load_catalogue
from tests.conftest import CONTENT_DIR

#: Never the real clock: every test names its day.
TODAY = date(2026, 11, 26)


@pytest.fixture(scope="module")
def content() -> Content:
    return Content(CONTENT_DIR)


@pytest.fixture(scope="module")
def texts(content: Content) -> Texts:
    return content.texts


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(CONTENT_DIR)
