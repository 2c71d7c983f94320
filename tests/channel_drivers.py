"""Drive a scripted user on a real channel: the Telegram or Zalo fakes, or the web chat.

Each driver returns, per step, the plain text the user saw and the buttons offered, so one
data script can be checked the same way on every channel.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from bot.channels.telegram import MAX_TEXT_LENGTH
from bot.channels.zalo.events import bot_event_key, oa_event_key
from bot.channels.zalo.render import InfoRequest, bot_texts, oa_messages
from bot.channels.zalo_bot import ZaloBotChannel
from bot.channels.zalo_oa import ZaloOAChannel
from bot.core.delivery import fit
from bot.core.formatting import split_text
from bot.core.messages import ChannelCapabilities, message_from_dict
from bot.core.wording import load_no_buttons_wording
from storage import Database
from storage.models import ConversationState
from storage.repositories import Conversations
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.zalo_api import FakeZaloBot, FakeZaloOA
from tests.harness import ROOT, committed_replies

CONTENT_DIR = ROOT / "content"

#: Only the number of messages matters to the drivers: the card is one more message.
_INFO = InfoRequest(title="-", subtitle="-")

_TAG = re.compile(r"<[^>]+>")
STEP_TIMEOUT_SECONDS = 10.0


@dataclass
class Seen:
    text: str
    choices: list[tuple[str, str]]  # (id, label)
    #: What the engine committed, before a channel reworded it (Zalo bot: "bấm" → "gõ").
    said: str = ""

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


def check_step(
    step: dict[str, Any], seen: Seen, where: str, *, reword: Callable[[str], str] = str
) -> None:
    """Assert a data-script step (expect, absent, expect_choices, expect_labels).

    ``reword`` is the channel's own rewording of texts ("bấm" → "gõ" where there are no
    buttons), applied to the expected fragments as the channel applies it to the replies."""
    for fragment in step.get("expect", []):
        shown = fragment in seen.text or reword(fragment) in seen.text
        assert shown or fragment in seen.said, f"{where}: missing {fragment!r} in {seen.text!r}"
    for fragment in map(reword, step.get("absent", [])):
        assert fragment not in seen.text, f"{where}: unexpected {fragment!r}"
    for choice_id in step.get("expect_choices", []):
        assert choice_id in seen.choice_ids, f"{where}: no button {choice_id} in {seen.choices}"
    for label in step.get("expect_labels", []):
        assert label in seen.labels, f"{where}: no label {label!r} in {seen.labels}"


# -- Zalo ------------------------------------------------------------------------------------

_NUMBERED = re.compile(r"^(\d+)\. (.+)$", re.MULTILINE)


async def _last_choices(database: Database, channel: str, user_id: str) -> list[tuple[str, str]]:
    """The options the engine last offered this user (what a typed number means)."""
    async with database.transaction() as session:
        identity = await Conversations(session).find_identity(channel=channel, user_id=user_id)
        if identity is None:
            return []
        state = await session.get(ConversationState, identity.id)
    if state is None:
        return []
    return [(str(item[0]), str(item[1])) for item in state.last_choices]


def _zalo_messages(replies: list[Any], capabilities: ChannelCapabilities, *, oa: bool) -> int:
    """How many Zalo messages the channel sends for these committed replies: the reply
    fitted to the channel, then each part as the OA (with its info card) or the bot renders
    it."""
    count = 0
    for reply in replies:
        for part in fit(message_from_dict(reply), capabilities):
            count += len(oa_messages(part, info=_INFO) if oa else bot_texts(part))
    return count


class _NumberedDriver:
    """Shared by both Zalo drivers: numbered options are typed back as their number."""

    channel = ""
    reword: Callable[[str], str] = str

    def __init__(self, database: Database, user_id: str) -> None:
        self.database = database
        self.user_id = user_id
        self.numbered: list[tuple[str, str]] = []
        self.buttons: list[tuple[str, str]] = []

    async def _numbered_choices(self, texts: list[str]) -> list[tuple[str, str]]:
        """The step's numbered lines ("1." to "n." across its messages), paired with the ids
        the engine offered; empty when they do not match exactly."""
        lines = {int(n): label.strip() for n, label in _NUMBERED.findall("\n".join(texts))}
        offered = await _last_choices(self.database, self.channel, self.user_id)
        if not offered or any(
            lines.get(number) != label for number, (_, label) in enumerate(offered, start=1)
        ):
            return []
        return offered

    def _typed_for(self, choice_id: str) -> str:
        numbered_ids = [choice for choice, _ in self.numbered]
        if choice_id in numbered_ids:
            return str(numbered_ids.index(choice_id) + 1)
        return f"#{choice_id}"  # a button's payload, typed or tapped: the same on Zalo


class ZaloOADriver(_NumberedDriver):
    """A person writing to the Center's OA through the fake Zalo (signed webhooks)."""

    channel = "zalo_oa"

    def __init__(self, fake: FakeZaloOA, database: Database, user_id: str) -> None:
        super().__init__(database, user_id)
        self.fake = fake

    async def _send(self, event: dict[str, Any]) -> Seen:
        before = len(self.fake.sent(self.user_id))
        assert await self.fake.deliver(event) == 200
        replies = await committed_replies(
            self.database, channel=self.channel, event_id=oa_event_key(event)[0]
        )
        expected = before + _zalo_messages(replies, ZaloOAChannel.capabilities, oa=True)
        await self.fake.wait_for_sent(self.user_id, expected, timeout=STEP_TIMEOUT_SECONDS)
        messages = self.fake.sent(self.user_id)[before:]
        texts = [str(m["text"]) for m in messages if m.get("text")]
        self.buttons = [
            (str(b["payload"]).removeprefix("#"), str(b["title"]))
            for m in messages
            for b in ((m.get("attachment") or {}).get("payload") or {}).get("buttons", [])
            if b["type"] == "oa.query.hide"
        ]
        self.numbered = await self._numbered_choices(texts)
        return Seen("\n".join(texts), [*self.buttons, *self.numbered])

    async def say(self, text: str) -> Seen:
        return await self._send(self.fake.text_event(self.user_id, text))

    async def tap(self, choice_id: str) -> Seen:
        """A button sends its payload as the person's message (``oa.query.hide``)."""
        if choice_id in [choice for choice, _ in self.buttons]:
            return await self._send(self.fake.text_event(self.user_id, f"#{choice_id}"))
        return await self.say(self._typed_for(choice_id))

    async def share_contact(self, phone: str, *, name: str = "Phạm Văn Tư") -> Seen:
        """The person fills Zalo's "share your information" card."""
        return await self._send(self.fake.submit_info_event(self.user_id, name=name, phone=phone))


