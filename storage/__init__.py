"""Persistence: SQLAlchemy 2 async models, repositories and Alembic migrations."""

# Staff tables, and the ORM events that keep the lead's derived columns in step: loaded
# with the package, so no code path writes a lead without them.
from storage.database import Database
from storage.migrate import MigrationError, ensure_current, pending_revisions, upgrade
from storage.models import (
    Base,
    ChannelIdentity,
    ConversationState,
    MessageLog,
    OutboxMessage,
    Person,
    ProcessedEvent,
)
from storage.models import staff as _staff  # noqa: F401

__all__ = [
    "Base",
    "ChannelIdentity",
    "ConversationState",
    "Database",
    "MessageLog",
    "MigrationError",
    "OutboxMessage",
    "Person",
    "ProcessedEvent",
    "ensure_current",
    "pending_revisions",
    "upgrade",
]
