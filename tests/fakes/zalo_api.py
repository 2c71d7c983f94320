"""Fake Zalo servers for tests, on 127.0.0.1, answering in the shapes of zalo.md.

:class:`FakeZaloOA` is OAuth v4 (``/v4/oa/access_token``: ``secret_key`` header, form body,
single-use rotating refresh tokens, every call recorded) and the OA OpenAPI
(``/v3.0/oa/message/cs`` and friends: ``access_token`` header, HTTP 200 with a non-zero
``error`` for application errors, the 2000-character and 5-button limits, a per-user table
of forced error codes). It is also Zalo's webhook sender: it signs events with
``mac=sha256(app_id + body + timestamp + OA secret key)`` and can send bad or missing
signatures, redeliver, and echo each send back as ``oa_send_text``.

:class:`FakeZaloBot` is the Bot platform (``/bot<token>/<method>``): the ``{"ok": …}``
envelope, ``getUpdates`` returning one update per call or error 408 after a short wait,
``setWebhook`` with an 8-256 character secret pushed back in ``X-Bot-Api-Secret-Token``.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Final

from aiohttp import ClientSession, ClientTimeout, web

HOST: Final = "127.0.0.1"
APP_ID: Final = "1234567890123456789"
APP_SECRET: Final = "TEST_APP_SECRET"
OA_ID: Final = "388613280878808645"
OA_SECRET_KEY: Final = "TEST_OA_SECRET_KEY"
BOT_TOKEN: Final = "12345:TEST-zalo-bot-secret"
MAX_TEXT: Final = 2000
MAX_BUTTONS: Final = 5
EXPIRES_IN: Final = "90000"
INVALID_TOKEN: Final = -216
BAD_REFRESH: Final = -14014
DEFAULT_WAIT: Final = 5.0
POLL_WAIT_CAP: Final = 0.5
REQUEST_TIMEOUT: Final = 5.0


def compact(payload: dict[str, Any]) -> bytes:
    """A webhook body as Zalo sends it: one line, no spaces."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def sign(body: bytes, *, app_id: str = APP_ID, secret: str = OA_SECRET_KEY) -> str:
    timestamp = str(json.loads(body).get("timestamp", ""))
    digest = hashlib.sha256(app_id.encode() + body + timestamp.encode() + secret.encode())
    return "mac=" + digest.hexdigest()


