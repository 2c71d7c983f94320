"""What staff do to a lead, from the dashboard or from chat: status, assignment, notes,
replies to the owner. Each call checks the scope, appends the lead history, writes the
audit log and, where the owner must hear of it, queues the message in the outbox, all in
the caller's transaction (so nothing is announced that was not committed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.messages import OutboundMessage, message_to_dict
from bot.core.texts import Texts
from bot.leads.catalogue import Statuses
from bot.staff.scope import Scope
from storage.models import ChannelIdentity
from storage.models.leads import Lead, LeadHistory, LeadStatus
from storage.models.staff import StaffAccount
from storage.repositories import Conversations, Handoffs, Leads
from storage.repositories.staff import AuditLog, StaffAccounts

MAX_NOTE = 2000
ENTITY_LEAD = "lead"


class NotAllowedError(PermissionError):
    """The lead is outside the officer's scope (shown as "not found")."""


class OwnerUnreachableError(RuntimeError):
    """The owner erased their data, blocked the bot or never gave a chat to answer in."""


@dataclass(frozen=True, slots=True)
class StaffDesk:
    """One officer's actions within one transaction."""

    session: AsyncSession
    scope: Scope
    via: str
    now: datetime
    texts: Texts
    statuses: Statuses
    #: In a chat step, ``ctx.notify`` (queued with the step, sent after its commit);
    #: None: written to the outbox directly in this transaction (the dashboard).
    notify: Callable[..., None] | None = None

    async def lead(self, lead_id: int) -> Lead:
        lead = await Leads(self.session).get(lead_id)
        if lead is None or lead.anonymised_at is not None or not self.scope.allows(lead):
            raise NotAllowedError(lead_id)
        return lead

    async def lead_by_code(self, code: str) -> Lead:
        lead = await Leads(self.session).by_code(code)
        if lead is None or lead.anonymised_at is not None or not self.scope.allows(lead):
            raise NotAllowedError(code)
        return lead

    async def _audit(
        self,
        action: str,
        lead: Lead,
        *,
        before: dict[str, object] | None = None,
        after: dict[str, object] | None = None,
    ) -> None:
        await AuditLog(self.session).record(
            actor=self.scope.username,
            account_id=self.scope.account_id,
            via=self.via,
            action=action,
            entity=ENTITY_LEAD,
            entity_id=lead.code or str(lead.id),
            before=before,
            after=after,
            now=self.now,
        )

    async def set_status(self, lead: Lead, status: LeadStatus, *, note: str = "") -> bool:
        """Change the status; True when the owner is told (``statuses.yaml``)."""
        old = lead.status
        if old == status.value and not note:
            return False
        await Leads(self.session).set_status(
            lead, status, actor=self.scope.actor(self.via), now=self.now, note=note[:MAX_NOTE]
        )
        await self._audit("status", lead, before={"status": old}, after={"status": status.value})
        if old == status.value:
            return False
        return await self._tell_owner_status(lead, status)

    async def _tell_owner_status(self, lead: Lead, status: LeadStatus) -> bool:
        info = self.statuses[status]
        owner = await self._owner(lead)
        if not info.notify_owner or owner is None:
            return False
        sentence = self.texts.render_string(info.message, code=lead.code)
        text = self.texts.render(
            "myleads/status_changed", code=lead.code, status=info.name, sentence=sentence
        )
        self._send(owner, text, topic=f"status:{lead.id}")
        return True

    async def assign(self, lead: Lead, account: StaffAccount | None) -> None:
        if account is not None and not account.active:
            raise NotAllowedError(account.id)
        old = lead.assignee_id
        new = account.id if account is not None else None
        if old == new:
            return
        names = await StaffAccounts(self.session).names()
        lead.assignee_id = new
        lead.updated_at = lead.last_activity_at = self.now
        self.session.add(
            LeadHistory(
                lead_id=lead.id,
                created_at=self.now,
                actor=self.scope.actor(self.via),
                action="assigned",
                old_status=lead.status,
                new_status=lead.status,
                fields=["assignee"],
                note=names.get(new, "") if new else "",
            )
        )
        await self.session.flush()
        await self._audit(
            "assign",
            lead,
            before={"assignee": names.get(old, "") if old else ""},
            after={"assignee": names.get(new, "") if new else ""},
        )

    async def add_note(self, lead: Lead, note: str) -> None:
        text = note.strip()[:MAX_NOTE]
        if not text:
            return
        await Leads(self.session).add_note(
            lead, text, actor=self.scope.actor(self.via), now=self.now
        )
        await self._audit("note", lead, after={"length": len(text)})

    async def reply(self, lead: Lead, text: str) -> None:
        """Send ``text`` to the owner on their channel (through the outbox)."""
        body = text.strip()[:MAX_NOTE]
        if not body:
            return
        owner = await self._owner(lead)
        if owner is None:
            raise OwnerUnreachableError(lead.id)
        handoff = None
        if lead.person_id is not None:
            handoff = await Handoffs(self.session).open_for(owner.id)
        topic = f"relay:{handoff.id}" if handoff is not None else f"reply:{lead.id}"
        self._send(owner, self.texts.render("handoff/staff_reply", text=body), topic=topic)
        await Leads(self.session).add_note(
            lead,
            self.texts.render("dashboard/reply_note", text=body),
            actor=self.scope.actor(self.via),
            now=self.now,
        )
        await self._audit("reply", lead, after={"length": len(body)})

    async def _owner(self, lead: Lead) -> ChannelIdentity | None:
        if lead.identity_id is None:
            return None
        owner = await self.session.get(ChannelIdentity, lead.identity_id)
        if owner is None or owner.blocked_at is not None:
            return None
        return owner

    def _send(self, owner: ChannelIdentity, text: str, *, topic: str) -> None:
        if self.notify is not None:
            self.notify(owner.channel, owner.chat_id, OutboundMessage(text=text), topic=topic)
            return
        Conversations(self.session).enqueue(
            channel=owner.channel,
            chat_id=owner.chat_id,
            payload=message_to_dict(OutboundMessage(text=text)),
            topic=topic,
            now=self.now,
        )