class ZaloBotDriver(_NumberedDriver):
    """A person writing to a Zalo Bot platform bot (webhook or polling, per the fake)."""

    channel = "zalo_bot"

    def __init__(self, fake: FakeZaloBot, database: Database, user_id: str) -> None:
        super().__init__(database, user_id)
        self.fake = fake
        #: The bot has no buttons: it says "gõ «X»" where the scripts read "bấm «X»".
        self.reword = load_no_buttons_wording(CONTENT_DIR).apply

    async def say(self, text: str) -> Seen:
        before = len(self.fake.sent(self.user_id))
        update = self.fake.text_update(self.user_id, text)
        assert await self.fake.push(update) == 200
        replies = await committed_replies(
            self.database, channel=self.channel, event_id=bot_event_key(update)[0]
        )
        expected = before + _zalo_messages(replies, ZaloBotChannel.capabilities, oa=False)
        await self.fake.wait_for_sent(self.user_id, expected, timeout=STEP_TIMEOUT_SECONDS)
        texts = self.fake.sent(self.user_id)[before:]
        self.numbered = await self._numbered_choices(texts)
        said = "\n".join(str(reply["text"]) for reply in replies)
        return Seen("\n".join(texts), list(self.numbered), said=said)

    async def tap(self, choice_id: str) -> Seen:
        return await self.say(self._typed_for(choice_id))
