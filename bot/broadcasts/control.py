"""What staff do with a broadcast, whatever the door (staff chat, dashboard, command line):
compose, count, preview, test-send, send or submit for approval, approve, schedule, pause,
resume, cancel, see progress.

Every action returns an outcome word that the caller turns into its own message
(``broadcasts/staff_result.j2`` in the staff chat), and never commits: the caller's
transaction does, so a broadcast is started exactly when its rows are materialised.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.broadcasts.compose import BroadcastTemplateError, Button, Composer
from bot.broadcasts.notices import queue, report_targets
from bot.broadcasts.transport import ATTACHMENT_KINDS
from bot.core.messages import OutboundMessage
from bot.core.texts import Texts
from storage.models.broadcasts import EDITABLE_STATUSES, Broadcast, BroadcastStatus
from storage.repositories import PUSH_CHANNELS, Audience, Broadcasts, Progress


class Result(StrEnum):
    """What an action did, for the caller's reply."""

    CREATED = "created"
    UNKNOWN = "unknown"
    EMPTY = "empty"
    BAD_TEMPLATE = "bad_template"
    STARTED = "started"
    APPROVAL_NEEDED = "approval_needed"
    OWN_APPROVAL = "own_approval"
    NO_AUDIENCE = "no_audience"
    TEST_SENT = "test_sent"
    PAUSED = "paused"
    RESUMED = "resumed"
    CANCELLED = "cancelled"
    SCHEDULED = "scheduled"
    WRONG_STATE = "wrong_state"


@dataclass(frozen=True, slots=True)
class Draft:
    """What staff wrote: the text, the audience, optional buttons, file and schedule."""

    body: str
    audience: Audience = field(default_factory=Audience)
    title: str = ""
    buttons: tuple[Button, ...] = ()
    attachment_kind: str = ""
    attachment: str = ""
    scheduled_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Result
    broadcast: Broadcast | None = None
    count: int = 0
    error: str = ""


def _province_communes(codes: Sequence[str]) -> tuple[str, ...]:
    from vietnam_provinces import Ward

    wanted = {int(code) for code in codes if code.isdigit()}
    return tuple(str(ward.code) for ward in Ward.iter_all() if int(ward.province_code) in wanted)


async def resolve(audience: Audience) -> Audience:
    """Expand provinces to their wards (the leads store the ward's code)."""
    if not audience.provinces:
        return audience
    communes = await asyncio.to_thread(_province_communes, audience.provinces)
    return replace(audience, province_communes=communes)


