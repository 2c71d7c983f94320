"""Understanding Vietnamese typed with or without diacritics."""

from bot.nlu.normalize import fold, normalize

__all__ = ["fold", "normalize"]
