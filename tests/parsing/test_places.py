"""Gazetteer, rural status and former addresses, from fixtures/parsing/places.yaml."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.parsing import (
    AreaReason,
    AreaStatus,
    Gazetteer,
    PlaceMatch,
    ProvinceKind,
    UnitKind,
    load_gazetteer,
    looks_like_former_address,
    rural_area_status,
)
from bot.parsing.places import FORMER_PROVINCES, SCORE_FUZZY_MAX

TABLE: dict[str, Any] = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "fixtures" / "parsing" / "places.yaml").read_text(
        encoding="utf-8"
    )
)
CAN_THO = 92
#: Generous bounds on a 2-core machine; the measured figures are far below.
MAX_BUILD_SECONDS = 5.0
MAX_LOOKUP_SECONDS = 0.05


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.build()


def _pairs(matches: list[PlaceMatch]) -> list[tuple[str, int]]:
    return [(match.name, match.province_code) for match in matches]


def test_data_matches_the_2025_reform(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.provinces) == 34
    assert len(gazetteer) == 3321
    can_tho = gazetteer.units_in(CAN_THO)
    assert len(can_tho) == 103
    assert sum(unit.kind is UnitKind.PHUONG for unit in can_tho) == 31
    assert sum(unit.kind is UnitKind.XA for unit in can_tho) == 72
    province = gazetteer.province_by_code(CAN_THO)
    assert province is not None
    assert province.kind is ProvinceKind.THANH_PHO_TRUNG_UONG
    assert province.short_name == "Cần Thơ"


def test_table_is_large_enough() -> None:
    assert len(TABLE["units"]) + len(TABLE["ambiguous"]) >= 20


@pytest.mark.parametrize("row", TABLE["units"], ids=lambda row: row["query"])
def test_find_units_first_match(gazetteer: Gazetteer, row: dict[str, Any]) -> None:
    matches = gazetteer.find_units(row["query"], province_code=row.get("province_code"))
    assert matches, row["query"]
    first = matches[0]
    assert (first.name, first.province_code) == tuple(row["first"])
    assert first.exact is row["exact"]
    if row.get("province_code") is not None:
        assert {match.province_code for match in matches} == {row["province_code"]}


@pytest.mark.parametrize("row", TABLE["ambiguous"], ids=lambda row: row["query"])
def test_shared_names_return_every_province(gazetteer: Gazetteer, row: dict[str, Any]) -> None:
    matches = gazetteer.find_units(row["query"])
    assert sorted(_pairs(matches)) == sorted(tuple(pair) for pair in row["expected"])
    assert all(match.exact for match in matches)


@pytest.mark.parametrize("query", TABLE["none"])
def test_nonsense_finds_nothing(gazetteer: Gazetteer, query: str) -> None:
    assert gazetteer.find_units(query) == []


def test_preferred_province_comes_first_among_equals(gazetteer: Gazetteer) -> None:
    matches = gazetteer.find_units("an ninh", prefer_province_code=CAN_THO)
    assert [match.province_code for match in matches] == [CAN_THO, 80]


def test_exact_ranks_above_containing_and_fuzzy(gazetteer: Gazetteer) -> None:
    containing = gazetteer.find_units("long phu", province_code=CAN_THO)
    assert _pairs(containing) == [("Xã Long Phú", CAN_THO)]
    typo = gazetteer.find_units("long phuu", province_code=CAN_THO, limit=10)
    assert typo[0].name == "Xã Long Phú"
    assert all(match.score <= SCORE_FUZZY_MAX for match in typo if not match.exact)
    partial = gazetteer.find_units("nga", province_code=CAN_THO, limit=10)
    assert {"Phường Ngã Bảy", "Phường Ngã Năm"} <= {match.name for match in partial}


def test_limit_is_respected(gazetteer: Gazetteer) -> None:
    assert len(gazetteer.find_units("chau thanh", limit=2)) == 2


def test_unit_by_code_round_trips(gazetteer: Gazetteer) -> None:
    match = gazetteer.find_units("phu tam")[0]
    found = gazetteer.unit_by_code(match.code)
    assert found is not None
    assert (found.code, found.name, found.kind) == (match.code, match.name, match.kind)
    assert gazetteer.unit_by_code(-1) is None
    assert match.bare_name == "Phú Tâm"
    assert match.province_name == "Thành phố Cần Thơ"


@pytest.mark.parametrize(("query", "code"), TABLE["provinces"])
def test_find_provinces(gazetteer: Gazetteer, query: str, code: int) -> None:
    assert gazetteer.find_provinces(query)[0].code == code


def test_former_province_is_not_a_current_one(gazetteer: Gazetteer) -> None:
    current = {province.short_name for province in gazetteer.provinces}
    assert not current & set(FORMER_PROVINCES)
    assert gazetteer.find_provinces("Sóc Trăng") == []


@pytest.mark.parametrize(
    "row", TABLE["rural"], ids=lambda row: f"{row['query']}-{row['province_code']}"
)
def test_rural_area_status(gazetteer: Gazetteer, row: dict[str, Any]) -> None:
    match = gazetteer.find_units(row["query"], province_code=row["province_code"])[0]
    status = rural_area_status(match, in_recognised_craft_village=row["craft_village"])
    assert status.status is AreaStatus(row["status"])
    assert status.reason is AreaReason(row["reason"])
    assert "235/2025" in status.reference


def test_every_can_tho_phuong_needs_a_craft_village(gazetteer: Gazetteer) -> None:
    statuses = {
        unit.kind: rural_area_status(unit, in_recognised_craft_village=None).status
        for unit in gazetteer.units_in(CAN_THO)
    }
    assert statuses == {
        UnitKind.XA: AreaStatus.ELIGIBLE,
        UnitKind.PHUONG: AreaStatus.NEEDS_CRAFT_VILLAGE,
    }


@pytest.mark.parametrize(("text", "expected"), TABLE["former_address"])
def test_looks_like_former_address(text: str, expected: bool) -> None:
    assert looks_like_former_address(text) is expected


async def test_load_gazetteer_runs_off_the_loop() -> None:
    started = time.perf_counter()
    gazetteer = await load_gazetteer()
    build_seconds = time.perf_counter() - started
    started = time.perf_counter()
    gazetteer.find_units("phu tamm")
    lookup_seconds = time.perf_counter() - started
    assert len(gazetteer) == 3321
    assert build_seconds < MAX_BUILD_SECONDS
    assert lookup_seconds < MAX_LOOKUP_SECONDS
