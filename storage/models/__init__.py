"""The ORM models (tables), one module per area: ``core`` (people, channel identities,
conversation state, processed events, message log, outbox) and ``leads`` (leads and their
history, consents, subscriptions, hand-offs). Repositories live in ``storage.repositories``.
"""

from storage.models.core import (
    CHANNEL_LENGTH,
    Base,
    ChannelIdentity,
    ConversationState,
    MessageLog,
    OutboxMessage,
    Person,
    ProcessedEvent,
)
from storage.models.leads import (
    FINAL_STATUSES,
    AppendOnlyError,
    Consent,
    ConsentAction,
    Handoff,
    HandoffStatus,
    Lead,
    LeadHistory,
    LeadStatus,
    Subscription,
)
from storage.models.understanding import UnplacedMessage

__all__ = [
    "CHANNEL_LENGTH",
    "FINAL_STATUSES",
    "AppendOnlyError",
    "Base",
    "ChannelIdentity",
    "Consent",
    "ConsentAction",
    "ConversationState",
    "Handoff",
    "HandoffStatus",
    "Lead",
    "LeadHistory",
    "LeadStatus",
    "MessageLog",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "Subscription",
    "UnplacedMessage",
]
