"""The staff dashboard: a sub-application mounted at ``/staff`` on the bot's aiohttp app.

Server-rendered pages (``content/templates/dashboard/``), plain forms, no script needed
and no front-end build; one stylesheet served from this package.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.app.dashboard import auth, broadcasts, views
from bot.app.dashboard.render import Pages
from bot.app.dashboard.state import DASHBOARD_KEY, PREFIX, Dashboard
from bot.app.web import WebHandler
from bot.core.engine import Engine
from bot.leads.catalogue import load_lead_options, load_statuses

STATIC_DIR = Path(__file__).resolve().parent / "static"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'none'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


HTTP_CLIENT_ERROR = 400


@web.middleware
async def _headers(request: web.Request, handler: WebHandler) -> web.StreamResponse:
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:
        if exc.status < HTTP_CLIENT_ERROR:
            raise
        reason = "not_found" if exc.status == web.HTTPNotFound.status_code else "bad_request"
        html = request.app[DASHBOARD_KEY].pages.render("refused", reason=reason)
        response = web.Response(
            text=html, status=exc.status, content_type="text/html", charset="utf-8"
        )
    if not response.prepared:
        response.headers.update(SECURITY_HEADERS)
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def build_dashboard(engine: Engine, *, channels: tuple[str, ...] = ()) -> web.Application:
    """The dashboard sub-application; mount it with ``app.add_subapp(PREFIX, …)``."""
    settings = engine.settings
    zone = ZoneInfo(settings.timezone)
    texts = engine.content.texts
    app = web.Application(middlewares=[_headers, auth.session_middleware])
    app[DASHBOARD_KEY] = Dashboard(
        database=engine.database,
        texts=texts,
        pages=Pages(texts, zone=zone),
        statuses=engine.content.get(load_statuses),
        zone=zone,
        clock=engine.now,
        outbox_ready=engine.outbox_ready.set,
        secure_cookies=(settings.public_url or "").startswith("https://"),
        channels=channels or tuple(sorted(engine.channels)),
    )
    router = app.router
    router.add_get("/login", auth.login_page, name="login")
    router.add_post("/login", auth.login_post, name="login_post")
    router.add_post("/logout", auth.logout, name="logout")
    router.add_get("/password", auth.password_page, name="password")
    router.add_post("/password", auth.password_post, name="password_post")
    router.add_get("/", views.index, name="index")
    router.add_get("/leads", views.leads_page, name="leads")
    router.add_post("/leads/bulk", views.bulk, name="bulk")
    router.add_get(r"/leads/export.{fmt:(csv|xlsx)}", views.export, name="export")
    router.add_get(r"/leads/{lead_id:\d+}", views.lead_page, name="lead")
    router.add_post(r"/leads/{lead_id:\d+}/{action:[a-z]+}", views.lead_action, name="lead_action")
    router.add_get("/stats", views.stats_page, name="stats")
    router.add_get("/audit", views.audit_page, name="audit")
    router.add_get("/audit.csv", views.audit_export, name="audit_export")
    router.add_get("/link", views.link_page, name="link")
    router.add_post("/link", views.link_post, name="link_post")
    broadcasts.add_routes(
        app, settings, topics=tuple(engine.content.get(load_lead_options).topics)
    )
    router.add_static("/static", STATIC_DIR, name="static")
    return app


def mount_dashboard(app: web.Application, engine: Engine) -> None:
    app.add_subapp(PREFIX, build_dashboard(engine))


__all__ = ["PREFIX", "build_dashboard", "mount_dashboard"]
