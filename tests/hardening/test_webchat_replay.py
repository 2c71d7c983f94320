"""A web chat event id replays only to the session that sent it (issue 18.3)."""

from __future__ import annotations

from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient, TestServer

from storage import Database
from tests.conftest import CONTENT_DIR
from tests.harness import make_engine, webchat_app


async def _post(client: TestClient[Any, Any], body: dict[str, str]) -> str:
    response = await client.post("/chat/api/message", json=body)
    assert response.status == 200
    return "\n".join(reply["text"] for reply in (await response.json())["replies"])


async def test_another_session_posting_the_same_event_id_gets_its_own_answer(
    database: Database,
) -> None:
    engine, _ = make_engine(database)
    app = webchat_app(engine)
    server = TestServer(app)
    async with (
        TestClient(server, cookie_jar=aiohttp.CookieJar(unsafe=True)) as first,
        TestClient(TestServer(app), cookie_jar=aiohttp.CookieJar(unsafe=True)) as second,
    ):
        mine = await _post(first, {"text": "/start", "event_id": "shared-id"})
        again = await _post(first, {"text": "/start", "event_id": "shared-id"})
        theirs = await _post(second, {"text": "/trogiup", "event_id": "shared-id"})
    assert again == mine  # the same browser's retry is answered from the stored replies
    assert theirs and theirs != mine  # another browser never sees the first one's replies


def test_the_page_makes_event_ids_from_the_crypto_api_only() -> None:
    page = (CONTENT_DIR / "templates" / "web" / "chat_page.j2").read_text()
    assert "crypto.getRandomValues" in page
    assert "Math.random" not in page
