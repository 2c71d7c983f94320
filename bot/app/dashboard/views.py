"""Dashboard pages and actions: the lead list, a lead, bulk actions, exports, statistics,
the audit log and linking a chat account. Every lead read goes through the officer's
:class:`~bot.staff.scope.Scope`; a lead outside it answers 404, as if it did not exist.
"""

from __future__ import annotations

import asyncio
import csv
import io
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import select

from bot.app.dashboard.state import PREFIX, Dashboard, dashboard_of, visitor_of
from bot.leads.views import lead_view
from bot.staff import leadlist, stats
from bot.staff.accounts import new_link_code
from bot.staff.actions import NotAllowedError, OwnerUnreachableError, StaffDesk
from bot.staff.export import csv_stream, header, rows, write_xlsx
from storage.models import MessageLog
from storage.models.leads import LeadStatus
from storage.models.staff import VERDICT_ORDER
from storage.repositories import Consents, Handoffs, Leads
from storage.repositories.staff import AuditLog, StaffAccounts

TRANSCRIPT_LIMIT = 200
AUDIT_PAGE = 100
MAX_BULK = 500
CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _html(text: str, *, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", charset="utf-8")


def _not_found(request: web.Request) -> web.Response:
    return _html(dashboard_of(request).pages.render("refused", reason="not_found"), status=404)


def _common(request: web.Request, **values: Any) -> dict[str, Any]:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    return {
        "me": visitor.scope,
        "csrf": visitor.csrf,
        "statuses": list(dashboard.statuses.by_status.values()),
        "verdicts": VERDICT_ORDER,
        "path": request.path,
        **values,
    }


async def index(_request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/leads")


def _filter(request: web.Request) -> leadlist.LeadFilter:
    return leadlist.LeadFilter.from_query(request.query, request.query.getall("status", []))


async def leads_page(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    scope = visitor_of(request).scope
    flt = _filter(request)
    async with dashboard.database.transaction() as session:
        found = await leadlist.page(session, flt, scope, zone=dashboard.zone)
        names = await StaffAccounts(session).names()
        staff = await StaffAccounts(session).all(active_only=True)
    views = [(lead, _view(dashboard, lead)) for lead in found.leads]
    return _html(
        dashboard.pages.render(
            "leads",
            **_common(
                request,
                flt=flt,
                page=found,
                rows=views,
                names=names,
                staff=staff,
                channels=dashboard.channels,
                query=flt.query_string(),
                next_query=flt.next_page(found.next_cursor) if found.next_cursor else "",
                done=request.query.get("done", ""),
            ),
        )
    )


def _view(dashboard: Dashboard, lead: Any) -> Any:
    return lead_view(lead, texts=dashboard.texts, statuses=dashboard.statuses, zone=dashboard.zone)


def _lead_id(request: web.Request) -> int | None:
    raw = request.match_info.get("lead_id", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


async def lead_page(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    lead_id = _lead_id(request)
    if lead_id is None:
        return _not_found(request)
    async with dashboard.database.transaction() as session:
        desk = _desk(request, session)
        try:
            lead = await desk.lead(lead_id)
        except NotAllowedError:
            return _not_found(request)
        history = await Leads(session).history(lead.id)
        consents = await Consents(session).for_person(lead.person_id) if lead.person_id else []
        transcript: list[MessageLog] = []
        handoff = None
        if lead.identity_id is not None:
            query = (
                select(MessageLog)
                .where(MessageLog.identity_id == lead.identity_id)
                .order_by(MessageLog.id.desc())
                .limit(TRANSCRIPT_LIMIT)
            )
            transcript = list(reversed(list((await session.execute(query)).scalars())))
            handoff = await Handoffs(session).open_for(lead.identity_id)
        audit = await AuditLog(session).for_entity("lead", lead.code or str(lead.id))
        names = await StaffAccounts(session).names()
        staff = await StaffAccounts(session).all(active_only=True)
        view = _view(dashboard, lead)
    eligibility = lead.eligibility or {}
    return _html(
        dashboard.pages.render(
            "lead",
            **_common(
                request,
                lead=lead,
                view=view,
                verdicts_detail=[
                    v for v in eligibility.get("verdicts") or [] if isinstance(v, dict)
                ],
                answers=eligibility.get("answers")
                if isinstance(eligibility.get("answers"), dict)
                else {},
                evaluated_on=str(eligibility.get("evaluated_on", "")),
                history=history,
                consents=consents,
                transcript=transcript,
                handoff=handoff,
                audit=audit,
                names=names,
                staff=staff,
                done=request.query.get("done", ""),
                reachable=lead.identity_id is not None,
                is_me=visitor.account.id,
            ),
        )
    )


def _desk(request: web.Request, session: Any) -> StaffDesk:
    dashboard = dashboard_of(request)
    return StaffDesk(
        session=session,
        scope=visitor_of(request).scope,
        via="web",
        now=dashboard.clock(),
        texts=dashboard.texts,
        statuses=dashboard.statuses,
    )


async def lead_action(request: web.Request) -> web.StreamResponse:
    """POST /leads/{id}/{action}: status, assign, note or reply; back to the lead page."""
    dashboard = dashboard_of(request)
    lead_id = _lead_id(request)
    action = request.match_info.get("action", "")
    if lead_id is None:
        return _not_found(request)
    form = await request.post()
    done = action
    async with dashboard.database.transaction() as session:
        desk = _desk(request, session)
        try:
            lead = await desk.lead(lead_id)
        except NotAllowedError:
            return _not_found(request)
        if action == "status":
            status = _status(str(form.get("status", "")))
            if status is None:
                raise web.HTTPBadRequest
            if await desk.set_status(lead, status, note=str(form.get("note", ""))):
                done = "status_notified"
        elif action == "assign":
            account = await _assignee(session, str(form.get("assignee", "")), request)
            try:
                await desk.assign(lead, account)
            except NotAllowedError:
                raise web.HTTPBadRequest from None
        elif action == "note":
            await desk.add_note(lead, str(form.get("note", "")))
        elif action == "reply":
            try:
                await desk.reply(lead, str(form.get("text", "")))
            except OwnerUnreachableError:
                done = "unreachable"
        else:
            return _not_found(request)
    dashboard.outbox_ready()
    raise web.HTTPSeeOther(f"{PREFIX}/leads/{lead_id}?done={done}")


def _status(raw: str) -> LeadStatus | None:
    try:
        return LeadStatus(raw)
    except ValueError:
        return None


async def _assignee(session: Any, raw: str, request: web.Request) -> Any:
    if raw in {"", leadlist.UNASSIGNED}:
        return None
    if raw == leadlist.MINE:
        raw = str(visitor_of(request).account.id)
    if not raw.isdigit():
        raise web.HTTPBadRequest
    account = await StaffAccounts(session).get(int(raw))
    if account is None:
        raise web.HTTPBadRequest
    return account


async def bulk(request: web.Request) -> web.StreamResponse:
    """Assign or change the status of the leads ticked in the list."""
    dashboard = dashboard_of(request)
    form = await request.post()
    ids = [int(v) for v in form.getall("lead", []) if isinstance(v, str) and v.isdigit()]
    action = str(form.get("action", ""))
    back = str(form.get("back", ""))
    back_query = back if back and "\n" not in back and "\r" not in back else ""
    changed = 0
    async with dashboard.database.transaction() as session:
        desk = _desk(request, session)
        status = _status(str(form.get("status", ""))) if action == "status" else None
        account = (
            await _assignee(session, str(form.get("assignee", "")), request)
            if action == "assign"
            else None
        )
        if action not in {"status", "assign"} or (action == "status" and status is None):
            raise web.HTTPBadRequest
        for lead_id in ids[:MAX_BULK]:
            try:
                lead = await desk.lead(lead_id)
            except NotAllowedError:
                continue
            if status is not None:
                await desk.set_status(lead, status)
            else:
                await desk.assign(lead, account)
            changed += 1
    dashboard.outbox_ready()
    separator = "&" if back_query else ""
    raise web.HTTPSeeOther(f"{PREFIX}/leads?{back_query}{separator}done=bulk{changed}")


async def export(request: web.Request) -> web.StreamResponse:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    fmt = request.match_info.get("fmt", "")
    flt = _filter(request)
    query = leadlist.filtered(flt, visitor.scope, zone=dashboard.zone)
    async with dashboard.database.transaction() as session:
        names = await StaffAccounts(session).names()
        await AuditLog(session).record(
            actor=visitor.scope.username,
            account_id=visitor.account.id,
            via="web",
            action=f"export_{fmt}",
            entity="lead",
            after={"filter": flt.query_string()},
            now=dashboard.clock(),
        )
    head = header(dashboard.texts)
    batches = rows(
        dashboard.database,
        query,
        texts=dashboard.texts,
        statuses=dashboard.statuses,
        zone=dashboard.zone,
        names=names,
    )
    stamp = dashboard.clock().astimezone(dashboard.zone).strftime("%Y%m%d-%H%M")
    if fmt == "csv":
        response = web.StreamResponse(
            headers={
                "Content-Type": f"{CSV_TYPE}; charset=utf-8",
                "Content-Disposition": f'attachment; filename="leads-{stamp}.csv"',
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        stream = csv_stream(
            dashboard.database,
            query,
            texts=dashboard.texts,
            statuses=dashboard.statuses,
            zone=dashboard.zone,
            names=names,
        )
        async for chunk in stream:
            await response.write(chunk)
        await response.write_eof()
        return response
    if fmt != "xlsx":
        return _not_found(request)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "leads.xlsx"
        await write_xlsx(out, head, batches, texts=dashboard.texts)
        response = web.StreamResponse(
            headers={
                "Content-Type": XLSX_TYPE,
                "Content-Disposition": f'attachment; filename="leads-{stamp}.xlsx"',
                "Cache-Control": "no-store",
            }
        )
        await response.prepare(request)
        with out.open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, 256 * 1024):
                await response.write(chunk)
        await response.write_eof()
        return response


async def stats_page(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    scope = visitor_of(request).scope
    async with dashboard.database.transaction() as session:
        figures = await stats.statistics(
            session, scope, now=dashboard.clock(), zone=dashboard.zone
        )
    return _html(dashboard.pages.render("stats", **_common(request, figures=figures)))


def _admin_only(request: web.Request) -> None:
    if not visitor_of(request).scope.is_admin:
        raise web.HTTPNotFound


async def audit_page(request: web.Request) -> web.Response:
    _admin_only(request)
    dashboard = dashboard_of(request)
    raw = request.query.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 12 else None
    async with dashboard.database.transaction() as session:
        events = await AuditLog(session).page(before_id=before, limit=AUDIT_PAGE + 1)
    more = len(events) > AUDIT_PAGE
    events = events[:AUDIT_PAGE]
    return _html(
        dashboard.pages.render(
            "audit",
            **_common(request, events=events, older=events[-1].id if more and events else None),
        )
    )


async def audit_export(request: web.Request) -> web.StreamResponse:
    _admin_only(request)
    dashboard = dashboard_of(request)
    async with dashboard.database.transaction() as session:
        events = await AuditLog(session).everything()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    pages = dashboard.pages
    writer.writerow(
        [
            dashboard.texts.label(f"dashboard.audit.{c}")
            for c in ("at", "actor", "via", "action", "entity", "before", "after")
        ]
    )
    from bot.leads.export import neutralise

    for event in events:
        writer.writerow(
            [
                neutralise(value)
                for value in (
                    pages.moment(event.at),
                    event.actor,
                    event.via,
                    event.action,
                    f"{event.entity} {event.entity_id}".strip(),
                    _compact(event.before),
                    _compact(event.after),
                )
            ]
        )
    return web.Response(
        body=buffer.getvalue().encode("utf-8-sig"),
        headers={
            "Content-Type": f"{CSV_TYPE}; charset=utf-8",
            "Content-Disposition": 'attachment; filename="audit.csv"',
            "Cache-Control": "no-store",
        },
    )


def _compact(values: dict[str, Any]) -> str:
    return "; ".join(f"{key}={value}" for key, value in values.items())


async def link_page(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    async with dashboard.database.transaction() as session:
        linked = await StaffAccounts(session).identities(visitor.account.id)
    return _html(dashboard.pages.render("link", **_common(request, linked=linked, code="")))


async def link_post(request: web.Request) -> web.Response:
    dashboard = dashboard_of(request)
    visitor = visitor_of(request)
    code = await new_link_code(dashboard.database, visitor.account.id, now=dashboard.clock())
    async with dashboard.database.transaction() as session:
        linked = await StaffAccounts(session).identities(visitor.account.id)
    return _html(dashboard.pages.render("link", **_common(request, linked=linked, code=code)))
