"""The consent gate, before a flow asks or stores anything personal (registration, hand-off).

Nothing personal is asked or stored before an explicit "Đồng ý" to the notice version in
force (Law 91/2025 Art. 9; Decree 356/2025: no pre-selected or implied consent), and each
answer is recorded as evidence.
"""

from __future__ import annotations

from typing import Final

from bot.core.flow import FlowContext
from bot.core.messages import Choice, OutboundMessage
from bot.leads.catalogue import ConsentNotice, load_notices
from handlers.common.navigation import menu_choice
from storage.models import ConsentAction
from storage.repositories import PURPOSE_LEAD

DAYS_PER_MONTH: Final = 30
#: The choice actions of the two answers: ``<flow>:consent:yes`` / ``<flow>:consent:no``.
CONSENT_ACTION: Final = "consent"
AGREE: Final = "yes"
REFUSE: Final = "no"


def lead_notice(ctx: FlowContext) -> ConsentNotice:
    return ctx.content.get(load_notices).lead


def notice_text(ctx: FlowContext) -> str:
    retention_months = max(1, ctx.settings.lead_retention_days // DAYS_PER_MONTH)
    return ctx.texts.render_string(lead_notice(ctx).text, retention_months=retention_months)


async def has_consent(ctx: FlowContext) -> bool:
    """True when the person agreed to the notice version in force (and did not withdraw)."""
    return await ctx.repos.consents.has_consent(
        ctx.identity.person_id, PURPOSE_LEAD, lead_notice(ctx).version
    )


def consent_request(ctx: FlowContext, flow: str) -> OutboundMessage:
    """The notice with two equal buttons; nothing is pre-selected or assumed."""
    return OutboundMessage(
        text=notice_text(ctx),
        choices=(
            Choice(f"{flow}:{CONSENT_ACTION}:{AGREE}", ctx.texts.label("privacy.agree")),
            Choice(f"{flow}:{CONSENT_ACTION}:{REFUSE}", ctx.texts.label("privacy.disagree")),
        ),
        columns=2,
    )


async def record_consent(ctx: FlowContext, action: ConsentAction) -> None:
    await ctx.repos.consents.record(
        ctx.identity.person_id,
        identity_id=ctx.identity.identity_id,
        channel=ctx.identity.channel,
        purpose=PURPOSE_LEAD,
        action=action,
        notice_version=lead_notice(ctx).version,
        now=ctx.now,
    )


def refusal_reply(ctx: FlowContext) -> OutboundMessage:
    """After "Không đồng ý": nothing stored, and the public parts of the bot stay open."""
    return OutboundMessage(
        text=ctx.texts.render("privacy/refused"),
        choices=(
            Choice("policies:start", ctx.texts.label("privacy.browse_policies")),
            Choice("eligibility:start", ctx.texts.label("privacy.check_eligibility")),
            menu_choice(ctx),
        ),
    )
