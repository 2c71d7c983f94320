"""``khuyencong zalo key`` and ``khuyencong zalo authorize`` against the fake Zalo."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.app.cli import main
from bot.channels.zalo.crypto import SecretBox
from storage import Database
from storage.models.channels import ZaloToken
from tests.fakes.zalo_api import APP_ID, OA_ID, FakeZaloOA
from tests.harness import TEST_TOKEN_KEY, fixed_clock, zalo_oa_values


def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake: FakeZaloOA) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PUBLIC_URL", "https://bot.example.vn")
    monkeypatch.setenv("ZALO_OA_CODE_VERIFIER", "v" * 43)
    for key, value in zalo_oa_values(fake).items():
        monkeypatch.setenv(key.upper(), str(value))
    return url


async def _stored(url: str) -> ZaloToken | None:
    database = Database(url)
    try:
        async with database.session() as session:
            return await session.get(ZaloToken, OA_ID)
    finally:
        await database.dispose()


def test_zalo_key_prints_a_usable_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["zalo", "key"]) == 0
    key = capsys.readouterr().out.strip()
    box = SecretBox(key)
    assert box.open(box.seal("x")) == "x"


async def test_authorize_prints_the_permission_link(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    zalo_oa: FakeZaloOA,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _environment(monkeypatch, tmp_path, zalo_oa)
    code = await asyncio.to_thread(main, ["zalo", "authorize", "--wait", "0"], clock=fixed_clock())
    assert code == 1  # nobody pressed "Cho phép" yet
    out = capsys.readouterr().out
    link = next(word for word in out.split() if "/v4/oa/permission?" in word)
    query = parse_qs(urlsplit(link).query)
    assert query["app_id"] == [APP_ID]
    assert query["redirect_uri"] == ["https://bot.example.vn/zalo/oa/callback"]
    assert query["code_challenge"][0]
    assert query["state"][0]


async def test_authorize_exchanges_a_code(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, zalo_oa: FakeZaloOA
) -> None:
    url = _environment(monkeypatch, tmp_path, zalo_oa)
    code = zalo_oa.issue_code()
    argv = ["zalo", "authorize", "--code", code]
    assert await asyncio.to_thread(main, argv, clock=fixed_clock()) == 0
    [exchange] = zalo_oa.oauth_calls
    assert exchange["grant_type"] == "authorization_code"
    assert exchange["code_verifier"] == "v" * 43
    row = await _stored(url)
    assert row is not None
    box = SecretBox(TEST_TOKEN_KEY)
    assert box.open(row.access_token) in zalo_oa.access_tokens
    assert box.open(row.app_secret) == "TEST_APP_SECRET"  # sealed, like the tokens
    assert await asyncio.to_thread(main, argv, clock=fixed_clock()) == 1  # used codes fail


async def test_authorize_stores_an_api_explorer_pair(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, zalo_oa: FakeZaloOA
) -> None:
    url = _environment(monkeypatch, tmp_path, zalo_oa)
    pair = zalo_oa.grant()
    argv = ["zalo", "authorize", "--access-token", pair["access_token"]]
    assert await asyncio.to_thread(main, argv, clock=fixed_clock()) == 2  # both are needed
    argv += ["--refresh-token", pair["refresh_token"]]
    assert await asyncio.to_thread(main, argv, clock=fixed_clock()) == 0
    row = await _stored(url)
    assert row is not None
    assert SecretBox(TEST_TOKEN_KEY).open(row.refresh_token) == pair["refresh_token"]
