"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage import leads, models

__all__ = ["leads", "models"]
