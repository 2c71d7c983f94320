"""Sign-in for the dashboard: sessions, CSRF, throttling, forced password change.

* Every route needs a session except those in :data:`PUBLIC_ROUTES` (the login page and
  the stylesheet); without one, any method is sent to the login page.
* Every POST carries the session's CSRF token in a form field; missing or wrong, the
  request is refused before its handler runs (nothing changes).
* Failed logins are counted per account and per address over :data:`THROTTLE_WINDOW`;
  over the limit, the password is not even checked.
* The cookie holds a random token (the table keeps only its digest); it is HttpOnly,
  SameSite=Lax, limited to ``/staff`` and Secure when the public address is https.
"""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import quote

from aiohttp import web

from bot.app.dashboard.state import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_ADDRESS,
    PREFIX,
    SESSION_ABSOLUTE,
    SESSION_COOKIE,
    SESSION_IDLE,
    SESSION_TOUCH,
    THROTTLE_WINDOW,
    VISITOR_KEY,
    Visitor,
    dashboard_of,
    visitor_of,
)
from bot.app.web import WebHandler
from bot.staff import credentials
from bot.staff.accounts import AccountError, check_username
from bot.staff.scope import Scope
from storage.repositories.staff import AuditLog, LoginFailures, StaffAccounts, StaffSessions

log = logging.getLogger(__name__)

PUBLIC_ROUTES = frozenset({"login", "login_post", "static"})
PASSWORD_ROUTES = frozenset({"password", "password_post", "logout"})
HTTP_TOO_MANY = 429
HTTP_FORBIDDEN = 403
MAX_PASSWORD_LENGTH = 200


def see_other(location: str) -> web.Response:
    """A 303 as a response object (one that can carry cookies)."""
    return web.Response(status=303, headers={"Location": location})


def login_url(next_path: str = "") -> str:
    if next_path and next_path.startswith(PREFIX) and not next_path.startswith("//"):
        return f"{PREFIX}/login?next={quote(next_path, safe='/')}"
    return f"{PREFIX}/login"


def _route_name(request: web.Request) -> str:
    route = request.match_info.route
    return route.name or "" if route is not None else ""


@web.middleware
async def session_middleware(request: web.Request, handler: WebHandler) -> web.StreamResponse:
    """Attach the signed-in officer, or send the visitor to the login page."""
    name = _route_name(request)
    if name in PUBLIC_ROUTES or request.match_info.http_exception is not None:
        return await handler(request)
    visitor = await _load_visitor(request)
    if visitor is None:
        target = request.path_qs if request.method == "GET" else ""
        raise web.HTTPSeeOther(login_url(target))
    request[VISITOR_KEY] = visitor
    if request.method == "POST":
        form = await request.post()
        sent = form.get(CSRF_FIELD)
        if not isinstance(sent, str) or not credentials.same(sent, visitor.csrf):
            return _refused(request, HTTP_FORBIDDEN, "csrf")
    if visitor.account.must_change_password and name not in PASSWORD_ROUTES:
        raise web.HTTPSeeOther(f"{PREFIX}/password")
    return await handler(request)


async def _load_visitor(request: web.Request) -> Visitor | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    dashboard = dashboard_of(request)
    now = dashboard.clock()
    digest = credentials.digest(token)
    async with dashboard.database.transaction() as session:
        row = await StaffSessions(session).get(digest)
        if row is None:
            return None
        if row.expires_at <= now or row.last_seen_at + SESSION_IDLE <= now:
            await StaffSessions(session).drop(digest)
            return None
        account = await StaffAccounts(session).get(row.account_id)
        if account is None or not account.active:
            return None
        if now - row.last_seen_at >= SESSION_TOUCH:
            row.last_seen_at = now
        session.expunge(account)
        return Visitor(
            account=account, scope=Scope.of(account), csrf=row.csrf_token, session_digest=digest
        )


def _refused(request: web.Request, status: int, reason: str) -> web.Response:
    pages = dashboard_of(request).pages
    html = pages.render("refused", reason=reason)
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


def _address(request: web.Request) -> str:
    return (request.remote or "unknown")[:64]


async def login_page(request: web.Request) -> web.Response:
    return _login_form(request, error="")


