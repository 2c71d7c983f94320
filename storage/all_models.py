"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage import broadcasts, leads, models, staff, understanding

__all__ = ["broadcasts", "leads", "models", "staff", "understanding"]
