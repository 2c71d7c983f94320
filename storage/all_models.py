"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage.models import channels, core, leads, staff, understanding

__all__ = ["channels", "core", "leads", "staff", "understanding"]
