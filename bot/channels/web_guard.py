"""What stands between the internet and the web chat: headers, body rules, rate limits.

- Every response carries a Content-Security-Policy (inline scripts and styles of an HTML
  page allowed by their hashes only), ``nosniff``, ``frame-ancestors 'none'`` and
  ``X-Frame-Options: DENY``, and a strict Referrer-Policy.
- The web chat's JSON API takes ``application/json`` only (a ``text/plain`` POST is what a
  foreign page can send without asking) and at most ``WEBCHAT_MAX_BODY_BYTES``; the
  Telegram webhook has its own, larger limit (the app's ``client_max_size``).
- Requests are limited per address and per session, and new sessions per address, with a
  Vietnamese 429: 3,000 cookie-less POSTs used to create 3,000 people.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from aiohttp import web
from aiohttp.web_protocol import RequestPayloadError

from bot.channels.web_ratelimit import RateLimiter, Rule

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]
#: Says the error message for a status: ``(request, template) -> JSON error response``.
ErrorReply = Callable[[web.Request, str, int], web.Response]

API_PREFIX: Final = "/chat/api/"
WEBCHAT_MAX_BODY_BYTES: Final = 16 * 1024
JSON_TYPE: Final = "application/json"
HTTP_TOO_MANY: Final = 429
HTTP_UNSUPPORTED_TYPE: Final = 415
HTTP_TOO_LARGE: Final = 413
#: Per address: bursts of 60, then one a second (a household or an office shares one).
ADDRESS_RULE: Final = Rule(capacity=60, per_second=1.0)
#: Per session: bursts of 20, then one every two seconds: faster than anyone types.
SESSION_RULE: Final = Rule(capacity=20, per_second=0.5)
#: New sessions (no cookie yet) per address: 10, then one a minute.
NEW_SESSION_RULE: Final = Rule(capacity=10, per_second=1 / 60)

_INLINE_RE: Final = re.compile(r"<(script|style)(?:\s[^>]*)?>(.*?)</\1>", re.DOTALL)
STATIC_HEADERS: Final = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(html: str | None) -> str:
    """A strict policy; an HTML page's own inline scripts and styles allowed by hash."""
    hashes: dict[str, list[str]] = {"script": [], "style": []}
    for kind, body in _INLINE_RE.findall(html or ""):
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes[kind].append(f"'sha256-{digest}'")
    scripts = " ".join(["'self'", *hashes["script"]])
    styles = " ".join(["'self'", *hashes["style"]])
    return (
        f"default-src 'self'; script-src {scripts}; style-src {styles}; img-src 'self' data:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


def is_https(request: web.Request) -> bool:
    """Served over HTTPS, directly or behind a proxy that says so."""
    return request.secure or request.headers.get("X-Forwarded-Proto", "") == "https"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    html = response.text if isinstance(response, web.Response) and _is_html(response) else None
    response.headers.update(STATIC_HEADERS)
    response.headers["Content-Security-Policy"] = content_security_policy(html)
    if isinstance(response, web.HTTPException):
        raise response
    return response


def _is_html(response: web.Response) -> bool:
    return response.content_type == "text/html" and response.body is not None


@dataclass
class WebChatGuard:
    """The web chat API's body rules and rate limits, as an aiohttp middleware."""

    limiter: RateLimiter
    error: ErrorReply
    session_cookie: str

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX):
            return await handler(request)
        address = request.remote or "unknown"
        session = request.cookies.get(self.session_cookie)
        checks = [("address", address, ADDRESS_RULE)]
        if session:
            checks.append(("session", session, SESSION_RULE))
        elif request.method == "POST":
            checks.append(("new-session", address, NEW_SESSION_RULE))
        for scope, key, rule in checks:
            wait = self.limiter.take(scope, key, rule)
            if wait > 0:
                response = self.error(request, "web/too_many", HTTP_TOO_MANY)
                response.headers["Retry-After"] = str(max(1, round(wait)))
                return response
        if request.method == "POST":
            if request.content_type != JSON_TYPE:
                return self.error(request, "web/bad_request", HTTP_UNSUPPORTED_TYPE)
            length = request.content_length
            if length is not None and length > WEBCHAT_MAX_BODY_BYTES:
                return self.error(request, "web/bad_request", HTTP_TOO_LARGE)
            try:
                body = await request.read()  # cached for the handler's request.json()
            except (web.HTTPException, RequestPayloadError, ValueError, ConnectionError):
                return self.error(request, "web/bad_request", HTTP_TOO_LARGE)
            if len(body) > WEBCHAT_MAX_BODY_BYTES:
                return self.error(request, "web/bad_request", HTTP_TOO_LARGE)
        return await handler(request)
