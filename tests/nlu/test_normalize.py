from __future__ import annotations

import unicodedata

import pytest

from bot.nlu import fold, normalize
from tests.nlu.kit import read_table

TABLE = read_table("normalize.yaml")


@pytest.mark.parametrize(("text", "expected"), TABLE["tone_placement"])
def test_normalize_gives_one_form_for_both_tone_placements(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(("text", "expected"), TABLE["tone_placement"])
def test_normalize_accepts_decomposed_input(text: str, expected: str) -> None:
    result = normalize(unicodedata.normalize("NFD", text))
    assert result == expected
    assert unicodedata.is_normalized("NFC", result)


@pytest.mark.parametrize(("text", "expected"), TABLE["fold"])
def test_fold_drops_every_diacritic(text: str, expected: str) -> None:
    assert fold(text) == expected
    assert fold(unicodedata.normalize("NFD", text)) == expected


def test_both_placements_share_the_folded_key() -> None:
    assert fold(normalize("hoà")) == fold(normalize("hòa")) == "hoa"


def test_words_outside_vietnamese_are_left_alone() -> None:
    assert normalize("Café naïve") == "café naïve"
