"""The aiohttp application: the health check, and the routes of the running channels.

The app knows no channel by name: each channel brings its routes (a webhook, a chat API).
Every error becomes a short Vietnamese message with a 4xx or 503 status; a stack trace
never reaches a browser or a platform, and no handler answers 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web

from bot.app.logs import quiet_malformed_bodies
from bot.channels.web_guard import security_headers
from bot.core.engine import Engine
from bot.core.sanitize import MalformedInputError
from storage.health import check_health

log = logging.getLogger(__name__)

#: Telegram's updates reach about 1 MB (non-ASCII text is escaped as \uXXXX in its JSON);
#: the web chat's API keeps its own 16 KB limit (bot.channels.web_guard).
MAX_BODY_BYTES = 1024 * 1024
HTTP_SERVICE_UNAVAILABLE = 503

ENGINE_KEY = web.AppKey("engine", Engine)
WebHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def create_app(engine: Engine, routes: Iterable[web.RouteDef] = ()) -> web.Application:
    """The app with ``/healthz`` and the given channel ``routes``."""
    app = web.Application(
        middlewares=[security_headers, _errors_middleware], client_max_size=MAX_BODY_BYTES
    )
    quiet_malformed_bodies()
    app[ENGINE_KEY] = engine
    app.router.add_get("/healthz", healthz)
    app.router.add_routes(list(routes))
    return app


async def healthz(request: web.Request) -> web.Response:
    engine = request.app[ENGINE_KEY]
    database_ok = (await check_health(engine.database)).ok
    status = 200 if database_ok else HTTP_SERVICE_UNAVAILABLE
    body: dict[str, object] = {
        "status": "ok" if database_ok else "degraded",
        "database": database_ok,
    }
    channels = await _channel_health(engine) if database_ok else {}
    if channels:
        body["channels"] = channels
        if any(state != "ok" for state in channels.values()):
            body["status"] = "attention"  # e.g. the Zalo OA must be re-authorised
    return web.json_response(body, status=status)


async def _channel_health(engine: Engine) -> dict[str, str]:
    """Channels that report their own state (the Zalo OA's authorisation)."""
    states: dict[str, str] = {}
    for name, channel in engine.channels.items():
        health = getattr(channel, "health", None)
        if health is not None:
            try:
                states[name] = str(await health())
            except Exception:
                log.exception("health of channel %s failed", name)
                states[name] = "unknown"
    return states


def _error(message: str, *, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


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
        texts = request.app[ENGINE_KEY].content.texts
        return _error(texts.render("web/bad_request"), status=400)
    except Exception:
        log.exception("request failed: %s %s", request.method, request.path)
        texts = request.app[ENGINE_KEY].content.texts
        return _error(texts.render("web/unavailable"), status=HTTP_SERVICE_UNAVAILABLE)
