"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage.models import core, leads, staff, understanding

__all__ = ["core", "leads", "staff", "understanding"]
