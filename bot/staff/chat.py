"""Staff tools in the staff chat: who is speaking, and the lead commands and buttons.

A chat member is staff only once their chat account is linked to a staff account
(``/lienket CODE`` with a code from the dashboard); every command and button is then
checked against that account's role and scope, and written to the audit log like a
dashboard action (``via`` = the channel).

* ``/leads``: new leads, then open leads assigned to me;
* ``/lead CODE``: the lead card with buttons (assign to me, contacted, eligible, not
  eligible, add note);
* ``/tim TEXT``: search by phone, name, facility or code.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import select

from bot.core.flow import FlowContext
from bot.core.messages import Choice, InboundEvent, OutboundMessage
from bot.leads.catalogue import load_statuses
from bot.leads.codes import parse_lead_code
from bot.leads.views import lead_view
from bot.staff import credentials
from bot.staff.actions import NotAllowedError, StaffDesk
from bot.staff.scope import Scope
from storage.models.leads import FINAL_STATUSES, Lead, LeadStatus
from storage.models.staff import fold_search
from storage.repositories.staff import AuditLog, StaffAccounts

CMD_LINK = "lienket"
CMD_LEADS = "leads"
CMD_LEAD = "lead"
CMD_SEARCH = "tim"
COMMANDS = frozenset({CMD_LEADS, CMD_LEAD, CMD_SEARCH})
CHOICE_PREFIX = "staff:"
LIST_LIMIT = 10
#: Statuses offered as buttons on a lead card, in order.
CARD_STATUSES = (LeadStatus.CONTACTED, LeadStatus.ELIGIBLE, LeadStatus.NOT_ELIGIBLE)


async def staff_scope(ctx: FlowContext, event: InboundEvent) -> Scope | None:
    """The sender's staff scope, or None when their chat account is not linked."""
    account = await StaffAccounts(ctx.session).by_identity(
        channel=event.channel, user_id=event.user_id
    )
    return Scope.of(account) if account is not None else None


def desk(ctx: FlowContext, scope: Scope, event: InboundEvent) -> StaffDesk:
    return StaffDesk(
        session=ctx.session,
        scope=scope,
        via=event.channel,
        now=ctx.now,
        texts=ctx.texts,
        statuses=ctx.content.get(load_statuses),
        notify=ctx.notify,
    )


async def audit(
    ctx: FlowContext,
    event: InboundEvent,
    scope: Scope,
    action: str,
    *,
    entity: str,
    entity_id: str,
) -> None:
    """Record a chat action that is not a lead change (those audit themselves)."""
    await AuditLog(ctx.session).record(
        actor=scope.username,
        account_id=scope.account_id,
        via=event.channel,
        action=action,
        entity=entity,
        entity_id=entity_id,
        now=ctx.now,
    )


def _say(ctx: FlowContext, template: str, **values: object) -> list[OutboundMessage]:
    return [OutboundMessage(text=ctx.texts.render(template, **values))]


async def link(ctx: FlowContext, event: InboundEvent, code: str) -> list[OutboundMessage]:
    accounts = StaffAccounts(ctx.session)
    account = await accounts.use_link_code(
        digest=credentials.digest(code.strip()),
        channel=event.channel,
        user_id=event.user_id,
        now=ctx.now,
    )
    if account is None:
        return _say(ctx, "staff/link_invalid")
    await AuditLog(ctx.session).record(
        actor=account.username,
        account_id=account.id,
        via=event.channel,
        action="link",
        entity="staff",
        entity_id=account.username,
        after={"channel": event.channel},
        now=ctx.now,
    )
    return _say(ctx, "staff/linked", officer=account.display_name or account.username)


async def command(
    ctx: FlowContext, event: InboundEvent, scope: Scope, name: str
) -> list[OutboundMessage]:
    if name == CMD_LEADS:
        return await _list(ctx, scope)
    if name == CMD_LEAD:
        return await card(ctx, event, scope, event.args.strip())
    return await _search(ctx, scope, event.args.strip())