class BroadcastControl:
    """Staff actions on broadcasts inside the caller's transaction."""

    def __init__(
        self,
        session: AsyncSession,
        *,
        texts: Texts,
        now: datetime,
        approval_required: bool = False,
        channels: Sequence[str] = PUSH_CHANNELS,
    ) -> None:
        self.session = session
        self.repo = Broadcasts(session)
        self._texts = texts
        self._composer = Composer(texts)
        self._now = now
        self._approval_required = approval_required
        self._channels = tuple(channels)

    async def get(self, broadcast_id: int) -> Broadcast | None:
        return await self.repo.get(broadcast_id, lock=True)

    async def count(self, audience: Audience) -> int:
        return await self.repo.count_audience(
            await resolve(audience), now=self._now, channels=self._channels
        )

    def check(self, draft: Draft) -> str | None:
        """Why ``draft`` cannot be sent as it is (for the author), or None."""
        try:
            self._composer.check(draft.body, with_attachment=bool(draft.attachment_kind))
        except BroadcastTemplateError as exc:
            return str(exc)
        if draft.attachment_kind and draft.attachment_kind not in ATTACHMENT_KINDS:
            return draft.attachment_kind
        return None

    async def compose(self, draft: Draft, *, created_by: str, report_to: str = "") -> Outcome:
        if not draft.body.strip():
            return Outcome(Result.EMPTY)
        error = self.check(draft)
        if error is not None:
            return Outcome(Result.BAD_TEMPLATE, error=error)
        broadcast = await self.repo.create(
            body=draft.body,
            audience=draft.audience,
            created_by=created_by,
            now=self._now,
            title=draft.title or draft.body.strip().splitlines()[0][:80],
            buttons=[button.to_dict() for button in draft.buttons],
            attachment_kind=draft.attachment_kind,
            attachment=draft.attachment,
            report_to=report_to,
            scheduled_at=draft.scheduled_at,
        )
        count = await self.count(draft.audience)
        return Outcome(Result.CREATED, broadcast, count=count)

    async def preview(self, broadcast: Broadcast) -> tuple[OutboundMessage, bool]:
        """The message as a real recipient will see it (True), or with stand-in values."""
        audience = await resolve(Audience.from_dict(broadcast.audience))
        sample = await self.repo.sample_recipient(audience, now=self._now, channels=self._channels)
        name = ward = ""
        if sample is not None:
            name, ward = (await self.repo.recipient_details([sample.person_id])).get(
                sample.person_id, ("", "")
            )
        return self.message(broadcast, name=name, ward=ward), sample is not None

    def message(self, broadcast: Broadcast, *, name: str = "", ward: str = "") -> OutboundMessage:
        buttons = [Button.from_dict(button) for button in broadcast.buttons]
        return self._composer.message(broadcast.id, broadcast.body, buttons, name=name, ward=ward)

    def test_send(self, broadcast: Broadcast, *, channel: str, chat_id: str) -> Outcome:
        """Queue the message, filled with stand-in values, to the author's own chat."""
        message = self.message(broadcast)
        self._queue(channel, chat_id, message, broadcast.id)
        return Outcome(Result.TEST_SENT, broadcast)

    async def send(self, broadcast: Broadcast, *, actor: str) -> Outcome:
        """Start now (or at its scheduled time), or wait for a second staff member."""
        if broadcast.status not in EDITABLE_STATUSES:
            return Outcome(Result.WRONG_STATE, broadcast)
        if self._approval_required:
            broadcast.status = BroadcastStatus.AWAITING_APPROVAL
            await self.session.flush()
            return Outcome(Result.APPROVAL_NEEDED, broadcast)
        return await self._start(broadcast, approved_by=actor)

    async def approve(self, broadcast: Broadcast, *, actor: str) -> Outcome:
        if broadcast.status != BroadcastStatus.AWAITING_APPROVAL:
            return Outcome(Result.WRONG_STATE, broadcast)
        if actor == broadcast.created_by:
            return Outcome(Result.OWN_APPROVAL, broadcast)
        return await self._start(broadcast, approved_by=actor)

    async def _start(self, broadcast: Broadcast, *, approved_by: str) -> Outcome:
        audience = await resolve(Audience.from_dict(broadcast.audience))
        if await self.repo.count_audience(audience, now=self._now, channels=self._channels) == 0:
            return Outcome(Result.NO_AUDIENCE, broadcast)
        count = await self.repo.materialise(
            broadcast, audience, now=self._now, approved_by=approved_by, channels=self._channels
        )
        return Outcome(Result.STARTED, broadcast, count=count)

    async def schedule(self, broadcast: Broadcast, *, at: datetime) -> Outcome:
        if broadcast.status not in EDITABLE_STATUSES:
            return Outcome(Result.WRONG_STATE, broadcast)
        broadcast.scheduled_at = at
        await self.session.flush()
        return Outcome(Result.SCHEDULED, broadcast)

    async def pause(self, broadcast: Broadcast) -> Outcome:
        if broadcast.status != BroadcastStatus.RUNNING:
            return Outcome(Result.WRONG_STATE, broadcast)
        await self.repo.set_status(
            broadcast, BroadcastStatus.PAUSED, now=self._now, reason="staff"
        )
        return Outcome(Result.PAUSED, broadcast)

    async def resume(self, broadcast: Broadcast) -> Outcome:
        if broadcast.status != BroadcastStatus.PAUSED:
            return Outcome(Result.WRONG_STATE, broadcast)
        await self.repo.set_status(broadcast, BroadcastStatus.RUNNING, now=self._now)
        return Outcome(Result.RESUMED, broadcast)

    async def cancel(self, broadcast: Broadcast) -> Outcome:
        if broadcast.status in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED):
            return Outcome(Result.WRONG_STATE, broadcast)
        await self.repo.set_status(broadcast, BroadcastStatus.CANCELLED, now=self._now)
        return Outcome(Result.CANCELLED, broadcast)

    async def progress(self, broadcast: Broadcast) -> Progress:
        return await self.repo.progress(broadcast)

    def targets(
        self, broadcast: Broadcast, staff_targets: Sequence[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        return report_targets(broadcast, staff_targets)

    def _queue(self, channel: str, chat_id: str, message: OutboundMessage, topic_id: int) -> None:
        queue(self.session, [(channel, chat_id)], message, now=self._now, broadcast_id=topic_id)


__all__ = ["BroadcastControl", "Draft", "Outcome", "Result", "resolve"]
