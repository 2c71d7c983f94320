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
#: The flow that shows the full notice (``privacy:notice:<flow>``).
NOTICE_FLOW: Final = "privacy"
#: Chat platforms named in the notice, by channel name, when they run (their servers carry
#: the owner's messages; the web chat is the Center's own server).
PLATFORM_NAMES: Final = {"telegram": "Telegram", "zalo_oa": "Zalo", "zalo_bot": "Zalo"}


def lead_notice(ctx: FlowContext) -> ConsentNotice:
    return ctx.content.get(load_notices).lead


def notice_text(ctx: FlowContext, *, full: bool = False) -> str:
    """The one-screen notice, or (``full``) every detail of it when the content has them."""
    notice = lead_notice(ctx)
    source = notice.details if full and notice.details else notice.text
    retention_months = max(1, ctx.settings.lead_retention_days // DAYS_PER_MONTH)
    return ctx.texts.render_string(
        source, retention_months=retention_months, platforms=chat_platforms(ctx)
    )


def chat_platforms(ctx: FlowContext) -> list[str]:
    """The chat apps this bot runs on whose servers carry the owner's messages: only those
    running are named (the web chat is the Center's own server)."""
    named = (PLATFORM_NAMES[name] for name in sorted(ctx.channels) if name in PLATFORM_NAMES)
    return list(dict.fromkeys(named))  # Zalo once, even when both Zalo channels run


async def has_consent(ctx: FlowContext) -> bool:
    """True when the person agreed to the notice version in force (and did not withdraw)."""
    return await ctx.repos.consents.has_consent(
        ctx.identity.person_id, PURPOSE_LEAD, lead_notice(ctx).version
    )


def consent_request(ctx: FlowContext, flow: str, *, full: bool = False) -> OutboundMessage:
    """The notice with two equal buttons; nothing is pre-selected or assumed. The short
    notice offers the full one ("Xem thêm"), which carries the same two buttons."""
    choices = [
        Choice(f"{flow}:{CONSENT_ACTION}:{AGREE}", ctx.texts.label("privacy.agree")),
        Choice(f"{flow}:{CONSENT_ACTION}:{REFUSE}", ctx.texts.label("privacy.disagree")),
    ]
    if not full and lead_notice(ctx).details:
        choices.append(Choice(f"{NOTICE_FLOW}:notice:{flow}", ctx.texts.label("privacy.more")))
    return OutboundMessage(text=notice_text(ctx, full=full), choices=tuple(choices), columns=2)


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
