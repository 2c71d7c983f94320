"""Persistence: SQLAlchemy 2 async models, repositories and Alembic migrations."""

from storage.database import Database
from storage.migrate import pending_revisions, upgrade
from storage.models import (
    Base,
    ChannelIdentity,
    ConversationState,
    MessageLog,
    OutboxMessage,
    Person,
    ProcessedEvent,
)

__all__ = [
    "Base",
    "ChannelIdentity",
    "ConversationState",
    "Database",
    "MessageLog",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "pending_revisions",
    "upgrade",
]
