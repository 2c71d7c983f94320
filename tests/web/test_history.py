"""``/chat/api/history``: what a reload of the web chat shows again (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from storage import Database
from tests.harness import make_engine, webchat_app


@pytest.fixture
async def client(database: Database) -> AsyncIterator[TestClient[Any, Any]]:
    engine, _ = make_engine(database)
    jar = aiohttp.CookieJar(unsafe=True)
    async with TestClient(TestServer(webchat_app(engine)), cookie_jar=jar) as test_client:
        yield test_client


async def _post(client: TestClient[Any, Any], body: dict[str, str]) -> None:
    response = await client.post("/chat/api/message", json=body)
    assert response.status == 200, await response.text()


async def test_a_new_visitor_has_no_history(client: TestClient[Any, Any]) -> None:
    response = await client.get("/chat/api/history")
    assert response.status == 200
    assert await response.json() == {"messages": [], "choices": [], "last_id": 0}


async def test_history_shows_both_sides_and_the_live_buttons(
    client: TestClient[Any, Any],
) -> None:
    await _post(client, {"text": "/start"})
    await _post(client, {"choice": "eligibility:start"})
    await _post(client, {"choice": "eligibility:a:facility_type:ho_kinh_doanh"})
    history = await (await client.get("/chat/api/history")).json()
    messages = history["messages"]
    assert "Xin chào" in messages[0]["text"]  # the command itself is not shown
    mine = [m["text"] for m in messages if m["who"] == "me"]
    # A tap is shown as the label the owner pressed, not as its id.
    assert mine == ["✅ Kiểm tra điều kiện", "Hộ kinh doanh (đã có giấy đăng ký)"]
    assert "Câu 2." in messages[-1]["text"]
    live = [c["id"] for c in history["choices"]]
    assert live[-2:] == ["eligibility:back", "eligibility:restart"]
    assert history["last_id"] >= max(m["id"] for m in messages)


async def test_history_belongs_to_its_session_only(client: TestClient[Any, Any]) -> None:
    await _post(client, {"text": "/start"})
    client.session.cookie_jar.clear()
    other = await (await client.get("/chat/api/history")).json()
    assert other["messages"] == []
