"""Repositories for leads, consents, subscriptions and hand-offs (they never commit)."""

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
from storage.repositories.subscriptions import TOPIC_ALL, Subscriptions

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
    "DeliveryOutcome",
    "ErasureReport",
    "Handoffs",
    "LeadFields",
    "Leads",
    "Outcome",
    "Progress",
    "Recipient",
    "Report",
    "Submission",
    "Subscriptions",
    "anonymise_leads",
    "erase_person",
    "handoff_topic",
    "support_key",
]
