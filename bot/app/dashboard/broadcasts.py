"""Dashboard pages for broadcasts: compose with every audience filter, a preview filled for a
real recipient with the audience count, test-send, send or submit, approve, schedule, pause,
resume, cancel, and a progress bar with its estimate and the final report.

Who may do what: every officer composes, previews and test-sends (to their own linked chat
account); starting a broadcast is for admins, or a submission for approval when
``BROADCAST_APPROVAL_REQUIRED`` (an admin other than the author approves); pausing, resuming,
cancelling and scheduling are for admins and the author. Every action is in the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.app.dashboard.state import PREFIX, dashboard_of, visitor_of
from bot.broadcasts.compose import BUTTON_CHOICES, Button
from bot.broadcasts.control import BroadcastControl, Draft, Result
from bot.broadcasts.notices import eta_minutes, percent
from bot.broadcasts.policy import policy_for
from bot.core.config import Settings
from storage.models.broadcasts import EDITABLE_STATUSES, Broadcast, BroadcastStatus
from storage.models.staff import VERDICT_ORDER
from storage.repositories import Audience
from storage.repositories.staff import AuditLog, StaffAccounts

SETTINGS_KEY = web.AppKey("broadcast_settings", Settings)
TOPICS_KEY = web.AppKey("broadcast_topics", list[str])
RECENT = 20
ACTIONS = frozenset({"test", "send", "approve", "pause", "resume", "cancel", "schedule"})
LIST_FIELDS = ("topics", "communes", "provinces", "programmes", "lead_statuses", "verdicts")


def add_routes(app: web.Application, settings: Settings, *, topics: tuple[str, ...]) -> None:
    """Mount the broadcast pages on the dashboard sub-application."""
    app[SETTINGS_KEY] = settings
    app[TOPICS_KEY] = list(topics)
    router = app.router
    router.add_get("/broadcasts", broadcasts_page, name="broadcasts")
    router.add_post("/broadcasts", compose, name="broadcast_compose")
    router.add_get(r"/broadcasts/{broadcast_id:\d+}", broadcast_page, name="broadcast")
    router.add_post(
        r"/broadcasts/{broadcast_id:\d+}/{action:[a-z]+}",
        broadcast_action,
        name="broadcast_action",
    )


def _html(text: str, *, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _actor(request: web.Request) -> str:
    return f"staff:{visitor_of(request).account.id}"


def _control(request: web.Request, session: Any) -> BroadcastControl:
    dashboard = dashboard_of(request)
    return BroadcastControl(
        session,
        texts=dashboard.texts,
        now=dashboard.clock(),
        approval_required=request.app[SETTINGS_KEY].broadcast_approval_required,
    )


def allowed(request: web.Request, broadcast: Broadcast | None, action: str) -> bool:
    """The role check of one action (see the module docstring)."""
    visitor = visitor_of(request)
    admin = visitor.scope.is_admin
    approval = request.app[SETTINGS_KEY].broadcast_approval_required
    author = broadcast is not None and broadcast.created_by == _actor(request)
    if action in {"compose", "test"}:
        return True
    if action == "send":
        return admin or approval
    if action == "approve":
        return admin and not author
    return admin or author


def _values(request: web.Request, **values: Any) -> dict[str, Any]:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    return {
        "me": visitor.scope,
        "csrf": visitor.csrf,
        "path": request.path,
        "statuses": list(dashboard.statuses.by_status.values()),
        "verdicts": VERDICT_ORDER,
        "channels": dashboard.channels,
        "button_actions": list(BUTTON_CHOICES),
        **values,
    }


async def broadcasts_page(request: web.Request) -> web.Response:
    return await _list(request)


async def _list(
    request: web.Request, *, error: str = "", form: dict[str, Any] | None = None, status: int = 200
) -> web.Response:
    dashboard = dashboard_of(request)
    rate = policy_for(request.app[SETTINGS_KEY], "telegram").rate_per_second
    rows = []
    async with dashboard.database.transaction() as session:
        control = _control(request, session)
        for broadcast in await control.repo.recent(limit=RECENT):
            progress = await control.progress(broadcast)
            rows.append(_row(broadcast, progress, rate))
    return _html(
        dashboard.pages.render(
            "broadcasts",
            **_values(
                request,
                rows=rows,
                topics=request.app[TOPICS_KEY],
                error=error,
                form=form or {},
                can_send=allowed(request, None, "send"),
            ),
        ),
        status=status,
    )


def _row(broadcast: Broadcast, progress: Any, rate: float) -> dict[str, Any]:
    running = broadcast.status == BroadcastStatus.RUNNING
    return {
        "broadcast": broadcast,
        "progress": progress,
        "percent": percent(progress) if broadcast.total else 0,
        "eta_minutes": eta_minutes(progress, rate) if running else None,
    }


def _draft(form: Any, zone: Any) -> tuple[Draft, dict[str, Any]]:
    """The draft a compose form describes, and the form's values to show it again."""
    values: dict[str, Any] = {key: form.getall(key, []) for key in LIST_FIELDS}
    values["channels_chosen"] = form.getall("channels", [])
    for key in ("body", "title", "attachment_kind", "attachment", "scheduled_at", "programme"):
        values[key] = str(form.get(key, "")).strip()
    for key in ("active_within_days", "inactive_for_days"):
        raw = str(form.get(key, "")).strip()
        values[key] = raw if raw.isdigit() else ""
    values["buttons"] = form.getall("buttons", [])
    split = {
        key: [
            part.strip() for item in values[key] for part in str(item).split(",") if part.strip()
        ]
        for key in ("communes", "provinces")
    }
    audience = Audience.from_dict(
        {
            "topics": values["topics"],
            "communes": split["communes"],
            "provinces": split["provinces"],
            "programmes": values["programmes"],
            "lead_statuses": values["lead_statuses"],
            "verdicts": values["verdicts"],
            "channels": values["channels_chosen"],
            "active_within_days": values["active_within_days"] or None,
            "inactive_for_days": values["inactive_for_days"] or None,
        }
    )
    buttons = tuple(
        Button(action, values["programme"] if action == "programme" else "")
        for action in values["buttons"]
        if action in BUTTON_CHOICES and (action != "programme" or values["programme"])
    )
    scheduled = None
    if values["scheduled_at"]:
        try:
            scheduled = datetime.fromisoformat(values["scheduled_at"]).replace(tzinfo=zone)
        except ValueError:
            scheduled = None
    draft = Draft(
        body=values["body"],
        audience=audience,
        title=values["title"],
        buttons=buttons,
        attachment_kind=values["attachment_kind"] if values["attachment"] else "",
        attachment=values["attachment"],
        scheduled_at=scheduled,
    )
    return draft, values


