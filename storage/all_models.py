"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage import leads, models, staff

__all__ = ["leads", "models", "staff"]
