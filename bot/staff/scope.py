"""What one staff member may see and change: everything (admin, or no scope), or the leads
of some wards and/or programmes. Every dashboard query and chat command goes through here,
so a lead outside the scope is "not found", by list, by URL and in exports alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from storage.models.leads import Lead
from storage.models.staff import StaffAccount

SelectT = TypeVar("SelectT")


@dataclass(frozen=True, slots=True)
class Scope:
    account_id: int
    username: str
    name: str
    is_admin: bool
    wards: frozenset[str] = frozenset()
    programmes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, account: StaffAccount) -> Scope:
        admin = account.is_admin
        return cls(
            account_id=account.id,
            username=account.username,
            name=account.display_name or account.username,
            is_admin=admin,
            wards=frozenset() if admin else frozenset(str(w) for w in account.wards or []),
            programmes=(
                frozenset() if admin else frozenset(str(p) for p in account.programmes or [])
            ),
        )

    @property
    def is_limited(self) -> bool:
        return bool(self.wards or self.programmes)

    def restrict(self, query: SelectT) -> SelectT:
        """``query`` (a select over :class:`Lead`) narrowed to this scope."""
        narrowed: Any = query
        if self.wards:
            narrowed = narrowed.where(Lead.commune_code.in_(sorted(self.wards)))
        if self.programmes:
            narrowed = narrowed.where(Lead.programme_id.in_(sorted(self.programmes)))
        result: SelectT = narrowed
        return result

    def allows(self, lead: Lead) -> bool:
        if self.wards and lead.commune_code not in self.wards:
            return False
        return not (self.programmes and lead.programme_id not in self.programmes)

    def actor(self, via: str) -> str:
        """How the lead history names this officer ("web:lan", "telegram:lan")."""
        return f"{via}:{self.username}"
