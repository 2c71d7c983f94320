"""Broadcasts: staff announcements to the right owners, at each platform's pace.

Compose (``control``), fill per recipient (``compose``), report (``notices``), the staff
chat's /broadcast (``staff_chat``), count button presses (``clicks``). The sender, one per
channel through a ``transport``, is ``bot.app.workers.broadcasts``. Storage is
``storage.models.broadcasts`` and ``storage.repositories.broadcasts``.
"""

from bot.broadcasts.compose import BroadcastTemplateError, Button, Composer, click_id
from bot.broadcasts.policy import SendPolicy, parse_quiet_hours, policy_for
from bot.broadcasts.transport import Attachment, BroadcastTransport, ChannelTransport

__all__ = [
    "Attachment",
    "BroadcastTemplateError",
    "BroadcastTransport",
    "Button",
    "ChannelTransport",
    "Composer",
    "SendPolicy",
    "click_id",
    "parse_quiet_hours",
    "policy_for",
]