async def _until(condition: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


class _Server:
    _runner: web.AppRunner | None = None
    _port = 0

    def _routes(self, app: web.Application) -> None:
        raise NotImplementedError

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self._port}"

    async def start(self) -> None:
        app = web.Application()
        self._routes(app)
        self._runner = web.AppRunner(app, handle_signals=False, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        self._http = ClientSession(timeout=ClientTimeout(total=REQUEST_TIMEOUT))

    async def close(self) -> None:
        await self._http.close()
        if self._runner is not None:
            await self._runner.cleanup()


class FakeZaloOA(_Server):
    """OAuth v4 + OA OpenAPI v3 + the signed webhook sender."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self.oauth_calls: list[dict[str, str]] = []
        self.codes: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.access_tokens: set[str] = set()
        #: Forced error code per user id (sends to them fail with it).
        self.user_errors: dict[str, int] = {}
        #: Every accepted send: (user id, message object).
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.send_calls: list[dict[str, Any]] = []
        self.webhook_url: str | None = None
        self.echo_sends = False
        #: Seconds the refresh endpoint waits before answering (concurrency tests).
        self.refresh_delay = 0.0
        #: Seconds every send waits before answering (a slow Zalo).
        self.send_delay = 0.0
        #: Rotate the refresh token, then drop the connection without an answer, this often.
        self.drop_refresh_answers = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> FakeZaloOA:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self.close()

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/v4/oa/access_token", self._token)
        app.router.add_post("/v3.0/oa/message/cs", self._send_cs)
        app.router.add_get("/v2.0/oa/getoa", self._getoa)
        app.router.add_get("/v3.0/oa/user/detail", self._user_detail)
        app.router.add_post("/v3.0/oa/quota/message", self._quota)

    # -- OAuth ------------------------------------------------------------------------------

    def _pair(self) -> dict[str, str]:
        access, refresh = f"AT-{next(self._ids)}", f"RT-{next(self._ids)}"
        self.access_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "expires_in": EXPIRES_IN}

    def issue_code(self) -> str:
        code = f"CODE-{next(self._ids)}"
        self.codes.add(code)
        return code

    def grant(self) -> dict[str, str]:
        """A pair as API Explorer hands it out (to seed the token store)."""
        return self._pair()

    def expire_access_tokens(self) -> None:
        self.access_tokens.clear()

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = dict(await request.post())
        call = {key: str(value) for key, value in form.items()}
        call["secret_key"] = request.headers.get("secret_key", "")
        self.oauth_calls.append(call)
        if call["secret_key"] != APP_SECRET or call.get("app_id") != APP_ID:
            return web.json_response({"error": -14001, "error_name": "Invalid app"})
        grant = call.get("grant_type")
        if grant == "authorization_code":
            if call.get("code") not in self.codes:
                return web.json_response({"error": -14002, "error_name": "Invalid code"})
            self.codes.discard(call["code"])
            return web.json_response(self._pair())
        if grant == "refresh_token":
            if self.refresh_delay:
                await asyncio.sleep(self.refresh_delay)
            token = call.get("refresh_token", "")
            if token not in self.refresh_tokens:
                return web.json_response(
                    {"error": BAD_REFRESH, "error_name": "Invalid refresh token"}
                )
            self.refresh_tokens.discard(token)  # single use
            pair = self._pair()
            if self.drop_refresh_answers:
                self.drop_refresh_answers -= 1
                assert request.transport is not None
                request.transport.close()  # Zalo rotated; the answer never arrives
                return web.Response()
            return web.json_response(pair)
        return web.json_response({"error": -14003, "error_name": "Invalid grant"})

    # -- OpenAPI ----------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        return request.headers.get("access_token", "") in self.access_tokens

    async def _send_cs(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.send_calls.append(body)
        if self.send_delay:
            await asyncio.sleep(self.send_delay)
        if not self._authorised(request):
            return web.json_response(
                {"error": INVALID_TOKEN, "message": "Access token is invalid"}
            )
        user_id = str(body["recipient"]["user_id"])
        message = body["message"]
        if user_id in self.user_errors:
            code = self.user_errors[user_id]
            return web.json_response({"error": code, "message": f"forced {code}"})
        text = message.get("text", "")
        attachment = message.get("attachment") or {}
        buttons = (attachment.get("payload") or {}).get("buttons", [])
        if len(text) > MAX_TEXT or len(buttons) > MAX_BUTTONS:
            return web.json_response({"error": -201, "message": "message is invalid!"})
        if not text and not attachment:
            return web.json_response({"error": -201, "message": "message is invalid!"})
        message_id = f"m{next(self._ids):08d}"
        self.messages.append((user_id, message))
        if self.echo_sends and self.webhook_url:
            self._spawn(self.deliver(self._echo(user_id, text, message_id)))
        return web.json_response(
            {
                "error": 0,
                "message": "Success",
                "data": {"message_id": message_id, "user_id": user_id},
            }
        )

    async def _getoa(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response(
                {"error": INVALID_TOKEN, "message": "Access token is invalid"}
            )
        data = {"oa_id": OA_ID, "name": "Trung tâm Khuyến công", "is_verified": True}
        return web.json_response({"error": 0, "message": "Success", "data": data})

    async def _user_detail(self, request: web.Request) -> web.Response:
        data = json.loads(request.query.get("data", "{}"))
        detail = {
            "user_id": data.get("user_id"),
            "display_name": "Người dân",
            "user_is_follower": True,
        }
        return web.json_response({"error": 0, "message": "Success", "data": detail})

    async def _quota(self, request: web.Request) -> web.Response:
        return web.json_response({"error": 0, "data": {"cs_reply": {"remain": 8, "total": 8}}})

    def sent(self, user_id: str) -> list[dict[str, Any]]:
        return [message for uid, message in self.messages if uid == user_id]

    def refresh_calls(self) -> list[dict[str, str]]:
        return [call for call in self.oauth_calls if call.get("grant_type") == "refresh_token"]

    async def wait_for_sent(
        self,
        user_id: str,
        count: int,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> list[dict[str, Any]]:
        if not await _until(lambda: len(self.sent(user_id)) >= count, timeout):
            msg = f"{user_id}: expected {count} sent, got {self.sent(user_id)}"
            raise AssertionError(msg)
        return self.sent(user_id)

    # -- the webhook sender -----------------------------------------------------------------

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _envelope(self, user_id: str, event_name: str, **fields: Any) -> dict[str, Any]:
        return {
            "app_id": APP_ID,
            "sender": {"id": user_id},
            "user_id_by_app": "552177279717587730",
            "recipient": {"id": OA_ID},
            "event_name": event_name,
            **fields,
            "timestamp": str(1_718_000_000_000 + next(self._ids)),
        }

    def text_event(self, user_id: str, text: str) -> dict[str, Any]:
        message = {"text": text, "msg_id": f"u{next(self._ids):010d}"}
        return self._envelope(user_id, "user_send_text", message=message)

    def image_event(self, user_id: str) -> dict[str, Any]:
        attachment = {"type": "image", "payload": {"url": "https://example.invalid/i.jpg"}}
        message = {"msg_id": f"u{next(self._ids):010d}", "attachments": [attachment]}
        return self._envelope(user_id, "user_send_image", message=message)

    def submit_info_event(self, user_id: str, *, name: str, phone: str) -> dict[str, Any]:
        return self._envelope(user_id, "user_submit_info", info={"name": name, "phone": phone})

    def follow_event(self, user_id: str, *, follow: bool = True) -> dict[str, Any]:
        return {
            "app_id": APP_ID,
            "oa_id": OA_ID,
            "follower": {"id": user_id},
            "event_name": "follow" if follow else "unfollow",
            "timestamp": str(1_718_000_000_000 + next(self._ids)),
        }

    def _echo(self, user_id: str, text: str, message_id: str) -> dict[str, Any]:
        return {
            "app_id": APP_ID,
            "sender": {"id": OA_ID},
            "recipient": {"id": user_id},
            "event_name": "oa_send_text",
            "message": {"text": text, "msg_id": message_id},
            "timestamp": str(1_718_000_000_000 + next(self._ids)),
        }

    def staff_event(self, user_id: str, text: str) -> dict[str, Any]:
        """A staff member typing to ``user_id`` in OA Manager (an echo not sent by the bot)."""
        return self._echo(user_id, text, f"s{next(self._ids):08d}")

    async def deliver(
        self, event: dict[str, Any], *, signature: str = "valid", num_retry: int = 0
    ) -> int:
        """POST ``event`` to the webhook as Zalo would; the HTTP status of the answer."""
        assert self.webhook_url is not None, "set webhook_url first"
        body = compact(event)
        headers = {"Content-Type": "application/json", "num_retry": str(num_retry)}
        if signature == "valid":
            headers["X-ZEvent-Signature"] = sign(body)
        elif signature == "bad":
            headers["X-ZEvent-Signature"] = sign(body, secret="WRONG")
        async with self._http.post(self.webhook_url, data=body, headers=headers) as response:
            return response.status


class FakeZaloBot(_Server):
    """The Zalo Bot platform's API for one bot token."""

    def __init__(self, token: str = BOT_TOKEN) -> None:
        self.token = token
        self._ids = itertools.count(1)
        self.calls: list[dict[str, Any]] = []
        self.messages: list[tuple[str, str]] = []  # (chat id, text)
        self.updates: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.webhook: dict[str, str] | None = None
        self.known_chats: set[str] = set()
        self.user_errors: dict[str, int] = {}

    async def __aenter__(self) -> FakeZaloBot:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _routes(self, app: web.Application) -> None:
        app.router.add_post("/bot{token}/{method}", self._method)

    @staticmethod
    def _fail(code: int, description: str) -> web.Response:
        return web.json_response({"ok": False, "error_code": code, "description": description})

    async def _method(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._fail(401, "Unauthorized")
        method = request.match_info["method"]
        params = await request.json() if request.can_read_body else {}
        self.calls.append({"method": method, "params": params})
        if method == "getMe":
            result: Any = {"id": "bot1", "account_name": "bot.khuyencong", "account_type": "BASIC"}
        elif method == "getUpdates":
            if self.webhook is not None:
                return self._fail(409, "webhook is set")
            wait = min(float(params.get("timeout", "30")), POLL_WAIT_CAP)
            try:
                result = await asyncio.wait_for(self.updates.get(), timeout=wait)
            except TimeoutError:
                return self._fail(408, "Request timeout")
        elif method == "setWebhook":
            secret = str(params.get("secret_token", ""))
            if not 8 <= len(secret) <= 256:
                return self._fail(400, "secret_token must be 8-256 characters")
            self.webhook = {"url": str(params["url"]), "secret": secret}
            result = {"url": params["url"], "updated_at": int(time.time() * 1000)}
        elif method == "deleteWebhook":
            self.webhook = None
            result = {}
        elif method == "getWebhookInfo":
            result = self.webhook or {}
        elif method == "sendMessage":
            chat_id, text = str(params.get("chat_id", "")), str(params.get("text", ""))
            if chat_id in self.user_errors:
                return self._fail(self.user_errors[chat_id], "forced")
            if chat_id not in self.known_chats:
                return self._fail(404, "chat not found")
            if not 1 <= len(text) <= MAX_TEXT:
                return self._fail(400, "text must be 1-2000 characters")
            self.messages.append((chat_id, text))
            result = {"message_id": f"b{next(self._ids)}", "date": int(time.time() * 1000)}
        elif method in {"sendPhoto", "sendSticker", "sendChatAction"}:
            result = {}
        else:
            return self._fail(404, "Not found")
        return web.json_response({"ok": True, "result": result})

    def text_update(self, user_id: str, text: str) -> dict[str, Any]:
        return {
            "event_name": "message.text.received",
            "message": {
                "message_id": f"{next(self._ids):020x}",
                "date": int(time.time() * 1000),
                "chat": {"id": user_id, "chat_type": "PRIVATE"},
                "from": {"id": user_id, "display_name": "Nguyen Van A", "is_bot": False},
                "text": text,
            },
        }

    async def push(self, update: dict[str, Any], *, secret: str | None = None) -> int:
        """Deliver ``update``: POSTed to the webhook (wrapped, as B3 shows) or queued for
        getUpdates. Returns the webhook's HTTP status (200 when queued)."""
        self.known_chats.add(str(update["message"]["chat"]["id"]))
        if self.webhook is None:
            await self.updates.put(update)
            return 200
        headers = {"X-Bot-Api-Secret-Token": self.webhook["secret"] if secret is None else secret}
        async with self._http.post(
            self.webhook["url"], json={"ok": True, "result": update}, headers=headers
        ) as response:
            return response.status

    def sent(self, chat_id: str) -> list[str]:
        return [text for cid, text in self.messages if cid == chat_id]

    async def wait_for_sent(
        self,
        chat_id: str,
        count: int,
        *,
        timeout: float = DEFAULT_WAIT,  # noqa: ASYNC109
    ) -> list[str]:
        if not await _until(lambda: len(self.sent(chat_id)) >= count, timeout):
            msg = f"{chat_id}: expected {count} sent, got {self.sent(chat_id)}"
            raise AssertionError(msg)
        return self.sent(chat_id)
