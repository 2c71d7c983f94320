from __future__ import annotations

import io

from bot.channels.base import fit
from bot.channels.console import ConsoleChannel, run_console
from bot.core.messages import Choice, Link, OutboundMessage
from storage import Database
from tests.harness import make_engine, offered
from tests.scripts import load_script


class ScriptedConsole(ConsoleChannel):
    """The console channel, printing into a buffer the test reads."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        super().__init__(output=self.buffer)


def test_the_console_gets_numbered_options_and_no_bold() -> None:
    message = OutboundMessage(
        "**Chọn** một mục",
        choices=(Choice("a:1", "Một"), Choice("a:2", "Hai")),
        links=(Link("Trang web", "https://example.vn"),),
    )
    [shown] = fit(message, ConsoleChannel().capabilities)
    assert shown == OutboundMessage(
        "Chọn một mục\n\n1. Một\n2. Hai\nTrang web: https://example.vn"
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
            ids = await offered(database, "c1", channel="console")
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
