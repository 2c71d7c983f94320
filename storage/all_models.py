"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage import leads, models, staff, understanding

__all__ = ["leads", "models", "staff", "understanding"]
