"""Hostile and malformed input over the real server, on both databases (issue 18.9, 18.10).

A seeded generator mutates real Telegram updates and web chat requests (lone surrogates,
NUL, ids and dates out of range, infinite coordinates, deep nesting, lying headers, wrong
types). Nothing may answer 5xx, nothing may log an error or a traceback, and ``/healthz``
must still be 200 afterwards. ``FUZZ_CASES`` sets the cases per database.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import random
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.app.runtime import BotRuntime
from bot.core.clock import FixedClock
from tests.conftest import FIXTURES, drop_database, make_database
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import fixed_clock, telegram_settings

SECRET = "fuzz-secret-0123456789"
SEED = 18
CASES = int(os.environ.get("FUZZ_CASES", "2000"))
CONCURRENCY = 16
WEBHOOK = "/telegram/webhook"
BASE_UPDATES = [
    json.loads((FIXTURES / "telegram" / f"{name}.json").read_text())
    for name in ("text", "command", "callback_query", "contact_own", "location", "group_reply")
]
DEEP = 1000
HOSTILE_TEXTS = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "tên\x00 tôi",
    "\u202e\u0000\ufffe",
    "💥" * 2000,
    "ệ" * 4096,
    "/dangky \x00",
    "privacy:fixlead:99999999999999999999",
    "myleads:view:4294967296",
    "privacy:fixlead:²",
    "x" * 70,
]
HOSTILE_NUMBERS: list[Any] = [2**63, -(10**20), 10**30, -1, 0, 1.5, True, float("inf")]
HOSTILE_VALUES: list[Any] = [*HOSTILE_TEXTS, *HOSTILE_NUMBERS, None, [], {}, ""]


@dataclass
class Served:
    base: str
    clock: FixedClock


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def served(
    request: pytest.FixtureRequest, tmp_path: Path, fake: FakeTelegramAPI
) -> AsyncIterator[Served]:
    database = await make_database(request.param, tmp_path)
    url = database.url.render_as_string(hide_password=False)
    await database.dispose()
    port = _free_port()
    settings = telegram_settings(
        tmp_path,
        fake,
        database_url=url,
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        telegram_webhook_secret=SECRET,
        telegram_rate_limit=False,
    )
    clock = fixed_clock()
    runtime = BotRuntime(settings, clock=clock)
    await runtime.start()
    try:
        yield Served(f"http://127.0.0.1:{port}", clock)
    finally:
        await runtime.stop()
        await drop_database(database)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _set(node: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value


def _delete(node: Any, path: tuple[Any, ...]) -> None:
    for step in path[:-1]:
        node = node[step]
    del node[path[-1]]


def _encode(rng: random.Random, payload: Any) -> bytes:
    text = json.dumps(payload, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


def telegram_case(rng: random.Random, index: int) -> tuple[bytes, dict[str, str]]:
    """One webhook POST: a mutated real update, or a body that is not an update at all."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    roll = rng.random()
    if roll < 0.04:
        body = b'{"update_id": 1, "message": ' + b"[" * DEEP + b"]" * DEEP + b"}"
    elif roll < 0.08:
        body, headers["Content-Encoding"] = b'{"update_id": 5}', "gzip"
    elif roll < 0.12:
        body = rng.randbytes(rng.randint(0, 64))
    elif roll < 0.15:
        body = b'{"update_id": 7, "message": {"location": {"latitude": 1e400}}}'
    else:
        update = copy.deepcopy(rng.choice(BASE_UPDATES))
        update["update_id"] = 10_000 + index
        for _ in range(rng.randint(1, 3)):
            paths = _paths(update)
            path = rng.choice(paths)
            if rng.random() < 0.2 and len(path) > 1:
                _delete(update, path)
            else:
                _set(update, path, rng.choice(HOSTILE_VALUES))
        body = _encode(rng, update)
    return body, headers


def web_case(rng: random.Random) -> tuple[str, str, bytes, dict[str, str]]:
    """One web chat request: method, path with query, body and headers."""
    if rng.random() < 0.2:
        after = rng.choice(["-1", "9" * 30, "1e5", "\x00", "²", "", "12"])
        return "GET", f"/chat/api/poll?after={after}", b"", {}
    roll = rng.random()
    headers = {"Content-Type": "application/json"}
    if roll < 0.1:
        headers["Content-Type"] = "text/plain"
    if roll < 0.15:
        body = b"[" * DEEP + b"]" * DEEP
    elif roll < 0.2:
        body = rng.randbytes(rng.randint(0, 64))
    else:
        payload: Any = {
            rng.choice(["text", "choice", "event_id", "x"]): rng.choice(HOSTILE_VALUES)
        }
        if rng.random() < 0.5:
            payload["text"] = rng.choice(["/start", "1", "đăng ký", *HOSTILE_TEXTS])
        if rng.random() < 0.1:
            payload = rng.choice([[], "text", 1, None])
        body = _encode(rng, payload)
    return "POST", "/chat/api/message", body, headers


