"""The two recipes of docs/architecture.md hold: a toy flow and a toy channel are added
touching only what each recipe lists (a flow: its module, one registry line and its
content; a channel: its module with its settings, and one registry line)."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import aiohttp
from aiohttp import web
from pydantic_settings import SettingsConfigDict
from sqlalchemy import select

from bot.app.channels import CHANNELS
from bot.app.runtime import BotRuntime
from bot.channels.base import (
    Channel,
    ChannelHost,
    ChannelPlugin,
    ChannelSettings,
    SendResult,
    SendStatus,
)
from bot.core.config import load_settings
from bot.core.flow import Flow, FlowContext
from bot.core.messages import (
    ChannelCapabilities,
    Choice,
    Conversation,
    EventKind,
    InboundEvent,
    OutboundMessage,
    Step,
)
from bot.core.paging import MORE_PREFIX
from handlers import FLOWS, build_router
from handlers.common import back_to_menu, menu_choice
from storage import ConversationState, Database
from tests.harness import User, choice_ids, fixed_clock, make_engine, texts_of

# --- the toy flow: "one module in handlers/" ------------------------------------------------

TOY: Final = "toy"


async def _toy_start(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    conv.data[TOY] = {"half": "filled"}
    reply = OutboundMessage(
        text=ctx.texts.render("toy/hello"),
        choices=(Choice(f"{TOY}:done", ctx.texts.label("toy.done")), menu_choice(ctx)),
    )
    return Step(Conversation(flow=TOY, step="asked", data=conv.data), [reply])


async def _toy_handle(ctx: FlowContext, conv: Conversation, event: InboundEvent) -> Step:
    return Step(back_to_menu(conv, TOY), [ctx.say("toy/bye")])


async def _toy_cancel(ctx: FlowContext, everything: bool) -> str | None:
    ctx.trace["toy_cancelled"] = everything
    return None


TOY_FLOW: Final = Flow(
    name=TOY,
    start=_toy_start,
    handle=_toy_handle,
    commands={"dochoi": "start"},
    menu_entry="toy.menu",
    draft_key=TOY,
    on_cancel=_toy_cancel,
)


def _content_with_toy(tmp_path: Path) -> Path:
    """The real content plus the toy flow's own files (recipe step 3)."""
    root = tmp_path / "content"
    shutil.copytree(Path(__file__).resolve().parent.parent / "content", root)
    (root / "templates" / TOY).mkdir()
    (root / "templates" / TOY / "hello.j2").write_text("Đồ chơi: chào anh/chị.", "utf-8")
    (root / "templates" / TOY / "bye.j2").write_text("Đồ chơi: xong.", "utf-8")
    (root / "labels" / "toy.yaml").write_text(
        'toy.menu: "🧸 Đồ chơi"\ntoy.done: "Xong"\ntelegram.commands.dochoi: "Đồ chơi"\n',
        "utf-8",
    )
    return root


async def _all_parts(owner: User, replies: list[OutboundMessage]) -> str:
    """The whole of a long reply: its first screen, then every "Xem thêm" part."""
    text = texts_of(replies)
    while more := [c.id for r in replies for c in r.choices if c.id.startswith(MORE_PREFIX)]:
        replies = await owner.tap(more[0])
        text += "\n" + texts_of(replies)
    return text


async def test_a_toy_flow_needs_its_module_one_registry_line_and_its_content(
    sqlite_database: Database, tmp_path: Path
) -> None:
    router = build_router((*FLOWS, TOY_FLOW))  # the one registry line
    engine, _ = make_engine(
        sqlite_database, content_root=_content_with_toy(tmp_path), router=router
    )
    owner = User(engine, user_id="toy-owner")
    menu = await owner.command("start")
    assert f"{TOY}:start" in choice_ids(menu)  # the main menu
    assert "🧸 Đồ chơi" in [c.label for reply in menu for c in reply.choices]
    assert "/dochoi" in await _all_parts(owner, await owner.command("help"))  # /help
    assert "dochoi" in router.platform_commands()  # the platform command menus
    assert "Đồ chơi: chào" in texts_of(await owner.command("dochoi"))  # its command
    assert "Đồ chơi: xong" in texts_of(await owner.tap(f"{TOY}:done"))  # its buttons
    await owner.tap(f"{TOY}:start")
    cancelled = await owner.command("huy")  # its draft dropped, its cancel hook run
    assert "đã dừng" in texts_of(cancelled)
    async with sqlite_database.session() as session:
        states = list((await session.execute(select(ConversationState.data))).scalars())
    assert states
    assert all(TOY not in data for data in states)


