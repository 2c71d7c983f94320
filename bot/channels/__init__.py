"""Channel adapters: each maps one platform to and from the neutral message model."""

from bot.channels.base import Channel, SendResult, SendStatus

__all__ = ["Channel", "SendResult", "SendStatus"]