def _login_form(
    request: web.Request, *, error: str, status: int = 200, username: str = ""
) -> web.Response:
    dashboard = dashboard_of(request)
    token = credentials.new_token()
    html = dashboard.pages.render(
        "login",
        error=error,
        csrf=token,
        next=request.query.get("next", ""),
        username=username,
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        secure=dashboard.secure_cookies,
        path=PREFIX,
    )
    return response


async def login_post(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    form = await request.post()
    sent = form.get(CSRF_FIELD)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not isinstance(sent, str) or not expected or not credentials.same(sent, expected):
        return _refused(request, HTTP_FORBIDDEN, "csrf")
    typed = str(form.get("username", ""))[:64]
    password = str(form.get("password", ""))[:MAX_PASSWORD_LENGTH]
    try:
        username = check_username(typed)
    except AccountError:
        username = typed.strip().lower()[:64]
    address = _address(request)
    now = dashboard.clock()
    since = now - THROTTLE_WINDOW
    async with dashboard.database.transaction() as session:
        failures = LoginFailures(session)
        too_many = (
            await failures.count(since=since, username=username) >= MAX_FAILURES_PER_ACCOUNT
            or await failures.count(since=since, address=address) >= MAX_FAILURES_PER_ADDRESS
        )
        account = None if too_many else await StaffAccounts(session).by_username(username)
    if too_many:
        log.warning("dashboard login throttled")
        return _login_form(request, error="throttled", status=HTTP_TOO_MANY, username=typed)
    stored = account.password_hash if account is not None and account.active else None
    if not await credentials.verify_password_async(stored, password) or account is None:
        async with dashboard.database.transaction() as session:
            await LoginFailures(session).add(username=username, address=address, now=now)
        return _login_form(request, error="wrong", status=401, username=typed)
    token = credentials.new_token()
    async with dashboard.database.transaction() as session:
        await LoginFailures(session).clear(username=username)
        await StaffSessions(session).purge_expired(now)
        await StaffSessions(session).create(
            digest=credentials.digest(token),
            account_id=account.id,
            csrf_token=credentials.new_token(),
            now=now,
            expires_at=now + SESSION_ABSOLUTE,
        )
        await AuditLog(session).record(
            actor=account.username,
            account_id=account.id,
            via="web",
            action="login",
            entity="staff",
            entity_id=account.username,
            now=now,
        )
    next_path = str(form.get("next", ""))
    target = next_path if next_path.startswith(f"{PREFIX}/") else f"{PREFIX}/leads"
    response = see_other(target)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=dashboard.secure_cookies,
        path=PREFIX,
        max_age=int(SESSION_ABSOLUTE.total_seconds()),
    )
    response.del_cookie(LOGIN_CSRF_COOKIE, path=PREFIX)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    async with dashboard.database.transaction() as session:
        await StaffSessions(session).drop(visitor.session_digest)
    response = see_other(f"{PREFIX}/login")
    response.del_cookie(SESSION_COOKIE, path=PREFIX)
    return response


async def password_page(request: web.Request) -> web.Response:
    return _password_form(request, error="")


def _password_form(request: web.Request, *, error: str, status: int = 200) -> web.Response:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    html = dashboard.pages.render(
        "password",
        me=visitor.scope,
        csrf=visitor.csrf,
        error=error,
        forced=visitor.account.must_change_password,
        min_length=credentials.MIN_PASSWORD_LENGTH,
    )
    return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")


async def password_post(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    form = await request.post()
    current = str(form.get("current", ""))[:MAX_PASSWORD_LENGTH]
    new = str(form.get("new", ""))[:MAX_PASSWORD_LENGTH]
    again = str(form.get("again", ""))[:MAX_PASSWORD_LENGTH]
    if not await credentials.verify_password_async(visitor.account.password_hash, current):
        return _password_form(request, error="wrong", status=400)
    if len(new) < credentials.MIN_PASSWORD_LENGTH or new != again or new == current:
        return _password_form(request, error="weak", status=400)
    new_hash = await credentials.hash_password_async(new)
    now: datetime = dashboard.clock()
    async with dashboard.database.transaction() as session:
        account = await StaffAccounts(session).get(visitor.account.id)
        assert account is not None
        account.password_hash = new_hash
        account.must_change_password = False
        account.updated_at = now
        await AuditLog(session).record(
            actor=account.username,
            account_id=account.id,
            via="web",
            action="password_change",
            entity="staff",
            entity_id=account.username,
            now=now,
        )
    raise web.HTTPSeeOther(f"{PREFIX}/leads")
