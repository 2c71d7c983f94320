"""Fake platform servers that the bot talks to unmodified, over HTTP on 127.0.0.1."""

from tests.fakes.telegram_api import FakeTelegramAPI, TelegramFault

__all__ = ["FakeTelegramAPI", "TelegramFault"]