# --- the toy channel: "one module in bot/channels/ plus its settings" -----------------------

TOY_CHANNEL: Final = "toy"
TOY_HOOK: Final = "/toy/hook"
TOY_TEXT_LIMIT: Final = 500


class ToySettings(ChannelSettings):
    model_config = SettingsConfigDict(env_prefix="TOY_")

    token: str | None = None


class ToyChannel:
    """A platform without buttons or bold, posting updates as ``{"user", "id", "text"}``."""

    def __init__(self, settings: ToySettings, host: ChannelHost) -> None:
        self.token = settings.token
        self.host = host
        self.sent: list[tuple[str, OutboundMessage]] = []
        self.started = self.stopped = False

    @property
    def name(self) -> str:
        return TOY_CHANNEL

    @property
    def capabilities(self) -> ChannelCapabilities:
        return ChannelCapabilities(
            max_text_length=TOY_TEXT_LIMIT,
            max_buttons=0,
            supports_buttons=False,
            supports_bold=False,
        )

    def routes(self) -> Sequence[web.RouteDef]:
        return [web.post(TOY_HOOK, self.receive)]

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def receive(self, request: web.Request) -> web.Response:
        body = await request.json()
        command = body["text"].startswith("/")
        event = InboundEvent(
            channel=TOY_CHANNEL,
            user_id=body["user"],
            chat_id=body["user"],
            event_id=body["id"],
            kind=EventKind.COMMAND if command else EventKind.TEXT,
            text=body["text"].removeprefix("/"),
        )
        await self.host.dispatch(event)
        return web.Response()

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        self.sent.append((chat_id, message))
        return SendResult(SendStatus.SENT, message_ids=(str(len(self.sent)),))


built: list[ToyChannel] = []


def _build_toy(settings: ToySettings, host: ChannelHost) -> Channel | None:
    if settings.token is None:
        return None
    channel = ToyChannel(settings, host)
    built.append(channel)
    return channel


TOY_PLUGIN: Final = ChannelPlugin(name=TOY_CHANNEL, settings=ToySettings, build=_build_toy)


async def test_a_toy_channel_needs_its_module_its_settings_and_one_registry_line(
    tmp_path: Path,
) -> None:
    settings = load_settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.sqlite3'}",
        host="127.0.0.1",
        port=0,
        toy_token="toy-secret",  # its settings, TOY_TOKEN in the environment
    )
    built.clear()
    runtime = BotRuntime(settings, clock=fixed_clock(), channels=(*CHANNELS, TOY_PLUGIN))
    await runtime.start()
    try:
        [toy] = built
        assert toy.token == "toy-secret"
        assert toy.started
        assert runtime.channels[TOY_CHANNEL] is toy
        url = f"http://127.0.0.1:{runtime.port}{TOY_HOOK}"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json={"user": "t1", "id": "1", "text": "/start"}) as r:
                assert r.status == 200
            async with http.post(url, json={"user": "t1", "id": "2", "text": "2"}) as r:
                assert r.status == 200  # "2": the second option, typed
    finally:
        await runtime.stop()
    assert toy.stopped
    shown = [message for _, message in toy.sent]
    assert all(len(message.text) <= TOY_TEXT_LIMIT for message in shown)  # cut to its limit
    assert all(message.choices == () for message in shown)  # no buttons: numbered options
    assert any("\n1. " in message.text and "\n2. " in message.text for message in shown)
    assert all("**" not in message.text for message in shown)  # no bold marks
    assert "Câu 1." in shown[-1].text  # "2" picked the second option: the eligibility check


async def test_a_channel_whose_settings_leave_it_off_is_not_built(tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'b.sqlite3'}")
    built.clear()
    runtime = BotRuntime(settings, channels=(TOY_PLUGIN,))
    await runtime.start(serve_http=False)
    try:
        assert built == []
        assert runtime.channels == {}
    finally:
        await runtime.stop()
