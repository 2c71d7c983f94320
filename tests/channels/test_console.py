from __future__ import annotations

import io

from bot.channels.base import SendResult
from bot.channels.console import ConsoleChannel, render_plain, run_console
from bot.messages import Choice, Link, OutboundMessage
from storage import Database
from tests.harness import make_engine
from tests.scripts import load_script


class ScriptedConsole(ConsoleChannel):
    """The console channel, remembering the last options it printed."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        super().__init__(output=self.buffer)
        self.last_choices: tuple[Choice, ...] = ()

    async def send(self, chat_id: str, message: OutboundMessage) -> SendResult:
        if message.choices:
            self.last_choices = message.choices
        return await super().send(chat_id, message)


def test_render_plain_numbers_options_and_drops_bold() -> None:
    message = OutboundMessage(
        "**Chọn** một mục",
        choices=(Choice("a:1", "Một"), Choice("a:2", "Hai")),
        links=(Link("Trang web", "https://example.vn"),),
    )
    assert render_plain(message) == (
        "Chọn một mục\n  1. Một\n  2. Hai\n  → Trang web: https://example.vn"
    )


async def test_the_basic_conversation_runs_in_the_console(database: Database) -> None:
    engine, _ = make_engine(database)
    console = ScriptedConsole()
    engine.register_channel(console)
    script = load_script("basic")
    assert script[0]["send"] == {"command": "start"}  # run_console opens with /start
    steps = iter(script[1:])
    checked: list[str] = []

    async def read_line() -> str | None:
        output = console.buffer.getvalue()
        console.buffer.seek(0)
        console.buffer.truncate()
        checked.append(output)
        step = next(steps, None)
        if step is None:
            return None
        send = step["send"]
        pending_expect.append(step["expect"])
        if "choice" in send:
            ids = [choice.id for choice in console.last_choices]
            return str(ids.index(send["choice"]) + 1)  # typed as the option's number
        if "command" in send:
            return f"/{send['command']}"
        return str(send["text"])

    pending_expect: list[list[str]] = [script[0]["expect"]]
    count = await run_console(engine.process, read_line=read_line, user_id="c1")
    assert count == len(script) - 1
    assert len(checked) == len(script)
    for output, expected in zip(checked, pending_expect, strict=True):
        for fragment in expected:
            assert fragment in output, (fragment, output)
