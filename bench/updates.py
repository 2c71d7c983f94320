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
import json
import os
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

DEFAULT_USERS: Final = (1_000, 10_000)
QUICK_USERS: Final = (100, 500)
DEFAULT_UPDATES: Final = 10
DEFAULT_CONCURRENCY: Final = 32
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
REQUEST_TIMEOUT_SECONDS: Final = 60.0

# -- targets ---------------------------------------------------------------------------------

#: Our throughput over the in-memory PTB bot's, while committing every step.
TARGET_VS_MEMORY: Final = 0.5
#: Our throughput over the PicklePersistence PTB bot's: strictly ahead.
TARGET_VS_PICKLE: Final = 1.0
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

    def __init__(self, **kwargs: Any) -> None:
        self.counts: Counter[str] = Counter()
        super().__init__(**kwargs)

    def _record(self, call: dict[str, Any]) -> None:
        self.counts[call["method"] if call["ok"] else f"{call['method']}:error"] += 1
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

    def __init__(self, *, token: str = DEFAULT_TOKEN) -> None:
        self.api = BenchTelegramAPI(token=token)

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
        return {}


class OurBotService:
    """The real runtime in webhook mode on 127.0.0.1, replies to the fake API."""

    def __init__(
        self, *, database_url: str, api_base_url: str, token: str, log_level: str
    ) -> None:
        self.database_url = database_url
        self.api_base_url = api_base_url
        self.token = token
        self.log_level = log_level
        self.runtime: Any = None

    async def start(self) -> dict[str, Any]:
        from bot.app.runtime import BotRuntime
        from bot.core.config import load_settings

        port = free_port()
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
        return {"port": port}

    async def command(self, name: str, args: dict[str, Any]) -> dict[str, Any]:
        return _server_command(name)

    async def stop(self) -> dict[str, Any]:
        started = time.perf_counter()
        if self.runtime is not None:
            await self.runtime.stop()
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


class Driver:
    """Sends owners' updates to one bot's webhook, like Telegram: bounded in flight, in order
    per owner."""

    def __init__(
        self, *, token: str, concurrency: int, deadline: float = DEFAULT_MAX_RUN_SECONDS
    ) -> None:
        self.deadline = deadline
        self.token = token
        self.concurrency = concurrency
        self.transcript: Transcript | None = None
        self._update_ids = iter(range(FIRST_UPDATE_ID, sys.maxsize))

    async def run(self, port: int, users: Sequence[int], path: Sequence[Action]) -> Load:
        url = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        slots = asyncio.Semaphore(self.concurrency)
        load = Load()
        connector = aiohttp.TCPConnector(limit=self.concurrency)
        timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)

        async def owner(client: aiohttp.ClientSession, user_id: int) -> None:
            session = OwnerSession(user_id, self.token, self.transcript)
            for index, action in enumerate(path):
                update = session.update(next(self._update_ids), index, action, path)
                body = json.dumps(update, ensure_ascii=False).encode()
                tap = "callback_query" in update
                async with slots:
                    started = time.perf_counter()
                    answer = b""
                    try:
                        async with client.post(url, data=body, headers=headers) as response:
                            answer = await response.read()
                            status = response.status
                    except (aiohttp.ClientError, TimeoutError):
                        status = 0
                    load.latencies.append(time.perf_counter() - started)
                load.statuses[status] += 1
                if tap:
                    load.taps += 1
                    load.taps_answered_in_reply += _answers_the_tap(answer, update)

        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
            started = time.perf_counter()
            owners = asyncio.gather(*(owner(client, user_id) for user_id in users))
            try:
                await asyncio.wait_for(owners, self.deadline)
            except TimeoutError:
                load.complete = False
            load.seconds = time.perf_counter() - started
        return load

    async def probe(self, port: int, fake: Service, path: Sequence[Action]) -> Transcript:
        """One owner, step by step, recording the real replies of each step."""
        transcript: Transcript = {}
        session = OwnerSession(PROBE_USER, self.token, None)
        seen = 0
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


def percentile(values: Sequence[float], share: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=PERCENT, method="inclusive")[share - 1]


