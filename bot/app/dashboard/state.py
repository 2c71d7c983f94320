"""What every dashboard handler needs, kept on the sub-application (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from aiohttp import web

from bot.app.dashboard.render import Pages
from bot.core.texts import Texts
from bot.leads.catalogue import Statuses
from bot.staff.scope import Scope
from storage import Database
from storage.models.staff import StaffAccount

PREFIX = "/staff"
SESSION_COOKIE = "kc_staff"
LOGIN_CSRF_COOKIE = "kc_staff_login"
CSRF_FIELD = "csrf"
SESSION_IDLE = timedelta(hours=8)
SESSION_ABSOLUTE = timedelta(days=7)
#: last_seen_at is written at most this often (not on every page view).
SESSION_TOUCH = timedelta(minutes=1)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20


@dataclass(frozen=True, slots=True)
class Dashboard:
    database: Database
    texts: Texts
    pages: Pages
    statuses: Statuses
    zone: tzinfo
    clock: Callable[[], datetime]
    #: Wakes the outbox worker after a commit that queued messages to owners.
    outbox_ready: Callable[[], None]
    #: Cookies get ``Secure`` when the public address is https (behind a TLS proxy).
    secure_cookies: bool
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Visitor:
    """The signed-in officer of this request."""

    account: StaffAccount
    scope: Scope
    csrf: str
    session_digest: str


DASHBOARD_KEY = web.AppKey("dashboard", Dashboard)
VISITOR_KEY = web.RequestKey("visitor", Visitor)


def dashboard_of(request: web.Request) -> Dashboard:
    return request.app[DASHBOARD_KEY]


def visitor_of(request: web.Request) -> Visitor:
    return request[VISITOR_KEY]
