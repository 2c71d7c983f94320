"""Drive a scripted user on a real channel: the Telegram fake or the web chat.

Each driver returns, per step, the plain text the user saw and the buttons offered, so one
data script can be checked the same way on every channel.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from bot.channels.telegram import MAX_TEXT_LENGTH
from bot.core.formatting import split_text
from storage import Database
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.harness import committed_replies

_TAG = re.compile(r"<[^>]+>")
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
    """A user of the fake Telegram API; buttons are pressed on the newest message.

    Each step waits until every reply the engine committed for the update has arrived
    (read from the bot's ``database``), not for a quiet moment.
    """

    def __init__(self, fake: FakeTelegramAPI, user_id: int, *, database: Database) -> None:
        self.fake = fake
        self.user_id = user_id
        self.database = database
        self._contact_keyboard = False

    def _calls_for(self, replies: list[Any]) -> int:
        """The Bot API calls the channel makes for these replies: one message per part of a
        long text, and an edit that puts buttons back after removing a contact keyboard."""
        calls = 0
        for reply in replies:
            calls += len(split_text(str(reply["text"]), MAX_TEXT_LENGTH))
            if reply.get("request_contact"):
                self._contact_keyboard = True
            elif self._contact_keyboard:
                self._contact_keyboard = False
                calls += 1 if reply.get("choices") or reply.get("links") else 0
        return calls

    async def _collect(self, before: int, update_id: int) -> Seen:
        replies = await committed_replies(
            self.database, channel="telegram", event_id=str(update_id)
        )
        expected = before + self._calls_for(replies)
        await self.fake.wait_for_sent(self.user_id, expected, timeout=STEP_TIMEOUT_SECONDS)
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
            update_id = self.fake.press_button(self.user_id, choice_id)
        except LookupError:
            update_id = self.fake.forge_button(self.user_id, choice_id)
        return await self._collect(before, update_id)

    async def say(self, text: str) -> Seen:
        before = len(self.fake.sent(self.user_id))
        if text.startswith("/"):
            name, _, args = text[1:].partition(" ")
            update_id = self.fake.send_command(self.user_id, name, args)
        else:
            update_id = self.fake.send_text(self.user_id, text)
        return await self._collect(before, update_id)

    async def share_contact(self, phone: str, *, owner: int | None = None) -> Seen:
        before = len(self.fake.sent(self.user_id))
        update_id = self.fake.share_contact(
            self.user_id, phone, contact_user_id=owner or self.user_id
        )
        return await self._collect(before, update_id)


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