async def _run_cases(
    served: Served, cases: list[Callable[[aiohttp.ClientSession], Any]]
) -> list[tuple[int, str]]:
    statuses: list[tuple[int, str]] = []
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, auto_decompress=False) as http:
        for start in range(0, len(cases), CONCURRENCY):
            served.clock.advance(timedelta(seconds=60))  # the rate limits refill between rounds
            batch = cases[start : start + CONCURRENCY]
            statuses += await asyncio.gather(*(case(http) for case in batch))
    return statuses


def _post(base: str, path: str, body: bytes, headers: dict[str, str]) -> Any:
    async def run(http: aiohttp.ClientSession) -> tuple[int, str]:
        async with http.post(base + path, data=body, headers=headers) as response:
            await response.read()
            return response.status, f"POST {path} {body[:80]!r}"

    return run


def _get(base: str, path: str) -> Any:
    async def run(http: aiohttp.ClientSession) -> tuple[int, str]:
        async with http.get(base + path) as response:
            await response.read()
            return response.status, f"GET {path!r}"

    return run


async def test_hostile_input_never_gets_5xx_nor_logs_a_traceback(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(SEED)
    cases: list[Any] = []
    for index in range(CASES):
        if rng.random() < 0.6:
            body, headers = telegram_case(rng, index)
            cases.append(_post(served.base, WEBHOOK, body, headers))
        else:
            method, path, body, headers = web_case(rng)
            if method == "GET":
                cases.append(_get(served.base, path))
            else:
                cases.append(_post(served.base, path, body, headers))
    with caplog.at_level(logging.WARNING):
        statuses = await _run_cases(served, cases)
    server_errors = [(status, case) for status, case in statuses if status >= 500]
    assert server_errors == []
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert [f"{r.name}: {r.getMessage()}" for r in loud] == []
    async with aiohttp.ClientSession() as http, http.get(served.base + "/healthz") as health:
        assert health.status == 200


EXPLICIT_UPDATES = {
    "lone surrogate": '{"update_id": 1, "message": {"message_id": 1, "date": 1764190000, '
    '"from": {"id": 71}, "chat": {"id": 71, "type": "private"}, "text": "\\ud800"}}',
    "NUL": '{"update_id": 2, "message": {"message_id": 1, "date": 1764190000, '
    '"from": {"id": 72}, "chat": {"id": 72, "type": "private"}, "text": "a\\u0000b"}}',
    "date past 2^63": '{"update_id": 3, "message": {"message_id": 1, '
    '"date": 9223372036854775808, "from": {"id": 73}, "chat": {"id": 73, "type": "private"}, '
    '"text": "hi"}}',
    "date before -10^20": '{"update_id": 4, "message": {"message_id": 1, '
    '"date": -100000000000000000000, "from": {"id": 74}, "chat": {"id": 74, '
    '"type": "private"}, "text": "hi"}}',
    "latitude 10^400": '{"update_id": 5, "message": {"message_id": 1, "date": 1764190000, '
    '"from": {"id": 75}, "chat": {"id": 75, "type": "private"}, '
    '"location": {"latitude": 1e400, "longitude": 105}}}',
    "nested 1000 deep": '{"update_id": 6, "message": ' + "[" * DEEP + "]" * DEEP + "}",
    "huge lead id": '{"update_id": 7, "callback_query": {"id": "q", "from": {"id": 77}, '
    '"message": {"message_id": 1, "date": 1764190000, "chat": {"id": 77, "type": "private"}}, '
    '"data": "privacy:fixlead:99999999999999999999"}}',
    "huge user id": '{"update_id": 8, "message": {"message_id": 1, "date": 1764190000, '
    '"from": {"id": 1000000000000000000000}, "chat": {"id": 78, "type": "private"}, '
    '"text": "hi"}}',
}


async def test_each_known_hostile_input_is_answered_without_5xx(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    """The probe's list: each update answered 200 (cleaned and handled, or dropped with one
    warning line), a false gzip header too, and a poll past any id answered 400."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    lying = {**headers, "Content-Encoding": "gzip"}
    with caplog.at_level(logging.WARNING):
        async with aiohttp.ClientSession(auto_decompress=False) as http:
            for name, body in EXPLICIT_UPDATES.items():
                async with http.post(
                    served.base + WEBHOOK, data=body.encode(), headers=headers
                ) as response:
                    assert response.status == 200, name
            async with http.post(
                served.base + WEBHOOK, data=b'{"update_id": 9}', headers=lying
            ) as response:
                assert response.status < 500
            async with http.get(served.base + "/chat/api/poll?after=" + "9" * 30) as response:
                assert response.status == 400
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) <= len(EXPLICIT_UPDATES) + 1  # at most one line per input
    assert warnings  # the ones that were dropped said so


async def test_large_legitimate_updates_are_accepted(
    served: Served, fake: FakeTelegramAPI
) -> None:
    """2,000 emoji arrive as 24 KB of \\uXXXX escapes: over the old 16 KB limit."""
    update = copy.deepcopy(BASE_UPDATES[0])
    update["update_id"] = 99
    update["message"]["text"] = "😀" * 2000
    body = json.dumps(update).encode()
    assert len(body) > 16 * 1024
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(served.base + WEBHOOK, data=body, headers=headers) as response,
    ):
        assert response.status == 200
    assert fake.sent(update["message"]["chat"]["id"])  # handled and answered
