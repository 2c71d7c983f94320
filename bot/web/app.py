"""The aiohttp application: web chat, Telegram webhook, health check.

Every error becomes a short Vietnamese message with a 4xx or 503 status; a stack trace
never reaches a browser or a platform, and no handler answers 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.channels.webchat import (
    CHANNEL_NAME,
    NOTICE_KIND,
    SESSION_COOKIE,
    new_event_id,
    new_session_id,
    session_event_id,
)
from bot.engine import Engine
from bot.logs import quiet_malformed_bodies
from bot.messages import EventKind, InboundEvent, message_to_dict
from bot.sanitize import MalformedInputError, bounded_int
from bot.web.guard import WebChatGuard, is_https, security_headers
from bot.web.history import session_history
from bot.web.ratelimit import RateLimiter
from storage import conversations as repo
from storage.health import check_health

log = logging.getLogger(__name__)

MAX_WEB_TEXT = 2000
#: Telegram's updates reach about 1 MB (non-ASCII text is escaped as \uXXXX in its JSON);
#: the web chat's API keeps its own 16 KB limit (bot.web.guard).
MAX_BODY_BYTES = 1024 * 1024
MAX_EVENT_ID_LENGTH = 64
MAX_NOTICE_ID = 2**63 - 1
SESSION_MAX_AGE_SECONDS = 180 * 24 * 3600
HTTP_SERVICE_UNAVAILABLE = 503

ENGINE_KEY = web.AppKey("engine", Engine)
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(
    engine: Engine,
    *,
    telegram_webhook: tuple[str, WebHandler] | None = None,
    webchat: bool = True,
) -> web.Application:
    """Build the app; ``telegram_webhook`` is (path, handler) when webhook mode is on."""
    guard = WebChatGuard(RateLimiter(engine.now), _template_error, SESSION_COOKIE)
    app = web.Application(
        middlewares=[security_headers, _errors_middleware, guard.middleware],
        client_max_size=MAX_BODY_BYTES,
    )
    quiet_malformed_bodies()
    app[ENGINE_KEY] = engine
    app.router.add_get("/healthz", healthz)
    if webchat:
        app.router.add_get("/", home)
        app.router.add_get("/chat", chat_page)
        app.router.add_post("/chat/api/message", chat_message)
        app.router.add_get("/chat/api/poll", chat_poll)
        app.router.add_get("/chat/api/history", chat_history)
    if telegram_webhook is not None:
        path, handler = telegram_webhook
        app.router.add_post(path, handler)
    return app


async def home(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/chat")


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    database_ok = (await check_health(engine.database)).ok
    status = 200 if database_ok else HTTP_SERVICE_UNAVAILABLE
    body = {"status": "ok" if database_ok else "degraded", "database": database_ok}
    return web.json_response(body, status=status)


async def chat_page(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    html = engine.content.texts.render("web/chat_page")
    return web.Response(text=html, content_type="text/html", charset="utf-8")


async def chat_message(request: web.Request) -> web.Response:
    """One user message in, the bot's replies out (after they are committed)."""
    engine = request.app[ENGINE_KEY]
    texts = engine.content.texts
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        return _error(texts.render("web/bad_request"), status=400)
    if not isinstance(body, dict):
        return _error(texts.render("web/bad_request"), status=400)
    text = body.get("text")
    choice = body.get("choice")
    event_id = body.get("event_id") or new_event_id()
    if not isinstance(event_id, str) or len(event_id) > MAX_EVENT_ID_LENGTH:
        return _error(texts.render("web/bad_request"), status=400)
    if choice is not None and not isinstance(choice, str):
        return _error(texts.render("web/bad_request"), status=400)
    if isinstance(choice, str) and choice:
        kind, value = EventKind.CHOICE, choice
    elif isinstance(text, str) and text.strip():
        if len(text) > MAX_WEB_TEXT:
            return _error(texts.render("web/too_long", limit=MAX_WEB_TEXT), status=400)
        kind, value = EventKind.TEXT, text.strip()
        if value.startswith("/") and len(value) > 1:
            kind = EventKind.COMMAND
            value = value[1:]
    else:
        return _error(texts.render("web/empty"), status=400)
    session_id = request.cookies.get(SESSION_COOKIE) or new_session_id()
    command_args = ""
    if kind is EventKind.COMMAND:
        value, _, command_args = value.partition(" ")
    event = InboundEvent(
        channel=CHANNEL_NAME,
        user_id=session_id,
        chat_id=session_id,
        event_id=session_event_id(session_id, event_id),
        kind=kind,
        text=value,
        args=command_args,
    )
    replies = await engine.handle(event)
    response = web.json_response({"replies": [message_to_dict(r) for r in replies]})
    response.set_cookie(
        SESSION_COOKIE,
        session_id,
        max_age=SESSION_MAX_AGE_SECONDS,
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
    )
    return response


async def chat_poll(request: web.Request) -> web.Response:
    """Messages that reached this chat after the page's last poll (staff replies…)."""
    engine = request.app[ENGINE_KEY]
    session_id = request.cookies.get(SESSION_COOKIE)
    after = bounded_int(request.query.get("after", "0"), low=0, high=MAX_NOTICE_ID)
    if after is None:
        return _error(engine.content.texts.render("web/bad_request"), status=400)
    notices: list[dict[str, object]] = []
    if session_id:
        async with engine.database.transaction() as session:  # reads only: no write lock
            identity = await repo.find_identity(session, channel=CHANNEL_NAME, user_id=session_id)
            if identity is not None:
                rows = await repo.history(
                    session, identity_id=identity.id, after_id=after, kinds=(NOTICE_KIND,)
                )
                notices = [{"id": row.id, "text": row.text} for row in rows]
    return web.json_response({"notices": notices})


async def chat_history(request: web.Request) -> web.Response:
    """The session's recent messages and live buttons: a reload continues the chat."""
    engine = request.app[ENGINE_KEY]
    history = await session_history(engine.database, request.cookies.get(SESSION_COOKIE))
    return web.json_response(history)


def _error(message: str, *, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _template_error(request: web.Request, template: str, status: int) -> web.Response:
    return _error(request.app[ENGINE_KEY].content.texts.render(template), status=status)


@web.middleware
async def _errors_middleware(request: web.Request, handler: WebHandler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.status != 401:
            texts = request.app[ENGINE_KEY].content.texts
            message = texts.render("web/not_found" if exc.status == 404 else "web/bad_request")
            return _error(message, status=exc.status)
        raise
    except MalformedInputError as exc:  # can never succeed: say so, never 5xx
        log.warning("refused malformed input on %s: %s", request.path, exc)
        return _template_error(request, "web/bad_request", 400)
    except Exception:
        log.exception("request failed: %s %s", request.method, request.path)
        texts = request.app[ENGINE_KEY].content.texts
        return _error(texts.render("web/unavailable"), status=HTTP_SERVICE_UNAVAILABLE)
