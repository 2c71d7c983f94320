"""Repositories for leads, consents, subscriptions and hand-offs (they never commit)."""

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories.audience import PUSH_CHANNELS, Audience
from storage.repositories.broadcasts import (
    Broadcasts,
    Claim,
    ClaimedDelivery,
    DeliveryOutcome,
    Progress,
    Recipient,
    Report,
)
from storage.repositories.consents import PURPOSE_LEAD, SUBSCRIBE_PREFIX, Consents
from storage.repositories.conversations import Conversations
from storage.repositories.erasure import ErasureReport, anonymise_leads, erase_person
from storage.repositories.handoffs import HANDOFF_TOPIC_PREFIX, Handoffs, handoff_topic
from storage.repositories.leads import (
    ACTOR_OWNER,
    ACTOR_SYSTEM,
    CORRECTABLE_FIELDS,
    PERSONAL_FIELDS,
    LeadFields,
    Leads,
    Outcome,
    Submission,
    support_key,
)
from storage.repositories.links import LinkOutcome, Links
from storage.repositories.subscriptions import TOPIC_ALL, Subscriptions
from storage.repositories.understanding import Unplaced


class Repositories:
    """Every repository on one session (a step's transaction): ``ctx.repos.leads``…"""

    __slots__ = ("consents", "handoffs", "leads", "links", "session", "subscriptions", "unplaced")

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.leads = Leads(session)
        self.consents = Consents(session)
        self.handoffs = Handoffs(session)
        self.subscriptions = Subscriptions(session)
        self.links = Links(session)
        self.unplaced = Unplaced(session)


__all__ = [
    "ACTOR_OWNER",
    "ACTOR_SYSTEM",
    "CORRECTABLE_FIELDS",
    "HANDOFF_TOPIC_PREFIX",
    "PERSONAL_FIELDS",
    "PURPOSE_LEAD",
    "PUSH_CHANNELS",
    "SUBSCRIBE_PREFIX",
    "TOPIC_ALL",
    "Audience",
    "Broadcasts",
    "Claim",
    "ClaimedDelivery",
    "Consents",
    "Conversations",
    "DeliveryOutcome",
    "ErasureReport",
    "Handoffs",
    "LeadFields",
    "Leads",
    "LinkOutcome",
    "Links",
    "Outcome",
    "Progress",
    "Recipient",
    "Report",
    "Repositories",
    "Submission",
    "Subscriptions",
    "Unplaced",
    "anonymise_leads",
    "erase_person",
    "handoff_topic",
    "support_key",
]
