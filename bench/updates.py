"""Throughput and latency of Telegram updates through the real webhook, against PTB baselines.

Run: ``.venv/bin/python bench/updates.py [--users 1000 10000] [--updates 10]
[--db sqlite postgresql] [--quick]``

N simulated owners each send ``--updates`` updates (a realistic path through the policy
browser, see :data:`SCENARIO`) as Telegram would: a POST of the update JSON to
``/telegram/webhook`` with the secret header, at most ``--concurrency`` requests in flight,
each owner's updates in order. The bot is the real runtime (``BotRuntime`` in webhook mode,
migrations, engine, router, the real content) in its own process; its replies go to the fake
Telegram Bot API from the tests, in a third process, so neither the fake nor the load
generator eats the bot's CPU. The same load is then sent to two plain python-telegram-bot 22
bots (``bench/baseline_ptb.py``): a ``ConversationHandler`` in memory, and the same with
``PicklePersistence``. Prints updates/s, p50/p95/p99 latency (POST to 200, which for our bot
comes after the commit and after the replies were sent), server CPU per update, the ratios to
the baselines and whether the targets are met; writes the numbers to
``bench/results/updates-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from aiohttp import web  # noqa: E402

from bench.services import (  # noqa: E402
    CONFIG_LINE_LIMIT,
    PROFILE_ENV,
    SECRET_HEADER,
    WEBHOOK_PATH,
    Service,
    free_port,
    serve_stdio,
)
from tests.fakes.telegram_api import (  # noqa: E402
    DEFAULT_TOKEN,
    FakeTelegramAPI,
    bad_request,
    parse_html,
)

# -- settings of the run -------------------------------------------------------------------

#: The set-up of issue 16's independent measurement: 300 owners × 10 updates, at most 32 in
#: flight, 50 ms think time. Flatness needs two sizes: ``--users 1000 10000``.
DEFAULT_USERS: Final = (300,)
QUICK_USERS: Final = (100,)
DEFAULT_UPDATES: Final = 10
DEFAULT_CONCURRENCY: Final = 32
#: What an owner takes to read a reply before the next tap or message (``--think-ms``).
DEFAULT_THINK_MS: Final = 50.0
#: The load mixes: a walk through the policy browser (mostly buttons), or typed questions.
MIXES: Final = ("buttons", "questions")
#: The typed questions of the ``questions`` mix: the owners' questions of the evaluation set.
QUESTIONS_FILE: Final = ROOT / "tests" / "fixtures" / "questions.yaml"
#: A step whose replies have not all reached the fake by then counts as a lost reply.
REPLY_WAIT_SECONDS: Final = 15.0
#: Receive buffer of the driver's reply-notification socket (one datagram per reply).
NOTIFY_BUFFER_BYTES: Final = 8 * 1024 * 1024
#: A run that has not finished by then is cut short and reported as incomplete.
DEFAULT_MAX_RUN_SECONDS: Final = 900.0
DATABASES: Final = ("sqlite", "postgresql")
#: Owners put through the whole path before measuring (templates compiled, pools warm).
WARMUP_USERS: Final = 20
#: The probe owner's replies are recorded in full: they give the baselines their texts.
PROBE_USER: Final = 500_000_001
RECORDED_CHATS: Final = range(500_000_000, 550_000_000)
WARMUP_USER_BASE: Final = 550_000_000
USER_BASE: Final = 600_000_000
FIRST_UPDATE_ID: Final = 1_000
SECRET: Final = "bench-secret-0123456789"
POSTGRES_ADMIN_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
POSTGRES_DSN: Final = "postgresql://postgres@127.0.0.1:5432/postgres"
BENCH_DATABASE_PREFIX: Final = "kc_bench_"
DEFAULT_LOG_LEVEL: Final = "INFO"  # what ``khuyencong serve`` logs by default
RESULTS_DIR: Final = ROOT / "bench" / "results"
#: How the driver tells our bot's process which event loop to run (``--event-loop``).
EVENT_LOOP_ENV: Final = "EVENT_LOOP"
BASELINE_SCRIPT: Final = ROOT / "bench" / "baseline_ptb.py"
#: How long a server may take to start, and to stop (PicklePersistence writes on stop).
START_TIMEOUT_SECONDS: Final = 60.0
STOP_TIMEOUT_SECONDS: Final = 300.0
COMMAND_TIMEOUT_SECONDS: Final = 60.0
#: ``--workers``: how often to ask the new server's health check, and a pause for every
#: worker to be up once the first one answers.
STARTING_POLL_SECONDS: Final = 0.2
WORKERS_SETTLE_SECONDS: Final = 3.0
REQUEST_TIMEOUT_SECONDS: Final = 60.0

# -- targets ---------------------------------------------------------------------------------

#: Our throughput over the in-memory PTB bot's, on both mixes and both databases (issue 16).
TARGET_VS_MEMORY: Final = 1.0
#: ... and on PostgreSQL with the button mix.
TARGET_VS_MEMORY_POSTGRES_BUTTONS: Final = 1.5
#: Our throughput over the PicklePersistence PTB bot's: strictly ahead.
TARGET_VS_PICKLE: Final = 1.0
#: CPU per update, the bot's processes and the database server's together, on the question mix.
TARGET_CPU_MS_QUESTIONS: Final = 2.5
BYTES_PER_MB: Final = 1024 * 1024
#: "Flat": the largest size keeps at least this share of the smallest size's throughput.
FLAT_MIN_RATIO: Final = 0.9

MS_PER_SECOND: Final = 1000.0
PERCENTILES: Final = (50, 95, 99)
PERCENT: Final = 100

ActionKind = Literal["command", "choice", "text"]


@dataclass(frozen=True, slots=True)
class Action:
    """One thing an owner does: a slash command, a button tap or a typed message."""

    kind: ActionKind
    value: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.value}"


#: Ten steps through the real flows (``handlers/menu.py``, ``handlers/policies.py``): each
#: tap is on a button the previous reply offered.
SCENARIO: Final = (
    Action("command", "start"),
    Action("choice", "policies:start"),
    Action("choice", "policies:prog:may_moc_thiet_bi"),
    Action("choice", "policies:sec:may_moc_thiet_bi:levels"),
    Action("text", "ho tro may moc bao nhieu"),
    Action("choice", "policies:back"),
    Action("choice", "policies:sec:may_moc_thiet_bi:documents"),
    Action("choice", "menu:main"),
    Action("choice", "menu:help"),
    Action("command", "menu"),
)


def actions_for(count: int) -> tuple[Action, ...]:
    """The first ``count`` steps; past ten, the path again without the /start."""
    steps = list(SCENARIO[:count])
    loop = SCENARIO[1:]
    while len(steps) < count:
        steps.append(loop[(len(steps) - len(SCENARIO)) % len(loop)])
    return tuple(steps)


#: Where the question mix puts a command among the typed questions (8 of every 10 typed).
QUESTION_MIX_COMMANDS: Final = {0: "start", 5: "menu"}


def load_questions(path: Path = QUESTIONS_FILE) -> tuple[str, ...]:
    """The owners' questions of the evaluation set (those the bot should answer)."""
    import yaml

    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple(str(entry["q"]) for entry in entries if entry.get("expect") != "out_of_scope")


