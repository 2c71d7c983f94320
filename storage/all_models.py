"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage.models import broadcasts, channels, core, leads, staff, understanding

__all__ = ["broadcasts", "channels", "core", "leads", "staff", "understanding"]
