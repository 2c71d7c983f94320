"""Broadcasts: staff announcements to the right owners, at each platform's pace.

Compose (``control``), fill per recipient (``compose``), send (``sender``, one per channel,
through a ``transport``), report (``notices``). Storage is ``storage.broadcasts`` and
``storage.repositories.broadcasts``.
"""

from bot.broadcasts.compose import BroadcastTemplateError, Button, Composer, click_id
from bot.broadcasts.policy import SendPolicy, parse_quiet_hours, policy_for
from bot.broadcasts.sender import BroadcastSender, SenderStats
from bot.broadcasts.transport import Attachment, BroadcastTransport, ChannelTransport

__all__ = [
    "Attachment",
    "BroadcastSender",
    "BroadcastTemplateError",
    "BroadcastTransport",
    "Button",
    "ChannelTransport",
    "Composer",
    "SendPolicy",
    "SenderStats",
    "click_id",
    "parse_quiet_hours",
    "policy_for",
]
