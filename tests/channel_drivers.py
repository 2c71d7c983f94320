"""Drive a scripted user on a real channel: the Telegram fake or the web chat.

Each driver returns, per step, the plain text the user saw and the buttons offered, so one
data script can be checked the same way on every channel.
"""

from __future__ import annotations

import asyncio
import html
import re
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from tests.fakes.telegram_api import FakeTelegramAPI

_TAG = re.compile(r"<[^>]+>")
SETTLE_SECONDS = 0.15
STEP_TIMEOUT_SECONDS = 10.0


@dataclass
class Seen:
    text: str
    choices: list[tuple[str, str]]  # (id, label)

    @property
    def choice_ids(self) -> list[str]:
        return [choice_id for choice_id, _ in self.choices]

    @property
    def labels(self) -> list[str]:
        return [label for _, label in self.choices]


def plain(html_text: str) -> str:
    """What the user reads of a Telegram HTML message."""
    return html.unescape(_TAG.sub("", html_text))


class TelegramDriver:
    """A user of the fake Telegram API; buttons are pressed on the newest message."""

    def __init__(self, fake: FakeTelegramAPI, user_id: int) -> None:
        self.fake = fake
        self.user_id = user_id

    async def _collect(self, before: int) -> Seen:
        await self.fake.wait_for_sent(self.user_id, before + 1, timeout=STEP_TIMEOUT_SECONDS)
        count = -1
        while count != len(self.fake.sent(self.user_id)):  # until nothing new arrives
            count = len(self.fake.sent(self.user_id))
            await asyncio.sleep(SETTLE_SECONDS)
        calls = self.fake.sent(self.user_id)[before:]
        texts = [plain(str(c["text"])) for c in calls if c["method"] == "sendMessage"]
        choices: list[tuple[str, str]] = []
        for call in calls:
            markup = call.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                choices.extend(
                    (b["callback_data"], b["text"]) for b in row if "callback_data" in b
                )
        return Seen("\n".join(texts), choices)

    async def tap(self, choice_id: str) -> Seen:
        """Press the newest button with this id; a script may also tap one that was never
        offered (a stale or forged button), which the bot must answer politely."""
        before = len(self.fake.sent(self.user_id))
        try:
            self.fake.press_button(self.user_id, choice_id)
        except LookupError:
            self.fake.forge_button(self.user_id, choice_id)
        return await self._collect(before)

    async def say(self, text: str) -> Seen:
        before = len(self.fake.sent(self.user_id))
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            self.fake.send_command(self.user_id, name, args)
        else:
            self.fake.send_text(self.user_id, text)
        return await self._collect(before)

    async def share_contact(self, phone: str, *, owner: int | None = None) -> Seen:
        before = len(self.fake.sent(self.user_id))
        self.fake.share_contact(self.user_id, phone, contact_user_id=owner or self.user_id)
        return await self._collect(before)


class WebDriver:
    """A browser user of the web chat (JSON API with the session cookie)."""

    def __init__(self, client: TestClient[Any, Any]) -> None:
        self.client = client

    async def _post(self, body: dict[str, str]) -> Seen:
        response = await self.client.post("/chat/api/message", json=body)
        assert response.status == 200, await response.text()
        replies = (await response.json())["replies"]
        text = "\n".join(reply["text"] for reply in replies)
        choices = [(c["id"], c["label"]) for reply in replies for c in reply["choices"]]
        return Seen(text, choices)

    async def tap(self, choice_id: str) -> Seen:
        return await self._post({"choice": choice_id})

    async def say(self, text: str) -> Seen:
        return await self._post({"text": text})


def check_step(step: dict[str, Any], seen: Seen, where: str) -> None:
    """Assert a data-script step (expect, absent, expect_choices, expect_labels)."""
    for fragment in step.get("expect", []):
        assert fragment in seen.text, f"{where}: missing {fragment!r} in {seen.text!r}"
    for fragment in step.get("absent", []):
        assert fragment not in seen.text, f"{where}: unexpected {fragment!r}"
    for choice_id in step.get("expect_choices", []):
        assert choice_id in seen.choice_ids, f"{where}: no button {choice_id} in {seen.choices}"
    for label in step.get("expect_labels", []):
        assert label in seen.labels, f"{where}: no label {label!r} in {seen.labels}"
