"""Every parsing template renders for every reason its parser can give, with an example."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.texts import Texts
from bot.parsing import Gazetteer, ParseReason

CONTENT = Path(__file__).resolve().parents[2] / "content"
FALLBACK_OPENING = "Dạ, em chưa đọc được"


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts(CONTENT)


@pytest.mark.parametrize("reason", list(ParseReason))
@pytest.mark.parametrize("name", ["money_invalid", "number_invalid"])
def test_amount_templates_end_with_an_example(
    texts: Texts, name: str, reason: ParseReason
) -> None:
    text = texts.render(f"parsing/{name}", reason=reason.value)
    assert "**" in text.splitlines()[-1]


@pytest.mark.parametrize(
    "reason",
    [
        ParseReason.NEGATIVE,
        ParseReason.ZERO,
        ParseReason.TOO_LARGE,
        ParseReason.FRACTION,
        ParseReason.AMBIGUOUS,
        ParseReason.WRONG_CURRENCY,
    ],
)
def test_money_reasons_have_their_own_explanation(texts: Texts, reason: ParseReason) -> None:
    assert not texts.render("parsing/money_invalid", reason=reason.value).startswith(
        FALLBACK_OPENING
    )


def test_phone_template_offers_the_new_number(texts: Texts) -> None:
    text = texts.render(
        "parsing/phone_invalid", reason="old_mobile_prefix", suggestion="0321 234 567"
    )
    assert "0321 234 567" in text
    plain = texts.render("parsing/phone_invalid", reason="wrong_length", suggestion=None)
    assert "0912 345 678" in plain


def test_place_templates(texts: Texts) -> None:
    gazetteer = Gazetteer.build()
    matches = gazetteer.find_units("an ninh")
    text = texts.render("parsing/place_ambiguous", matches=matches)
    assert "tỉnh Tây Ninh" in text
    assert "Thành phố Cần Thơ" in text
    missing = texts.render("parsing/place_not_found", query="zzz", province_name="Cần Thơ")
    assert "zzz" in missing
    assert texts.render("parsing/former_address")
    assert texts.label("parsing.phone_yes")
