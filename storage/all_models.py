"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage import channels, leads, models

__all__ = ["channels", "leads", "models"]