def question_path(owner: int, count: int, questions: Sequence[str]) -> tuple[Action, ...]:
    """``/start``, four typed questions, ``/menu``, four more…: each owner asks the next
    questions of the evaluation set, so all of them are asked."""
    steps: list[Action] = []
    asked = owner * count
    for index in range(count):
        command = QUESTION_MIX_COMMANDS.get(index % len(SCENARIO))
        if command is not None:
            steps.append(Action("command", command))
        else:
            steps.append(Action("text", questions[asked % len(questions)]))
            asked += 1
    return tuple(steps)


def probe_path(mix: str, count: int, questions: Sequence[str]) -> tuple[Action, ...]:
    """What the probe owner walks to record every reply the mix can ask for."""
    if mix == "buttons":
        return actions_for(count)
    start, menu = (Action("command", name) for name in QUESTION_MIX_COMMANDS.values())
    return (start, *(Action("text", question) for question in questions), menu)


def owner_paths(
    mix: str, owners: Sequence[int], count: int, questions: Sequence[str]
) -> list[tuple[int, tuple[Action, ...]]]:
    """Each owner's chat id and path."""
    if mix == "buttons":
        path = actions_for(count)
        return [(owner, path) for owner in owners]
    return [(owner, question_path(index, count, questions)) for index, owner in enumerate(owners)]


# -- Telegram updates, as Telegram builds them -------------------------------------------------

#: What the baselines reply per action: the probe owner's real replies (sendMessage params).
Transcript = dict[str, list[dict[str, Any]]]


def _user(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": f"Owner {user_id}",
        "language_code": "vi",
    }


def _chat(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "type": "private", "first_name": f"Owner {user_id}"}


def _bot_user(token: str) -> dict[str, Any]:
    return {"id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": "Khuyen cong"}


@dataclass(slots=True)
class OwnerSession:
    """Builds one owner's updates: message ids grow per chat, callbacks carry a bot message."""

    user_id: int
    token: str
    transcript: Transcript | None
    message_id: int = 0

    def update(
        self, update_id: int, index: int, action: Action, path: Sequence[Action]
    ) -> dict[str, Any]:
        self.message_id += 1
        now = int(time.time())
        if action.kind == "choice":
            message = self._button_message(index, action, path, now)
            query = {
                "id": f"{self.user_id}{update_id}",
                "from": _user(self.user_id),
                "message": message,
                "chat_instance": f"-{self.user_id}",
                "data": action.value,
            }
            return {"update_id": update_id, "callback_query": query}
        text = f"/{action.value}" if action.kind == "command" else action.value
        body: dict[str, Any] = {
            "message_id": self.message_id,
            "from": _user(self.user_id),
            "chat": _chat(self.user_id),
            "date": now,
            "text": text,
        }
        if action.kind == "command":
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return {"update_id": update_id, "message": body}

    def _button_message(
        self, index: int, action: Action, path: Sequence[Action], now: int
    ) -> dict[str, Any]:
        """The bot message the tapped button sits on, with its text and whole keyboard."""
        self.message_id += 1  # the bot's reply took an id in this chat
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": _bot_user(self.token),
            "chat": _chat(self.user_id),
            "date": now,
        }
        sent = _message_with_button(self.transcript, path[:index], action.value)
        if sent is None:  # the probe itself: only the button is known
            keyboard = [[{"text": action.value, "callback_data": action.value}]]
            return message | {"text": action.value, "reply_markup": {"inline_keyboard": keyboard}}
        parsed = parse_html(str(sent["text"]))
        message |= {"text": parsed.text, "reply_markup": sent["reply_markup"]}
        if parsed.entities:
            message["entities"] = parsed.entities
        return message


def _message_with_button(
    transcript: Transcript | None, before: Sequence[Action], data: str
) -> dict[str, Any] | None:
    if transcript is None:
        return None
    for earlier in reversed(before):
        for sent in reversed(transcript.get(earlier.key, [])):
            markup = sent.get("reply_markup") or {}
            rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
            if any(button.get("callback_data") == data for row in rows for button in row):
                return sent
    return None


# -- services: each server runs here or in its own process, behind one interface ---------------


class BenchTelegramAPI(FakeTelegramAPI):
    """The test fake, lean for load: counts calls instead of keeping them, skips HTML parsing
    (the probe owner's chat still goes through every check) and accepts any callback id."""

    def __init__(self, *, notify_port: int | None = None, **kwargs: Any) -> None:
        self.counts: Counter[str] = Counter()
        self._notify: socket.socket | None = None
        self._notify_to = ("127.0.0.1", notify_port or 0)
        if notify_port:
            self._notify = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        super().__init__(**kwargs)

    def _record(self, call: dict[str, Any]) -> None:
        self.counts[call["method"] if call["ok"] else f"{call['method']}:error"] += 1
        if self._notify is not None and call["ok"] and call["method"] == "sendMessage":
            # The driver times each step up to its last reply (ReplyWatch).
            chat = str(call["params"].get("chat_id")).encode()
            self._notify.sendto(chat, self._notify_to)
        if _recorded(call["params"].get("chat_id")):
            super()._record(call)

    async def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        if _recorded(params.get("chat_id")):
            return await super()._send_message(params)
        chat_id = self._target_chat(params)
        if not params.get("text"):
            raise bad_request("message text is empty")
        message_id = self._next_message_id(chat_id)
        message = {
            "message_id": message_id,
            "from": dict(self.bot_user),
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": params["text"],
        }
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    async def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        self._open_queries.add(str(params.get("callback_query_id") or ""))
        return await super()._answer_callback_query(params)


