"""Maximum support from the dated catalogue figures: uncertain or missing → no number."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.eligibility import SupportKind, estimate_support
from bot.eligibility.model import SupportSpec
from bot.policy import Catalogue

DAY = date(2026, 11, 26)
MACHINERY = SupportSpec(
    kind=SupportKind.COST_SHARE,
    rate="may_moc_thiet_bi.national_rate_max",
    cap="may_moc_thiet_bi.national_amount_max",
    line_multiplier="may_moc_thiet_bi.technology_line_multiplier",
    cost_fact="machine_cost",
    line_fact="is_full_line",
    per="cơ sở",
)


def test_rate_times_cost_under_the_cap(catalogue: Catalogue) -> None:
    support = estimate_support(MACHINERY, catalogue, {"machine_cost": 123_456_789}, on=DAY)
    assert support.max_amount == 61_728_394  # half, rounded down: never overstated
    assert support.rate == Decimal("0.5")
    assert support.cap == 300_000_000
    assert support.citation == "Khoản 4 Điều 8 Thông tư 28/2018/TT-BTC"
    assert support.effective_from == date(2018, 5, 11)
    assert not support.capped and not support.to_confirm


def test_an_uncertain_local_figure_gives_no_number(catalogue: Catalogue) -> None:
    local = SupportSpec(
        kind=SupportKind.COST_SHARE,
        rate="may_moc_thiet_bi.local_rate_max",
        cap="may_moc_thiet_bi.local_amount_max",
        cost_fact="machine_cost",
    )
    support = estimate_support(local, catalogue, {"machine_cost": 400_000_000}, on=DAY)
    assert support.to_confirm
    assert support.max_amount is None and support.cap is None
    assert support.citation  # staff still see where the figure will come from


def test_a_missing_figure_gives_no_number(catalogue: Catalogue) -> None:
    spec = SupportSpec(kind=SupportKind.CAP, rate="khong_co.rate", cap="khong_co.cap")
    support = estimate_support(spec, catalogue, {}, on=DAY)
    assert support.to_confirm and support.max_amount is None and support.citation == ""


def test_to_confirm_programmes_never_compute(catalogue: Catalogue) -> None:
    spec = SupportSpec(kind=SupportKind.TO_CONFIRM, note="Cán bộ báo")
    support = estimate_support(spec, catalogue, {"machine_cost": 1}, on=DAY)
    assert support.to_confirm and support.max_amount is None and support.note == "Cán bộ báo"
