"""The channel registry: every channel the runtime may build, one line each.

A channel whose settings leave it off (no token) builds to None and is skipped.
"""

from __future__ import annotations

from typing import Any, Final

from bot.channels import telegram, webchat, zalo_bot, zalo_oa
from bot.channels.base import ChannelPlugin

#: Built by ``khuyencong serve``, in this order (the console only under ``khuyencong chat``).
CHANNELS: Final[tuple[ChannelPlugin[Any], ...]] = (
    telegram.PLUGIN,
    webchat.PLUGIN,
    zalo_oa.PLUGIN,
    zalo_bot.PLUGIN,
)