def _recorded(chat_id: object) -> bool:
    text = str(chat_id)
    return text.isdigit() and int(text) in RECORDED_CHATS


class FakeService:
    """The fake Bot API: ``counts`` (successful calls per method), ``sent`` (one chat's
    sendMessage parameters)."""

    def __init__(self, *, token: str = DEFAULT_TOKEN, notify_port: int | None = None) -> None:
        self.api = BenchTelegramAPI(token=token, notify_port=notify_port)

    async def start(self) -> dict[str, Any]:
        await self.api.start()
        return {"base_url": self.api.base_url, "token": self.api.token}

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        if name == "counts":
            return {"counts": dict(self.api.counts)}
        if name == "sent":
            calls = self.api.sent(int(args["chat_id"]))
            return {"sent": [call for call in calls if call["method"] == "sendMessage"]}
        return _server_command(name)

    async def stop(self) -> dict[str, Any]:
        await self.api.close()
        if self.api._notify is not None:
            self.api._notify.close()
        return {}


class OurBotService:
    """The real runtime in webhook mode on 127.0.0.1, replies to the fake API."""

    def __init__(
        self,
        *,
        database_url: str,
        api_base_url: str,
        token: str,
        log_level: str,
        workers: int = 1,
    ) -> None:
        self.workers = workers
        self.workers_process: asyncio.subprocess.Process | None = None
        self.database_url = database_url
        self.api_base_url = api_base_url
        self.token = token
        self.log_level = log_level
        self.runtime: Any = None

    async def start(self) -> dict[str, Any]:
        from bot.app.heap import freeze_startup_heap
        from bot.app.runtime import BotRuntime
        from bot.core.config import load_settings

        port = free_port()
        if self.workers > 1:
            return await self._start_workers(port)
        settings = load_settings(
            database_url=self.database_url,
            host="127.0.0.1",
            port=port,
            public_url=f"http://127.0.0.1:{port}",
            telegram_bot_token=self.token,
            telegram_api_base_url=self.api_base_url,
            telegram_webhook_secret=SECRET,
            log_level=self.log_level,
            # The baselines run without PTB's AIORateLimiter; with it our bot is held at
            # Telegram's ~30 messages/s and the benchmark would measure the limiter.
            telegram_rate_limit=False,
        )
        self.runtime = BotRuntime(settings)
        await self.runtime.start()
        freeze_startup_heap()  # as ``serve`` does once it is up (bot.app.cli.on_ready)
        return {"port": port}

    async def _start_workers(self, port: int) -> dict[str, Any]:
        """``khuyencong serve --workers N`` as an operator runs it, configured by its
        environment; its processes are this one's children (CPU and RSS count them)."""
        env = os.environ | {
            "DATABASE_URL": self.database_url,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "PUBLIC_URL": f"http://127.0.0.1:{port}",
            "TELEGRAM_BOT_TOKEN": self.token,
            "TELEGRAM_API_BASE_URL": self.api_base_url,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
            "LOG_LEVEL": self.log_level,
            "TELEGRAM_RATE_LIMIT": "false",
        }
        code = "import sys; from bot.app.cli import main; sys.exit(main(sys.argv[1:]))"
        self.workers_process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            code,
            "serve",
            "--workers",
            str(self.workers),
            env=env,
            cwd=ROOT,
            # Its "open http://…" lines must not reach this process's stdout: the bench
            # reads its answers there, one JSON line each.
            stdout=asyncio.subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}/healthz"
        async with asyncio.timeout(START_TIMEOUT_SECONDS), aiohttp.ClientSession() as client:
            while True:
                with contextlib.suppress(aiohttp.ClientError):
                    async with client.get(url) as response:
                        if response.status == web.HTTPOk.status_code:
                            break
                await asyncio.sleep(STARTING_POLL_SECONDS)
        # every worker has bound the port and told the fake about the webhook
        await asyncio.sleep(WORKERS_SETTLE_SECONDS)
        return {"port": port}

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return _server_command(name)

    async def stop(self) -> dict[str, Any]:
        started = time.perf_counter()
        if self.runtime is not None:
            await self.runtime.stop()
        if self.workers_process is not None:
            self.workers_process.send_signal(signal.SIGTERM)
            await self.workers_process.wait()
        return {"stop_seconds": time.perf_counter() - started}


def _server_command(name: str) -> dict[str, Any]:
    if name == "cpu":
        return {"cpu": time.process_time()}
    msg = f"unknown command {name!r}"
    raise ValueError(msg)


# -- running a service in its own process: one JSON line per command on stdin/stdout ---------


class ProcessService:
    """A service in a child process (``python <script> --serve <kind>``, its arguments as
    the first line on stdin)."""

    def __init__(self, script: Path, kind: str, config: dict[str, Any], *, log: Path) -> None:
        self.argv = [str(script), "--serve", kind]
        self.config = config
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> dict[str, Any]:
        env = os.environ | {"PTB_TIMEDELTA": "true", "PYTHONPATH": str(ROOT)}
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=env,
                cwd=ROOT,
                limit=CONFIG_LINE_LIMIT,
            )
        self._send(self.config)
        return await self._answer(START_TIMEOUT_SECONDS)

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        self._send({"command": name, "args": args})
        return await self._answer(COMMAND_TIMEOUT_SECONDS)

    async def stop(self) -> dict[str, Any]:
        process = self.process
        if process is None or process.returncode is not None:
            return {}
        self._send({"command": "stop"})
        try:
            answer = await self._answer(STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            process.kill()
            answer = {"stop_seconds": None, "stop_timed_out": STOP_TIMEOUT_SECONDS}
        await process.wait()
        return answer

    def _send(self, request: dict[str, Any]) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps(request) + "\n").encode())

    async def _answer(self, within: float) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), within)
        if not line:
            msg = f"{' '.join(self.argv[:3])} exited; see {self.log}"
            raise RuntimeError(msg)
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(answer["error"])
        return answer


# -- databases ---------------------------------------------------------------------------------


