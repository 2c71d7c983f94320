from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot.app.web import ENGINE_KEY
from bot.channels.webchat import SESSION_COOKIE, WebChatChannel
from bot.core.messages import OutboundMessage
from storage import Database, MessageLog
from tests.harness import make_engine, webchat_app
from tests.scripts import load_script


@pytest.fixture
async def client(database: Database) -> AsyncIterator[TestClient[Any, Any]]:
    engine, _ = make_engine(database)
    app = webchat_app(engine)
    jar = aiohttp.CookieJar(unsafe=True)  # keep the session cookie on 127.0.0.1
    async with TestClient(TestServer(app), cookie_jar=jar) as test_client:
        yield test_client


async def _send(client: TestClient[Any, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    response = await client.post("/chat/api/message", json=body)
    assert response.status == 200, await response.text()
    data = await response.json()
    replies: list[dict[str, Any]] = data["replies"]
    return replies


async def test_the_basic_conversation_runs_in_the_web_chat(client: TestClient[Any, Any]) -> None:
    for step in load_script("basic"):
        send = step["send"]
        if "command" in send:
            body = {"text": f"/{send['command']}"}
        elif "choice" in send:
            body = {"choice": send["choice"]}
        else:
            body = {"text": send["text"]}
        replies = await _send(client, body)
        text = "\n".join(reply["text"] for reply in replies)
        for fragment in step["expect"]:
            assert fragment in text, (send, text)


async def test_a_retried_post_with_the_same_event_id_is_handled_once(
    client: TestClient[Any, Any],
) -> None:
    """A browser retry (lost response) gets the same answer; the step is not run twice."""
    await _send(client, {"text": "/start"})
    first = await _send(client, {"text": "2", "event_id": "retry-1"})
    again = await _send(client, {"text": "2", "event_id": "retry-1"})
    assert first and again == first
    engine = client.app[ENGINE_KEY]
    async with engine.database.session() as session:
        count = await session.scalar(
            select(func.count()).select_from(MessageLog).where(MessageLog.direction == "in")
        )
    assert count == 2  # /start and one "2"


async def test_healthz_reports_the_database(client: TestClient[Any, Any]) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": True}


async def test_healthz_is_503_when_the_database_is_down(client: TestClient[Any, Any]) -> None:
    engine = client.app[ENGINE_KEY]
    live = engine.database
    engine.database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] is False
    await engine.database.dispose()
    engine.database = live


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("not json", "không hợp lệ"),
        ('["a list"]', "không hợp lệ"),
        ('{"text": "   "}', "chưa nhập nội dung"),
        ('{"text": "' + "a" * 2001 + '"}', "dài quá 2000"),
        ('{"text": "hi", "event_id": "' + "x" * 65 + '"}', "không hợp lệ"),
    ],
)
async def test_bad_input_gets_a_clear_vietnamese_message(
    client: TestClient[Any, Any], body: str, fragment: str
) -> None:
    response = await client.post(
        "/chat/api/message", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert fragment in (await response.json())["error"]


async def test_unknown_pages_answer_404_in_vietnamese(client: TestClient[Any, Any]) -> None:
    response = await client.get("/khong-co")
    assert response.status == 404
    assert "không tìm thấy" in (await response.json())["error"]


async def test_the_chat_page_is_served(client: TestClient[Any, Any]) -> None:
    response = await client.get("/chat")
    assert response.status == 200
    page = await response.text()
    assert '<html lang="vi">' in page
    assert "/chat/api/message" in page


async def test_late_messages_reach_the_page_by_polling(client: TestClient[Any, Any]) -> None:
    await _send(client, {"text": "/start"})
    session_id = client.session.cookie_jar.filter_cookies(client.make_url("/"))[SESSION_COOKIE]
    engine = client.app[ENGINE_KEY]
    channel = engine.channels["web"]
    assert isinstance(channel, WebChatChannel)
    result = await channel.send(session_id.value, OutboundMessage("Cán bộ trả lời: chào anh"))
    assert result.ok
    data = await (await client.get("/chat/api/poll?after=0")).json()
    assert [n["text"] for n in data["notices"]] == ["Cán bộ trả lời: chào anh"]
    last = data["notices"][0]["id"]
    assert (await (await client.get(f"/chat/api/poll?after={last}")).json())["notices"] == []


async def test_the_home_page_leads_to_the_chat(client: TestClient[Any, Any]) -> None:
    response = await client.get("/", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/chat"
