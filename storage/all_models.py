"""Imports every model module so ``Base.metadata`` knows all tables (migrations, tests)."""

from storage import models

__all__ = ["models"]