async def postgres_database() -> tuple[str, Callable[[], Awaitable[None]]] | str:
    """A fresh ``kc_bench_<random>`` database and a coroutine that drops it, or the reason
    PostgreSQL cannot be used."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    name = f"{BENCH_DATABASE_PREFIX}{uuid.uuid4().hex[:12]}"

    async def execute(statement: str) -> None:
        admin = create_async_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await admin.dispose()

    try:
        await execute(f'CREATE DATABASE "{name}"')
    except (OSError, ConnectionError) as exc:
        return f"PostgreSQL not reachable at 127.0.0.1:5432 ({exc})"

    async def drop() -> None:
        await execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = make_url(POSTGRES_ADMIN_URL).set(database=name)
    return url.render_as_string(hide_password=False), drop


# -- processes: CPU and memory read from /proc -------------------------------------------------

CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
#: /proc/<pid>/stat fields after the command name: utime and stime (clock ticks).
UTIME_FIELD, STIME_FIELD = 11, 12


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (``khuyencong serve --workers N`` forks)."""
    found = [pid]
    for parent in found:
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                found.extend(int(child) for child in task.read_text().split())
            except OSError:
                continue
    return found


def cpu_seconds(pids: Sequence[int]) -> dict[int, float]:
    """User + system CPU of each process still alive."""
    seconds: dict[int, float] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        seconds[pid] = (int(fields[UTIME_FIELD]) + int(fields[STIME_FIELD])) / CLOCK_TICKS
    return seconds


def cpu_spent(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU between two readings; a process born in between counts whole."""
    return sum(value - before.get(pid, 0.0) for pid, value in after.items())


def rss_mb(pids: Sequence[int]) -> float:
    """Resident memory of the processes together (MB)."""
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024
    return total / BYTES_PER_MB


async def backend_pids(database: str) -> list[int]:
    """The PostgreSQL server processes serving one database (same machine: /proc reads them)."""
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1", database
        )
    finally:
        await connection.close()
    return [int(row["pid"]) for row in rows]


# -- load ----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Load:
    """Latencies (seconds) and answers of one measured phase."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    seconds: float = 0.0
    complete: bool = True
    #: Button presses sent, and those acknowledged in the webhook's own answer.
    taps: int = 0
    taps_answered_in_reply: int = 0
    #: Steps whose replies had not all reached the fake after REPLY_WAIT_SECONDS.
    late: int = 0


class ReplyWatch(asyncio.DatagramProtocol):
    """Counts the replies the fake accepted, per chat (the fake sends one datagram each), so
    that a step is timed up to its last reply, whenever the bot answered the POST."""

    def __init__(self) -> None:
        self.counts: Counter[int] = Counter()
        self.waiters: dict[int, tuple[int, asyncio.Future[None]]] = {}

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        chat = int(data)
        self.counts[chat] += 1
        waiter = self.waiters.get(chat)
        if waiter is not None and self.counts[chat] >= waiter[0] and not waiter[1].done():
            waiter[1].set_result(None)

    async def wait(self, chat: int, total: int, within: float) -> bool:
        """Whether chat ``chat`` has received ``total`` replies in all, within ``within`` s."""
        if self.counts[chat] >= total:
            return True
        future = asyncio.get_running_loop().create_future()
        self.waiters[chat] = (total, future)
        try:
            await asyncio.wait_for(future, within)
        except TimeoutError:
            return False
        finally:
            self.waiters.pop(chat, None)
        return True


async def open_reply_watch() -> tuple[asyncio.DatagramTransport, ReplyWatch]:
    loop = asyncio.get_running_loop()
    transport, watch = await loop.create_datagram_endpoint(ReplyWatch, local_addr=("127.0.0.1", 0))
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, NOTIFY_BUFFER_BYTES)
    return transport, watch


OwnerPaths = Sequence[tuple[int, Sequence[Action]]]


class Driver:
    """Sends owners' updates to one bot's webhook, like Telegram and its users: bounded in
    flight, in order per owner, the next update only after the replies arrived and the owner
    thought about them."""

    def __init__(
        self,
        *,
        token: str,
        concurrency: int,
        deadline: float = DEFAULT_MAX_RUN_SECONDS,
        think_seconds: float = 0.0,
        watch: ReplyWatch | None = None,
    ) -> None:
        self.deadline = deadline
        self.token = token
        self.concurrency = concurrency
        self.think_seconds = think_seconds
        self.watch = watch
        #: Per mix: what the bot replies to each action (recorded by the probe).
        self.transcripts: dict[str, Transcript] = {}
        self._update_ids = iter(range(FIRST_UPDATE_ID, sys.maxsize))

    async def run(self, port: int, owners: OwnerPaths, transcript: Transcript) -> Load:
        """A step is in flight from its POST until its last reply reached the fake (PTB's
        webhook server answers 200 before the bot has done anything)."""
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        slots = asyncio.Semaphore(self.concurrency)
        load = Load()
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
        watch = self.watch

        async def owner(
            client: aiohttp.ClientSession, user_id: int, path: Sequence[Action]
        ) -> None:
            session = OwnerSession(user_id, self.token, transcript)
            replies = watch.counts[user_id] if watch is not None else 0
            for index, action in enumerate(path):
                update = session.update(next(self._update_ids), index, action, path)
                body = json.dumps(update, ensure_ascii=False).encode()
                tap = "callback_query" in update
                replies += len(transcript.get(action.key, ()))
                async with slots:
                    started = time.perf_counter()
                    answer = b""
                    try:
                        async with client.post(url, data=body, headers=headers) as response:
                            answer = await response.read()
                            status = response.status
                    except (aiohttp.ClientError, TimeoutError):
                        status = 0
                    answered = status == web.HTTPOk.status_code
                    if (
                        watch is not None
                        and answered
                        and not await watch.wait(user_id, replies, REPLY_WAIT_SECONDS)
                    ):
                        load.late += 1
                    load.latencies.append(time.perf_counter() - started)
                load.statuses[status] += 1
                if tap:
                    load.taps += 1
                    load.taps_answered_in_reply += _answers_the_tap(answer, update)
                if self.think_seconds:
                    await asyncio.sleep(self.think_seconds)

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
            started = time.perf_counter()
            walks = asyncio.gather(*(owner(client, user_id, path) for user_id, path in owners))
            try:
                await asyncio.wait_for(walks, self.deadline)
            except TimeoutError:
                load.complete = False
            load.seconds = time.perf_counter() - started
        return load

    async def probe(self, port: int, fake: Service, path: Sequence[Action]) -> Transcript:
        """One owner, step by step, recording the real replies of each step."""
        transcript: Transcript = {}
        session = OwnerSession(PROBE_USER, self.token, None)
        seen = len((await fake.command("sent", {"chat_id": PROBE_USER}))["sent"])
        for index, action in enumerate(path):
            update = session.update(next(self._update_ids), index, action, path)
            status = await self._post_one(port, update)
            if status != web.HTTPOk.status_code:
                msg = f"probe step {action.key} answered {status}"
                raise RuntimeError(msg)
            sent = (await fake.command("sent", {"chat_id": PROBE_USER}))["sent"]
            transcript.setdefault(action.key, [_reply_params(call) for call in sent[seen:]])
            seen = len(sent)
        return transcript

    async def _post_one(self, port: int, update: dict[str, Any]) -> int:
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        async with (
            aiohttp.ClientSession() as client,
            client.post(url, json=update, headers={SECRET_HEADER: SECRET}) as response,
        ):
            await response.read()
            return response.status