async def measure(
    *,
    system: str,
    database: str,
    server: Service,
    fake: Service,
    driver: Driver,
    users: int,
    path: Sequence[Action],
    isolated: bool,
) -> RunResult:
    """Warm up, then send every owner's path and read the numbers off the client, the
    server's CPU clock and the fake's call counts."""
    port = int((await server.start())["port"])
    try:
        if driver.transcript is None:
            driver.transcript = await driver.probe(port, fake, path)
        warmup = [WARMUP_USER_BASE + i for i in range(min(WARMUP_USERS, users))]
        await driver.run(port, warmup, path)
        before = (await fake.command("counts", {}))["counts"]
        cpu_before = (await server.command("cpu", {}))["cpu"]
        load = await driver.run(port, [USER_BASE + i for i in range(users)], path)
        cpu_after = (await server.command("cpu", {}))["cpu"]
        after = (await fake.command("counts", {}))["counts"]
    finally:
        stopped = await server.stop()
    total = len(load.latencies)
    ok = load.statuses.get(web.HTTPOk.status_code, 0)
    latencies = sorted(load.latencies)
    p50, p95, p99 = (
        percentile(latencies, share) * MS_PER_SECOND if latencies else 0.0 for share in PERCENTILES
    )
    transcript = driver.transcript or {}
    per_owner = sum(len(transcript.get(action.key, [])) for action in path)
    return RunResult(
        system=system,
        database=database,
        users=users,
        updates=total,
        seconds=load.seconds,
        throughput=ok / load.seconds if load.seconds else 0.0,
        p50_ms=p50,
        p95_ms=p95,
        p99_ms=p99,
        errors=total - ok,
        cpu_ms_per_update=(
            (cpu_after - cpu_before) * MS_PER_SECOND / total if isolated and total else None
        ),
        sent_messages=after.get("sendMessage", 0) - before.get("sendMessage", 0),
        expected_messages=per_owner * users,
        stop_seconds=stopped.get("stop_seconds"),
        complete=load.complete,
        api_errors=sum(after[key] - before.get(key, 0) for key in after if key.endswith(":error")),
        taps=load.taps,
        taps_acknowledged=load.taps_answered_in_reply
        + after.get("answerCallbackQuery", 0)
        - before.get("answerCallbackQuery", 0),
    )


# -- the whole benchmark ---------------------------------------------------------------------


@dataclass(slots=True)
class Options:
    users: tuple[int, ...]
    updates: int
    databases: tuple[str, ...]
    concurrency: int
    isolated: bool
    baselines: bool
    log_level: str
    results_dir: Path
    max_run_seconds: float = DEFAULT_MAX_RUN_SECONDS
    #: Our bot's event loop, as ``EVENT_LOOP`` for ``khuyencong serve`` (baselines: asyncio's).
    event_loop: str = "auto"
    #: Rounds per size; ratios compare median throughputs.
    repeat: int = 1


@dataclass(slots=True)
class Report:
    options: dict[str, Any]
    runs: list[RunResult] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)
    targets: dict[str, bool] = field(default_factory=dict)
    #: ``git describe`` of the tree measured (``-dirty`` when it had local changes).
    revision: str = ""


class Services:
    """Makes each service, in this process or in its own."""

    def __init__(self, *, isolated: bool, workdir: Path) -> None:
        self.isolated = isolated
        self.workdir = workdir

    def fake(self) -> Service:
        if self.isolated:
            return ProcessService(Path(__file__), "fake", {}, log=self.workdir / "fake.log")
        return FakeService()

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


#: The systems measured besides ours: (name, database column, PicklePersistence or not).
BASELINES: Final = (("ptb-memory", "-", False), ("ptb-pickle", "pickle", True))


class Bench:
    """One benchmark: the fake API for every run, then per size our bot on each database
    (fresh each time) and the two baselines."""

    def __init__(self, options: Options, *, workdir: Path, say: Callable[[str], None]) -> None:
        self.options = options
        self.workdir = workdir
        self.say = say
        self.path = actions_for(options.updates)
        self.services = Services(isolated=options.isolated, workdir=workdir)
        self.fake = self.services.fake()
        self.api: dict[str, Any] = {}
        self.driver = Driver(
            token=DEFAULT_TOKEN, concurrency=options.concurrency, deadline=options.max_run_seconds
        )
        self.report = Report(options={k: str(v) for k, v in asdict(options).items()})

    async def run(self) -> Report:
        self.api = await self.fake.start()
        self.driver.token = self.api["token"]
        try:
            for users in self.options.users:
                # Rounds interleave the systems, so drift in the machine's load hits all alike.
                for _ in range(self.options.repeat):
                    for database in self.options.databases:
                        await self._ours(database, users)
                    if self.options.baselines and self.driver.transcript is not None:
                        for system, column, pickled in BASELINES:
                            await self._baseline(system, column, users, pickled=pickled)
        finally:
            await self.fake.stop()
        judge(self.report, self.options)
        return self.report

    async def _ours(self, database: str, users: int) -> None:
        drop: Callable[[], Awaitable[None]] | None = None
        if database == "postgresql":
            made = await postgres_database()
            if isinstance(made, str):
                if made not in self.report.skipped:
                    self.report.skipped.append(made)
                    self.say(f"skipped: {made}")
                return
            url, drop = made
        else:
            name = f"bench-{users}-{uuid.uuid4().hex[:8]}.sqlite3"
            url = f"sqlite+aiosqlite:///{self.workdir / name}"
        config = {
            "database_url": url,
            "api_base_url": self.api["base_url"],
            "token": self.api["token"],
            "log_level": self.options.log_level,
        }
        try:
            await self._measure("ours", database, users, self.services.ours(config))
        finally:
            if drop is not None:
                await drop()

    async def _baseline(self, system: str, column: str, users: int, *, pickled: bool) -> None:
        pickle_path = self.workdir / f"ptb-{users}-{uuid.uuid4().hex[:8]}.pickle"
        config = {
            "api_base_url": self.api["base_url"],
            "token": self.api["token"],
            "secret": SECRET,
            "transcript": self.driver.transcript,
            "pickle_path": str(pickle_path) if pickled else None,
        }
        await self._measure(system, column, users, self.services.baseline(config))

    async def _measure(self, system: str, database: str, users: int, server: Service) -> None:
        result = await measure(
            system=system,
            database=database,
            server=server,
            fake=self.fake,
            driver=self.driver,
            users=users,
            path=self.path,
            isolated=self.options.isolated,
        )
        self.report.runs.append(result)
        self.say(_row(result))


