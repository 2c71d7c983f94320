"""The baselines of ``bench/updates.py``: a plain python-telegram-bot 22 bot for the same path.

What a developer would write with PTB alone: a ``ConversationHandler`` whose steps send the
same replies as our bot (the texts and keyboards recorded from our bot's probe owner, so both
send the same bytes), replies to the same fake Bot API through ``base_url``. Served as PTB's
users serve a webhook (``server="webhook"``, the default): PTB's own webhook server
(``Updater.start_webhook``, tornado, the same calls as ``Application.run_webhook``), whose
handler puts each update in ``application.update_queue`` and answers 200 at once; PTB's
defaults then process the queue (one update at a time). ``server="await"`` is the
custom-webhook pattern instead (``updater(None)``, an aiohttp route that awaits
``application.process_update(...)`` before answering 200): an extra row, not the baseline.
Without ``pickle_path`` everything lives in memory; with it, ``PicklePersistence(filepath=...)``
and ``persistent=True, name=...`` as in PTB's ``persistentconversationbot`` example, default
settings: the pickle file is written by PTB's persistence job every 60 s and when the
application stops, not after each update.

Run by ``bench/updates.py`` (``--serve ptb``, arguments as JSON on stdin), not by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import time
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from telegram import InlineKeyboardMarkup, Update  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.ext import (  # noqa: E402
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning  # noqa: E402

from bench.services import (  # noqa: E402
    SECRET_HEADER,
    WEBHOOK_PATH,
    free_port,
    serve_stdio,
)

#: Conversation states: at the main menu, or browsing the programmes.
MENU, BROWSING = range(2)
CONVERSATION_NAME: Final = "bench_conversation"
#: PTB's own webhook server (update_queue, 200 at once); anything else: the awaiting route.
WEBHOOK_SERVER: Final = "webhook"
STATE_KEY: Final = "at"

Reply = tuple[str, str | None, InlineKeyboardMarkup | None]
Callback = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, int]]


def action_key(update: Update) -> str:
    """The same key as ``bench.updates.Action.key``: what the owner did."""
    if update.callback_query is not None:
        return f"choice:{update.callback_query.data}"
    text = update.effective_message.text if update.effective_message else ""
    text = text or ""
    if text.startswith("/"):
        return f"command:{text[1:].split()[0]}"
    return f"text:{text}"


def _replies(transcript: Mapping[str, Sequence[Mapping[str, Any]]]) -> dict[str, list[Reply]]:
    """The recorded sendMessage parameters as ready-made PTB arguments (built once, as a
    hand-written bot keeps its texts and keyboards in constants)."""
    replies: dict[str, list[Reply]] = {}
    for key, sent in transcript.items():
        replies[key] = [
            (
                str(call["text"]),
                call.get("parse_mode"),
                InlineKeyboardMarkup.de_json(call["reply_markup"], None)
                if call.get("reply_markup")
                else None,
            )
            for call in sent
        ]
    return replies


def build_conversation(replies: Mapping[str, list[Reply]], *, persistent: bool) -> Any:
    """Two states are enough for the path: each handler sends its recorded replies, keeps
    where the owner is in ``user_data`` (as our bot keeps it in its state) and moves on."""

    def step(next_state: int) -> Callback:
        async def callback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
            key = action_key(update)
            if update.callback_query is not None:
                await update.callback_query.answer()
            assert update.effective_chat is not None
            for text, parse_mode, markup in replies[key]:
                await context.bot.send_message(
                    update.effective_chat.id,
                    text,
                    parse_mode=ParseMode(parse_mode) if parse_mode else None,
                    reply_markup=markup,
                )
            if context.user_data is not None:
                context.user_data[STATE_KEY] = key
            return next_state

        return callback

    typed = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():
        # per_message=False with CallbackQueryHandler: PTB warns; the example bots do the same.
        warnings.simplefilter("ignore", PTBUserWarning)
        return ConversationHandler(
            entry_points=[CommandHandler("start", step(MENU))],
            states={
                MENU: [
                    CallbackQueryHandler(step(BROWSING), pattern=r"^policies:"),
                    CallbackQueryHandler(step(MENU), pattern=r"^menu:"),
                    MessageHandler(typed, step(MENU)),
                ],
                BROWSING: [
                    CallbackQueryHandler(step(BROWSING), pattern=r"^policies:"),
                    CallbackQueryHandler(step(MENU), pattern=r"^menu:"),
                    MessageHandler(typed, step(BROWSING)),
                ],
            },
            fallbacks=[CommandHandler(["start", "menu", "help"], step(MENU))],
            name=CONVERSATION_NAME,
            persistent=persistent,
        )


class BaselineService:
    """The PTB bot behind an aiohttp webhook route on 127.0.0.1 (a ``bench.updates.Service``)."""

    def __init__(
        self,
        *,
        api_base_url: str,
        token: str,
        secret: str,
        transcript: Mapping[str, Sequence[Mapping[str, Any]]],
        pickle_path: str | None = None,
        server: str = "webhook",
    ) -> None:
        self.api_base_url = api_base_url
        self.token = token
        self.secret = secret.encode()
        self.replies = _replies(transcript)
        self.pickle_path = pickle_path
        self.server = server
        self.application: Any = None
        self.runner: web.AppRunner | None = None

    async def start(self) -> dict[str, Any]:
        builder = Application.builder().token(self.token).base_url(self.api_base_url)
        if self.server != WEBHOOK_SERVER:
            builder = builder.updater(None)
        if self.pickle_path is not None:
            builder = builder.persistence(PicklePersistence(filepath=self.pickle_path))
        application = builder.build()
        application.add_handler(
            build_conversation(self.replies, persistent=self.pickle_path is not None)
        )
        port = free_port()
        self.application = application
        if self.server == WEBHOOK_SERVER:
            # What Application.run_webhook does, minus its own event loop and signal handlers.
            await application.initialize()
            assert application.updater is not None
            await application.updater.start_webhook(
                listen="127.0.0.1",
                port=port,
                url_path=WEBHOOK_PATH.lstrip("/"),
                secret_token=self.secret.decode(),
                webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
            )
            await application.start()
            return {"port": port}
        await application.initialize()
        await application.start()

        app = web.Application()
        app.router.add_post(WEBHOOK_PATH, self._webhook)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return {"port": port}

    async def _webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secrets.compare_digest(given, self.secret):
            return web.Response(status=401)
        data = await request.json()
        await self.application.process_update(Update.de_json(data, self.application.bot))
        return web.Response()

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name == "cpu":
            return {"cpu": time.process_time()}
        msg = f"unknown command {name!r}"
        raise ValueError(msg)

    async def stop(self) -> dict[str, Any]:
        """Close the route, then stop PTB: with persistence, this writes the pickle file."""
        if self.runner is not None:
            await self.runner.cleanup()
        started = time.perf_counter()
        if self.application is not None:
            if self.application.updater is not None and self.application.updater.running:
                await self.application.updater.stop()
            await self.application.stop()
            await self.application.shutdown()
        return {"stop_seconds": time.perf_counter() - started}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--serve", choices=("ptb",), required=True)
    parser.parse_args(argv)
    asyncio.run(serve_stdio(BaselineService))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