def _answers_the_tap(body: bytes, update: dict[str, Any]) -> bool:
    """Whether a webhook's answer is ``answerCallbackQuery`` for this update's button press
    (Telegram runs a method given in the answer)."""
    if not body:
        return False
    try:
        answer = json.loads(body)
    except ValueError:
        return False
    return (
        isinstance(answer, dict)
        and answer.get("method") == "answerCallbackQuery"
        and answer.get("callback_query_id") == update["callback_query"]["id"]
    )


def _reply_params(call: dict[str, Any]) -> dict[str, Any]:
    return {
        "text": call["text"],
        "parse_mode": call.get("parse_mode"),
        "reply_markup": call.get("reply_markup"),
    }


# -- one measured run ----------------------------------------------------------------------------


@dataclass(slots=True)
class RunResult:
    system: str
    database: str
    users: int
    updates: int
    seconds: float
    throughput: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    cpu_ms_per_update: float | None
    sent_messages: int
    expected_messages: int
    stop_seconds: float | None = None
    #: Bot API calls the fake refused during the window (a reply that failed to send).
    api_errors: int = 0
    #: False when the run hit ``--max-run-seconds`` and was cut short.
    complete: bool = True
    #: Button presses sent, and those acknowledged (answerCallbackQuery to the fake, or in
    #: the webhook's own answer).
    taps: int = 0
    taps_acknowledged: int = 0
    mix: str = "buttons"
    #: CPU of the PostgreSQL server processes serving the run, per update (None: no server).
    db_cpu_ms_per_update: float | None = None
    #: Resident memory of the bot's processes after start (idle) and after the run.
    rss_idle_mb: float | None = None
    rss_after_mb: float | None = None
    #: Steps whose replies had not all arrived after REPLY_WAIT_SECONDS.
    late: int = 0
    workers: int = 1

    @property
    def total_cpu_ms(self) -> float | None:
        """Bot and database server together, per update."""
        if self.cpu_ms_per_update is None:
            return None
        return self.cpu_ms_per_update + (self.db_cpu_ms_per_update or 0.0)


def percentile(values: Sequence[float], share: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=PERCENT, method="inclusive")[share - 1]


@dataclass(frozen=True, slots=True)
class Target:
    """What one run measures: a system on a database, a mix, a number of owners."""

    system: str
    database: str
    mix: str
    users: int
    #: The PostgreSQL database to read backend CPU of, if any.
    postgres_database: str | None = None
    workers: int = 1


async def measure(
    *,
    target: Target,
    server: Service,
    fake: Service,
    driver: Driver,
    owners: OwnerPaths,
    warmup: OwnerPaths,
    probe: Sequence[Action],
) -> RunResult:
    """Warm up, then send every owner's path and read the numbers off the client, /proc (the
    server's processes and PostgreSQL's backends) and the fake's call counts."""
    port = int((await server.start())["port"])
    pid = getattr(server, "pid", None)
    rss_idle = rss_mb(process_tree(pid)) if pid is not None else None
    try:
        if target.mix not in driver.transcripts:
            driver.transcripts[target.mix] = await driver.probe(port, fake, probe)
        transcript = driver.transcripts[target.mix]
        await driver.run(port, warmup, transcript)
        pids = process_tree(pid) if pid is not None else []
        db_pids = await backend_pids(target.postgres_database) if target.postgres_database else []
        before = (await fake.command("counts", {}))["counts"]
        cpu_before, db_before = cpu_seconds(pids), cpu_seconds(db_pids)
        load = await driver.run(port, owners, transcript)
        if pid is not None:
            pids = process_tree(pid)
        if target.postgres_database:
            db_pids = sorted(set(db_pids) | set(await backend_pids(target.postgres_database)))
        cpu_after, db_after = cpu_seconds(pids), cpu_seconds(db_pids)
        after = (await fake.command("counts", {}))["counts"]
        rss_after = rss_mb(pids) if pid is not None else None
    finally:
        stopped = await server.stop()
    total = len(load.latencies)
    ok = load.statuses.get(web.HTTPOk.status_code, 0)
    latencies = sorted(load.latencies)
    p50, p95, p99 = (
        percentile(latencies, share) * MS_PER_SECOND if latencies else 0.0 for share in PERCENTILES
    )
    per_owner = sum(len(transcript.get(action.key, [])) for _, path in owners for action in path)
    return RunResult(
        system=target.system,
        database=target.database,
        users=target.users,
        mix=target.mix,
        workers=target.workers,
        updates=total,
        seconds=load.seconds,
        throughput=ok / load.seconds if load.seconds else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        errors=total - ok,
        cpu_ms_per_update=(
            cpu_spent(cpu_before, cpu_after) * MS_PER_SECOND / total if pids and total else None
        ),
        db_cpu_ms_per_update=(
            cpu_spent(db_before, db_after) * MS_PER_SECOND / total if db_pids and total else None
        ),
        rss_idle_mb=rss_idle,
        rss_after_mb=rss_after,
        sent_messages=after.get("sendMessage", 0) - before.get("sendMessage", 0),
        expected_messages=per_owner,
        stop_seconds=stopped.get("stop_seconds"),
        complete=load.complete,
        late=load.late,
        api_errors=sum(after[key] - before.get(key, 0) for key in after if key.endswith(":error")),
        taps=load.taps,
        taps_acknowledged=load.taps_answered_in_reply
        + after.get("answerCallbackQuery", 0)
        - before.get("answerCallbackQuery", 0),
    )