async def run_benchmark(options: Options, *, say: Callable[[str], None] = print) -> Report:
    with tempfile.TemporaryDirectory(prefix="kc-bench-") as tmp:
        return await Bench(options, workdir=Path(tmp), say=say).run()


def _runs(report: Report, system: str, users: int, database: str) -> list[RunResult]:
    key = (system, users, database)
    return [run for run in report.runs if (run.system, run.users, run.database) == key]


def _throughput(report: Report, system: str, users: int, database: str) -> float | None:
    """The median ``upd/s`` of the runs of one system at one size (``--repeat``)."""
    runs = _runs(report, system, users, database)
    return statistics.median(run.throughput for run in runs) if runs else None


def _over(top: float | None, bottom: float | None) -> float | None:
    if top is None or bottom is None:
        return None
    return top / bottom if bottom else 0.0


def _healthy(run: RunResult) -> bool:
    return (
        run.complete
        and run.errors == 0
        and run.api_errors == 0
        and run.sent_messages == run.expected_messages
        and run.taps_acknowledged == run.taps
    )


def judge(report: Report, options: Options) -> None:
    """Ratios (of median throughputs) to the baselines and between sizes, and whether each
    target is met."""
    memory, pickled = BASELINES[0][:2], BASELINES[1][:2]
    for users in options.users:
        for database in options.databases:
            ours = _runs(report, "ours", users, database)
            if not ours:
                continue
            tag = f"{database}@{users}"
            mine = _throughput(report, "ours", users, database)
            vs_memory = _over(mine, _throughput(report, memory[0], users, memory[1]))
            if vs_memory is not None:
                report.ratios[f"ours/{memory[0]} {tag}"] = vs_memory
                report.targets[f">= {TARGET_VS_MEMORY}x {memory[0]} {tag}"] = (
                    vs_memory >= TARGET_VS_MEMORY
                )
            vs_pickle = _over(mine, _throughput(report, pickled[0], users, pickled[1]))
            if vs_pickle is not None:
                report.ratios[f"ours/{pickled[0]} {tag}"] = vs_pickle
                report.targets[f"ahead of {pickled[0]} {tag}"] = vs_pickle > TARGET_VS_PICKLE
            report.targets[f"no errors, every reply sent, every tap answered {tag}"] = all(
                _healthy(run) for run in ours
            )
    smallest, largest = min(options.users), max(options.users)
    if largest == smallest:
        return
    systems = [("ours", database) for database in options.databases]
    systems += [(system, column) for system, column, _ in BASELINES]
    for system, database in systems:
        flatness = _over(
            _throughput(report, system, largest, database),
            _throughput(report, system, smallest, database),
        )
        if flatness is None:
            continue
        report.ratios[f"{system} {database} {largest}/{smallest}"] = flatness
        if system == "ours":
            report.targets[f"flat {database} {largest} vs {smallest}"] = flatness >= FLAT_MIN_RATIO


# -- output ------------------------------------------------------------------------------------

HEADER: Final = (
    f"{'system':<11} {'db':<10} {'users':>6} {'updates':>8} {'upd/s':>8} {'p50 ms':>8} "
    f"{'p95 ms':>8} {'p99 ms':>8} {'cpu ms/upd':>10} {'errors':>6} {'api er':>6} "
    f"{'sent/expected':>15} {'taps ok/sent':>13}"
)


def _row(run: RunResult) -> str:
    cpu = f"{run.cpu_ms_per_update:.2f}" if run.cpu_ms_per_update is not None else "-"
    sent = f"{run.sent_messages}/{run.expected_messages}"
    updates = f"{run.updates}" if run.complete else f"{run.updates}*"
    taps = f"{run.taps_acknowledged}/{run.taps}"
    return (
        f"{run.system:<11} {run.database:<10} {run.users:>6} {updates:>8} "
        f"{run.throughput:>8.0f} {run.p50_ms:>8.1f} {run.p95_ms:>8.1f} {run.p99_ms:>8.1f} "
        f"{cpu:>10} {run.errors:>6} {run.api_errors:>6} {sent:>15} {taps:>13}"
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
    parser.add_argument("--users", type=int, nargs="+", help="owners per run (default 1000 10000)")
    parser.add_argument("--updates", type=int, default=DEFAULT_UPDATES, help="updates per owner")
    parser.add_argument("--db", nargs="+", choices=DATABASES, default=list(DATABASES))
    parser.add_argument("--quick", action="store_true", help="100 and 500 owners")
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
        baselines=not args.no_baselines,
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