async def compose(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    form = await request.post()
    draft, values = _draft(form, dashboard.zone)
    async with dashboard.database.transaction() as session:
        outcome = await _control(request, session).compose(draft, created_by=_actor(request))
        if outcome.broadcast is not None:
            await _audit(request, session, "broadcast_compose", outcome.broadcast)
    if outcome.broadcast is None:
        return await _list(request, error=outcome.result.value, form=values, status=400)
    raise web.HTTPSeeOther(f"{PREFIX}/broadcasts/{outcome.broadcast.id}")


async def _audit(request: web.Request, session: Any, action: str, broadcast: Broadcast) -> None:
    visitor = visitor_of(request)
    await AuditLog(session).record(
        actor=visitor.scope.actor("web"),
        via="web",
        action=action,
        entity="broadcast",
        entity_id=str(broadcast.id),
        after={"status": str(broadcast.status)},
        account_id=visitor.account.id,
        now=dashboard_of(request).clock(),
    )


def _broadcast_id(request: web.Request) -> int | None:
    raw = request.match_info.get("broadcast_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


async def broadcast_page(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    broadcast_id = _broadcast_id(request)
    rate = policy_for(request.app[SETTINGS_KEY], "telegram").rate_per_second
    async with dashboard.database.transaction() as session:
        control = _control(request, session)
        broadcast = await control.repo.get(broadcast_id) if broadcast_id is not None else None
        if broadcast is None:
            raise web.HTTPNotFound
        audience = Audience.from_dict(broadcast.audience)
        count = await control.count(audience) if broadcast.status in EDITABLE_STATUSES else 0
        preview, real = await control.preview(broadcast)
        progress = await control.progress(broadcast)
        report = await control.repo.report(broadcast) if broadcast.total else None
    can = {action: allowed(request, broadcast, action) for action in ACTIONS}
    return _html(
        dashboard.pages.render(
            "broadcast",
            **_values(
                request,
                broadcast=broadcast,
                audience=audience.to_dict(),
                count=count,
                preview=preview,
                real_recipient=real,
                row=_row(broadcast, progress, rate),
                report=report,
                can=can,
                editable=broadcast.status in EDITABLE_STATUSES,
                done=request.query.get("done", ""),
            ),
        )
    )


async def broadcast_action(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    broadcast_id = _broadcast_id(request)
    action = request.match_info.get("action", "")
    if broadcast_id is None or action not in ACTIONS:
        raise web.HTTPNotFound
    form = await request.post()
    async with dashboard.database.transaction() as session:
        control = _control(request, session)
        broadcast = await control.get(broadcast_id)
        if broadcast is None:
            raise web.HTTPNotFound
        if not allowed(request, broadcast, action):
            raise web.HTTPForbidden
        done = await _do(
            request,
            session=session,
            control=control,
            broadcast=broadcast,
            action=action,
            form=form,
        )
        await _audit(request, session, f"broadcast_{action}", broadcast)
    dashboard.outbox_ready()
    raise web.HTTPSeeOther(f"{PREFIX}/broadcasts/{broadcast_id}?done={done}")


async def _do(
    request: web.Request,
    *,
    session: Any,
    control: BroadcastControl,
    broadcast: Broadcast,
    action: str,
    form: Any,
) -> str:
    actor = _actor(request)
    if action == "test":
        linked = await StaffAccounts(session).identities(visitor_of(request).account.id)
        if not linked:
            return "not_linked"
        first = linked[0]
        # A chat account's private chat with the bot has the account's own id.
        return control.test_send(broadcast, channel=first.channel, chat_id=first.user_id).result
    if action == "schedule":
        raw = str(form.get("scheduled_at", "")).strip()
        try:
            at = datetime.fromisoformat(raw).replace(tzinfo=dashboard_of(request).zone)
        except ValueError:
            return "bad_time"
        return (await control.schedule(broadcast, at=at)).result
    operations = {
        "send": lambda: control.send(broadcast, actor=actor),
        "approve": lambda: control.approve(broadcast, actor=actor),
        "pause": lambda: control.pause(broadcast),
        "resume": lambda: control.resume(broadcast),
        "cancel": lambda: control.cancel(broadcast),
    }
    outcome = await operations[action]()
    return outcome.result.value if isinstance(outcome.result, Result) else str(outcome.result)


__all__ = ["add_routes", "allowed"]