# -- the whole benchmark ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Baseline:
    """A plain PTB bot measured besides ours."""

    name: str
    #: The ``db`` column: where it keeps conversations.
    column: str
    pickled: bool
    #: ``webhook``: PTB's own webhook server (update_queue, 200 at once); ``await``: an
    #: aiohttp route awaiting ``process_update`` (the bench's old baseline, an extra row).
    server: str


BASELINES: Final = (
    Baseline("ptb-memory", "-", pickled=False, server="webhook"),
    Baseline("ptb-pickle", "pickle", pickled=True, server="webhook"),
    Baseline("ptb-await", "-", pickled=False, server="await"),
)
BASELINE_NAMES: Final = tuple(baseline.name for baseline in BASELINES)
MEMORY, PICKLE = BASELINES[0], BASELINES[1]


@dataclass(slots=True)
class Options:
    users: tuple[int, ...]
    updates: int
    databases: tuple[str, ...]
    concurrency: int
    isolated: bool
    #: Names of the baselines to run (``BASELINE_NAMES``); empty: ours only.
    baselines: tuple[str, ...]
    log_level: str
    results_dir: Path
    max_run_seconds: float = DEFAULT_MAX_RUN_SECONDS
    #: Our bot's event loop, as ``EVENT_LOOP`` for ``khuyencong serve`` (baselines: asyncio's).
    event_loop: str = "auto"
    #: Rounds per size; ratios compare median throughputs.
    repeat: int = 1
    mixes: tuple[str, ...] = MIXES
    think_ms: float = DEFAULT_THINK_MS
    #: Our bot's processes (``khuyencong serve --workers``); PostgreSQL only when above 1.
    workers: int = 1