async def _list(ctx: FlowContext, scope: Scope) -> list[OutboundMessage]:
    base = scope.restrict(select(Lead).where(Lead.anonymised_at.is_(None)))
    new = list(
        (
            await ctx.session.execute(
                base.where(Lead.status == LeadStatus.NEW)
                .order_by(Lead.created_at.desc(), Lead.id.desc())
                .limit(LIST_LIMIT)
            )
        ).scalars()
    )
    mine = list(
        (
            await ctx.session.execute(
                base.where(
                    Lead.assignee_id == scope.account_id,
                    Lead.status.not_in([s.value for s in FINAL_STATUSES]),
                )
                .order_by(Lead.last_activity_at.desc(), Lead.id.desc())
                .limit(LIST_LIMIT)
            )
        ).scalars()
    )
    return _say(ctx, "staff/leads_list", new=_views(ctx, new), mine=_views(ctx, mine))


def _views(ctx: FlowContext, leads: list[Lead]) -> list[object]:
    statuses = ctx.content.get(load_statuses)
    zone = ctx.now.tzinfo or UTC
    return [lead_view(lead, texts=ctx.texts, statuses=statuses, zone=zone) for lead in leads]


async def _search(ctx: FlowContext, scope: Scope, typed: str) -> list[OutboundMessage]:
    folded = fold_search(typed).strip()
    if len(folded) < 2:
        return _say(ctx, "staff/search_usage")
    query = (
        scope.restrict(select(Lead).where(Lead.anonymised_at.is_(None)))
        .where(Lead.search_text.contains(folded, autoescape=True))
        .order_by(Lead.created_at.desc(), Lead.id.desc())
        .limit(LIST_LIMIT)
    )
    found = list((await ctx.session.execute(query)).scalars())
    return _say(ctx, "staff/search_results", typed=typed, leads=_views(ctx, found))


async def card(
    ctx: FlowContext, event: InboundEvent, scope: Scope, typed: str, *, done: str = ""
) -> list[OutboundMessage]:
    code = parse_lead_code(typed)
    try:
        lead = await desk(ctx, scope, event).lead_by_code(code) if code else None
    except NotAllowedError:
        lead = None
    if lead is None:
        return _say(ctx, "staff/lead_unknown", code=typed)
    return [_card(ctx, lead, done=done)]


def _card(ctx: FlowContext, lead: Lead, *, done: str = "") -> OutboundMessage:
    [view] = _views(ctx, [lead])
    text = ctx.texts.render("staff/lead_card", lead=view, done=done)
    choices = [Choice(f"{CHOICE_PREFIX}mine:{lead.id}", ctx.texts.label("staff.action.assign_me"))]
    choices += [
        Choice(
            f"{CHOICE_PREFIX}st:{lead.id}:{status.value}",
            ctx.texts.label(f"staff.action.{status.value}"),
        )
        for status in CARD_STATUSES
    ]
    choices.append(Choice(f"{CHOICE_PREFIX}note:{lead.id}", ctx.texts.label("staff.action.note")))
    return OutboundMessage(text=text, choices=tuple(choices), columns=2)


async def choice(ctx: FlowContext, event: InboundEvent, scope: Scope) -> list[OutboundMessage]:
    """A lead card button: ``staff:mine:<id>``, ``staff:st:<id>:<status>``, ``staff:note:<id>``"""
    parts = event.text.removeprefix(CHOICE_PREFIX).split(":")
    if len(parts) < 2 or not parts[1].isdigit():
        return []
    action, lead_id = parts[0], int(parts[1])
    officer = desk(ctx, scope, event)
    try:
        lead = await officer.lead(lead_id)
    except NotAllowedError:
        return _say(ctx, "staff/lead_unknown", code=str(lead_id))
    if action == "mine":
        account = await StaffAccounts(ctx.session).get(scope.account_id)
        await officer.assign(lead, account)
        return [_card(ctx, lead, done="assigned")]
    if action == "st" and len(parts) == 3:
        try:
            status = LeadStatus(parts[2])
        except ValueError:
            return []
        notified = await officer.set_status(lead, status)
        return [_card(ctx, lead, done="notified" if notified else "status")]
    if action == "note":
        return _say(ctx, "staff/note_how", code=lead.code)
    return []