@dataclass(slots=True)
class Report:
    options: dict[str, Any]
    runs: list[RunResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: dict[str, bool] = field(default_factory=dict)
    #: Medians per system, mix, database and size: upd/s, p95, CPU bot+db, RSS.
    medians: dict[str, dict[str, float | None]] = field(default_factory=dict)
    #: ``git describe`` of the tree measured (``-dirty`` when it had local changes).
    revision: str = ""


class Services:
    """Makes each service, in this process or in its own."""

    def __init__(self, *, isolated: bool, workdir: Path) -> None:
        self.isolated = isolated
        self.workdir = workdir

    def fake(self, config: dict[str, Any]) -> Service:
        if self.isolated:
            return ProcessService(Path(__file__), "fake", config, log=self.workdir / "fake.log")
        return FakeService(**config)

    def ours(self, config: dict[str, Any]) -> Service:
        if self.isolated:
            return ProcessService(Path(__file__), "ours", config, log=self.workdir / "ours.log")
        return OurBotService(**config)

    def baseline(self, config: dict[str, Any]) -> Service:
        if self.isolated:
            log = self.workdir / "baseline.log"
            return ProcessService(BASELINE_SCRIPT, "ptb", config, log=log)
        from bench.baseline_ptb import BaselineService

        return BaselineService(**config)


class Bench:
    """One benchmark: the fake API for every run, then per size, round and mix our bot on
    each database (fresh each time) and the baselines."""

    def __init__(self, options: Options, *, workdir: Path, say: Callable[[str], None]) -> None:
        self.options = options
        self.workdir = workdir
        self.say = say
        self.questions = load_questions()
        self.services = Services(isolated=options.isolated, workdir=workdir)
        self.api: dict[str, Any] = {}
        self.driver = Driver(
            token=DEFAULT_TOKEN,
            concurrency=options.concurrency,
            deadline=options.max_run_seconds,
            think_seconds=options.think_ms / MS_PER_SECOND,
        )
        self.report = Report(options={k: str(v) for k, v in asdict(options).items()})

    async def run(self) -> Report:
        transport, self.driver.watch = await open_reply_watch()
        notify_port = int(transport.get_extra_info("sockname")[1])
        fake = self.services.fake({"notify_port": notify_port})
        self.api = await fake.start()
        self.driver.token = self.api["token"]
        baselines = [b for b in BASELINES if b.name in self.options.baselines]
        try:
            for users in self.options.users:
                # Rounds interleave the systems, so drift in the machine's load hits all alike.
                for _ in range(self.options.repeat):
                    for mix in self.options.mixes:
                        for database in self.options.databases:
                            await self._ours(fake, database, mix, users)
                        if mix not in self.driver.transcripts:
                            continue
                        for baseline in baselines:
                            await self._baseline(fake, baseline, mix, users)
        finally:
            await fake.stop()
            transport.close()
        judge(self.report, self.options)
        return self.report

    def _load(self, mix: str, users: int) -> tuple[OwnerPaths, OwnerPaths, tuple[Action, ...]]:
        count = self.options.updates
        owners = owner_paths(mix, [USER_BASE + i for i in range(users)], count, self.questions)
        warmup_ids = [WARMUP_USER_BASE + i for i in range(min(WARMUP_USERS, users))]
        warmup = owner_paths(mix, warmup_ids, count, self.questions)
        return owners, warmup, probe_path(mix, count, self.questions)

    async def _ours(self, fake: Service, database: str, mix: str, users: int) -> None:
        drop: Callable[[], Awaitable[None]] | None = None
        postgres: str | None = None
        if database == "postgresql":
            made = await postgres_database()
            if isinstance(made, str):
                if made not in self.report.skipped:
                    self.report.skipped.append(made)
                    self.say(f"skipped: {made}")
                return
            url, drop = made
            postgres = url.rsplit("/", 1)[1]
        else:
            name = f"bench-{users}-{uuid.uuid4().hex[:8]}.sqlite3"
            url = f"sqlite+aiosqlite:///{self.workdir / name}"
        workers = self.options.workers if database == "postgresql" else 1
        config = {
            "database_url": url,
            "api_base_url": self.api["base_url"],
            "token": self.api["token"],
            "log_level": self.options.log_level,
            "workers": workers,
        }
        target = Target("ours", database, mix, users, postgres, workers=workers)
        try:
            await self._measure(target, fake, self.services.ours(config))
        finally:
            if drop is not None:
                await drop()

    async def _baseline(self, fake: Service, baseline: Baseline, mix: str, users: int) -> None:
        pickle_path = self.workdir / f"ptb-{users}-{uuid.uuid4().hex[:8]}.pickle"
        config = {
            "api_base_url": self.api["base_url"],
            "token": self.api["token"],
            "secret": SECRET,
            "transcript": self.driver.transcripts[mix],
            "pickle_path": str(pickle_path) if baseline.pickled else None,
            "server": baseline.server,
        }
        target = Target(baseline.name, baseline.column, mix, users)
        await self._measure(target, fake, self.services.baseline(config))

    async def _measure(self, target: Target, fake: Service, server: Service) -> None:
        owners, warmup, probe = self._load(target.mix, target.users)
        result = await measure(
            target=target,
            server=server,
            fake=fake,
            driver=self.driver,
            owners=owners,
            warmup=warmup,
            probe=probe,
        )
        self.report.runs.append(result)
        self.say(_row(result))


async def run_benchmark(options: Options, *, say: Callable[[str], None] = print) -> Report:
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as tmp:
        return await Bench(options, workdir=Path(tmp), say=say).run()


def _runs(report: Report, system: str, mix: str, users: int, database: str) -> list[RunResult]:
    key = (system, mix, users, database)
    return [run for run in report.runs if (run.system, run.mix, run.users, run.database) == key]


def _median(runs: Sequence[RunResult], value: Callable[[RunResult], float | None]) -> float | None:
    values = [v for v in (value(run) for run in runs) if v is not None]
    return statistics.median(values) if values else None


def _throughput(report: Report, system: str, mix: str, users: int, database: str) -> float | None:
    """The median ``upd/s`` of the runs of one system at one size (``--repeat``)."""
    return _median(_runs(report, system, mix, users, database), lambda run: run.throughput)


def _over(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None:
        return None
    return top / bottom if bottom else 0.0


def _healthy(run: RunResult) -> bool:
    return (
        run.complete
        and run.errors == 0
        and run.api_errors == 0
        and run.late == 0
        and run.sent_messages == run.expected_messages
        and run.taps_acknowledged == run.taps
    )


def judge(report: Report, options: Options) -> None:
    """Medians, ratios (of median throughputs) to the baselines and between sizes, and
    whether each target of issue 16 is met."""
    systems = [("ours", database) for database in options.databases]
    systems += [(b.name, b.column) for b in BASELINES if b.name in options.baselines]
    for users in options.users:
        for mix in options.mixes:
            for system, database in systems:
                runs = _runs(report, system, mix, users, database)
                if runs:
                    report.medians[f"{system} {mix} {database}@{users}"] = {
                        "upd/s": _median(runs, lambda run: run.throughput),
                        "p95 ms": _median(runs, lambda run: run.p95_ms),
                        "cpu ms bot+db": _median(runs, lambda run: run.total_cpu_ms),
                        "rss MB after": _median(runs, lambda run: run.rss_after_mb),
                    }
            for database in options.databases:
                _judge_ours(report, mix, users, database)
    smallest, largest = min(options.users), max(options.users)
    if largest == smallest:
        return
    for mix in options.mixes:
        for system, database in systems:
            flatness = _over(
                _throughput(report, system, mix, largest, database),
                _throughput(report, system, mix, smallest, database),
            )
            if flatness is None:
                continue
            report.ratios[f"{system} {mix} {database} {largest}/{smallest}"] = flatness
            if system == "ours":
                report.targets[f"flat {mix} {database} {largest} vs {smallest}"] = (
                    flatness >= FLAT_MIN_RATIO
                )


def _judge_ours(report: Report, mix: str, users: int, database: str) -> None:
    ours = _runs(report, "ours", mix, users, database)
    if not ours:
        return
    tag = f"{mix} {database}@{users}"
    mine = _throughput(report, "ours", mix, users, database)
    memory = _runs(report, MEMORY.name, mix, users, MEMORY.column)
    vs_memory = _over(mine, _throughput(report, MEMORY.name, mix, users, MEMORY.column))
    if vs_memory is not None:
        report.ratios[f"ours/{MEMORY.name} {tag}"] = vs_memory
        report.targets[f">= {TARGET_VS_MEMORY}x {MEMORY.name} {tag}"] = (
            vs_memory >= TARGET_VS_MEMORY
        )
        if mix == "buttons" and database == "postgresql":
            report.targets[f">= {TARGET_VS_MEMORY_POSTGRES_BUTTONS}x {MEMORY.name} {tag}"] = (
                vs_memory >= TARGET_VS_MEMORY_POSTGRES_BUTTONS
            )
        p95_ours = _median(ours, lambda run: run.p95_ms)
        p95_ptb = _median(memory, lambda run: run.p95_ms)
        if p95_ours is not None and p95_ptb is not None:
            report.targets[f"p95 <= {MEMORY.name}'s {tag}"] = p95_ours <= p95_ptb
    vs_pickle = _over(mine, _throughput(report, PICKLE.name, mix, users, PICKLE.column))
    if vs_pickle is not None:
        report.ratios[f"ours/{PICKLE.name} {tag}"] = vs_pickle
        report.targets[f"ahead of {PICKLE.name} {tag}"] = vs_pickle > TARGET_VS_PICKLE
    for baseline in BASELINES[2:]:
        extra = _over(mine, _throughput(report, baseline.name, mix, users, baseline.column))
        if extra is not None:
            report.ratios[f"ours/{baseline.name} {tag}"] = extra
    cpu = _median(ours, lambda run: run.total_cpu_ms)
    if mix == "questions" and cpu is not None:
        report.targets[f"cpu bot+db <= {TARGET_CPU_MS_QUESTIONS} ms {tag}"] = (
            cpu <= TARGET_CPU_MS_QUESTIONS
        )
    report.targets[f"no errors, every reply sent, every tap answered {tag}"] = all(
        _healthy(run) for run in ours
    )


# -- output ------------------------------------------------------------------------------------

HEADER: Final = (
    f"{'system':<10} {'mix':<9} {'db':<10} {'users':>6} {'updates':>8} {'upd/s':>6} "
    f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'cpu bot':>7} {'cpu db':>6} "
    f"{'rss0 MB':>7} {'rss MB':>6} {'err':>4} {'api er':>6} {'late':>4} "
    f"{'sent/expected':>13} {'taps ok/sent':>12}"
)


def _number(value: float | None, width: int, digits: int) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def _row(run: RunResult) -> str:
    sent = f"{run.sent_messages}/{run.expected_messages}"
    updates = f"{run.updates}" if run.complete else f"{run.updates}*"
    taps = f"{run.taps_acknowledged}/{run.taps}"
    system = run.system if run.workers == 1 else f"{run.system}×{run.workers}"
    return (
        f"{system:<10} {run.mix:<9} {run.database:<10} {run.users:>6} {updates:>8} "
        f"{run.throughput:>6.0f} {run.p50_ms:>7.1f} {run.p95_ms:>7.1f} {run.p99_ms:>7.1f} "
        f"{_number(run.cpu_ms_per_update, 7, 2)} {_number(run.db_cpu_ms_per_update, 6, 2)} "
        f"{_number(run.rss_idle_mb, 7, 0)} {_number(run.rss_after_mb, 6, 0)} "
        f"{run.errors:>4} {run.api_errors:>6} {run.late:>4} {sent:>13} {taps:>12}"
    )


def render(report: Report) -> str:
    lines = [
        f"revision {report.revision or 'unknown'}",
        HEADER,
        *(_row(run) for run in report.runs),
    ]
    lines.extend(
        f"stop {run.system} {run.database}@{run.users}: {run.stop_seconds:.1f} s"
        for run in report.runs
        if run.system == "ptb-pickle" and run.stop_seconds is not None
    )
    lines.extend(
        f"incomplete (cut at --max-run-seconds): {run.system} {run.database}@{run.users}"
        for run in report.runs
        if not run.complete
    )
    lines.extend(f"skipped: {reason}" for reason in report.skipped)
    lines.append("medians:")
    lines.extend(
        f"  {name}: "
        + ", ".join(
            f"{key} {'-' if value is None else f'{value:.1f}'}" for key, value in row.items()
        )
        for name, row in report.medians.items()
    )
    lines.extend(f"{name}: {value:.2f}" for name, value in report.ratios.items())
    lines.extend(
        f"target {'MET' if met else 'MISSED'}: {name}" for name, met in report.targets.items()
    )
    return "\n".join(lines)


def write_results(report: Report, directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = directory / f"updates-{stamp}.json"
    payload = asdict(report) | {"command": sys.argv, "finished_at": stamp}
    target.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target


# -- command line ------------------------------------------------------------------------------


def _revision() -> str:
    """The commit measured: the code changes often, numbers are only comparable per commit."""
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return done.stdout.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--users", type=int, nargs="+", help="owners per run (default 300)")
    parser.add_argument("--updates", type=int, default=DEFAULT_UPDATES, help="updates per owner")
    parser.add_argument("--db", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--quick", action="store_true", help="100 owners")
    parser.add_argument(
        "--mix",
        nargs="+",
        choices=MIXES,
        default=list(MIXES),
        help="load mixes: buttons (the policy browser walk), questions (8 of 10 typed)",
    )
    parser.add_argument(
        "--think-ms",
        type=float,
        default=DEFAULT_THINK_MS,
        help="an owner's pause after the replies, before the next update (default 50)",
    )
    parser.add_argument(
        "--baselines",
        nargs="+",
        choices=BASELINE_NAMES,
        default=list(BASELINE_NAMES),
        help="PTB bots to measure (ptb-await: the awaiting route, an extra row)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="our bot's processes on PostgreSQL (khuyencong serve --workers)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="rounds per size, systems interleaved; ratios use the median upd/s (default 1)",
    )
    parser.add_argument(
        "--event-loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="our bot's event loop, as EVENT_LOOP for khuyencong serve (default auto: uvloop "
        "when installed); the baselines and the fake always run on asyncio's own loop",
    )
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--no-baselines", action="store_true", help="measure our bot only")
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="run the bots and the fake in this process (fast start; numbers less clean)",
    )
    parser.add_argument("--log-level", default=DEFAULT_LOG_LEVEL, help="our bot's log level")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument(
        "--max-run-seconds",
        type=float,
        default=DEFAULT_MAX_RUN_SECONDS,
        help="cut a run short after this long and report it as incomplete",
    )
    parser.add_argument(
        "--profile", type=Path, help="write a cProfile file per server process to this folder"
    )
    parser.add_argument("--serve", choices=("fake", "ours"), help=argparse.SUPPRESS)
    return parser


def options_from(args: argparse.Namespace) -> Options:
    users = tuple(args.users or (QUICK_USERS if args.quick else DEFAULT_USERS))
    return Options(
        users=users,
        updates=args.updates,
        databases=tuple(args.db),
        concurrency=args.concurrency,
        isolated=not args.in_process,
        baselines=() if args.no_baselines else tuple(args.baselines),
        mixes=tuple(args.mix),
        think_ms=args.think_ms,
        workers=args.workers,
        log_level=args.log_level,
        max_run_seconds=args.max_run_seconds,
        results_dir=args.results_dir,
        event_loop=args.event_loop,
        repeat=args.repeat,
    )


def _our_bot(**config: Any) -> OurBotService:
    from bot.app.logs import setup_logging

    setup_logging(config["log_level"])
    return OurBotService(**config)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.serve == "fake":
        asyncio.run(serve_stdio(FakeService))
        return 0
    if args.serve == "ours":
        from bot.core import loop

        kind = os.environ.get(EVENT_LOOP_ENV, "auto")
        loop.run(serve_stdio(_our_bot), kind=kind)  # type: ignore[arg-type]
        return 0
    options = options_from(args)
    os.environ[EVENT_LOOP_ENV] = options.event_loop  # read by our bot's process
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    revision = _revision()
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        os.environ[PROFILE_ENV] = str(args.profile.resolve())
    report = asyncio.run(run_benchmark(options))
    report.revision = revision
    print()
    print(render(report))
    print(f"results: {write_results(report, options.results_dir)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
