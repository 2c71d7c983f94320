"""Lead-related content: the consent notice, lead statuses and the form's option lists.

Loaded once per process through ``ctx.content.get(load_…)``; a malformed file stops
start-up (and ``khuyencong content check``) with the file name, never a chat half-way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.texts import ContentError, load_yaml
from bot.nlu import fold
from storage.models import LeadStatus

NOTICE_FILE = Path("privacy") / "notice.yaml"
STATUSES_FILE = Path("leads") / "statuses.yaml"
OPTIONS_FILE = Path("leads") / "support_kinds.yaml"


@dataclass(frozen=True, slots=True)
class ConsentNotice:
    """A versioned notice: a new version means everyone is asked again."""

    version: str
    text: str
    #: The full notice behind "Xem thêm", when ``text`` is the one-screen summary.
    details: str = ""


@dataclass(frozen=True, slots=True)
class DataRequests:
    """How soon the Center acknowledges a data subject's request, and the rule that says so."""

    acknowledge_within_working_days: int
    citation: str


@dataclass(frozen=True, slots=True)
class Notices:
    lead: ConsentNotice
    subscription: ConsentNotice
    data_requests: DataRequests


@dataclass(frozen=True, slots=True)
class StatusInfo:
    status: LeadStatus
    name: str
    notify_owner: bool
    #: Jinja source of the owner's message ({{ code }}, {{ center }}); empty when silent.
    message: str
    aliases: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Statuses:
    by_status: Mapping[LeadStatus, StatusInfo]

    def __getitem__(self, status: str) -> StatusInfo:
        return self.by_status[LeadStatus(status)]

    def name(self, status: str) -> str:
        try:
            return self[status].name
        except ValueError:
            return status

    def find(self, typed: str) -> LeadStatus | None:
        """The status staff meant: its code or one of its aliases, diacritics optional."""
        key = fold(typed).replace("_", " ").strip()
        for info in self.by_status.values():
            names = (info.status.value.replace("_", " "), *info.aliases)
            if key in {fold(name) for name in names}:
                return info.status
        return None


@dataclass(frozen=True, slots=True)
class LeadOptions:
    """Codes offered by the form; their labels live in ``labels/register.yaml``."""

    #: Support kind → programme ids and eligibility answers that mean it.
    kinds: Mapping[str, tuple[str, ...]]
    facility_types: tuple[str, ...]
    call_times: tuple[str, ...]
    topics: tuple[str, ...]

    def kinds_for(self, reference: str) -> tuple[str, ...]:
        """Support kinds meant by a programme id or an eligibility answer (or a kind)."""
        if reference in self.kinds:
            return (reference,)
        return tuple(kind for kind, aliases in self.kinds.items() if reference in aliases)


def load_notices(root: Path) -> Notices:
    path = root / NOTICE_FILE
    data = _mapping(load_yaml(path), path)
    subscription = _mapping(data.get("subscription"), path, "subscription")
    requests = _mapping(data.get("data_requests"), path, "data_requests")
    days = requests.get("acknowledge_within_working_days")
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        msg = f"{path}: data_requests.acknowledge_within_working_days must be a whole number ≥ 1"
        raise ContentError(msg)
    return Notices(
        lead=_notice(data, path),
        subscription=_notice(subscription, path),
        data_requests=DataRequests(days, _text(requests, "citation", path)),
    )


def load_statuses(root: Path) -> Statuses:
    path = root / STATUSES_FILE
    entries = _mapping(_mapping(load_yaml(path), path).get("statuses"), path, "statuses")
    found: dict[LeadStatus, StatusInfo] = {}
    for key, raw in entries.items():
        try:
            status = LeadStatus(str(key))
        except ValueError:
            msg = f"{path}: unknown status {key!r}"
            raise ContentError(msg) from None
        entry = _mapping(raw, path, str(key))
        notify = bool(entry.get("notify_owner", False))
        message = str(entry.get("message", "") or "")
        if notify and not message:
            msg = f"{path}: {key}: notify_owner needs a message"
            raise ContentError(msg)
        found[status] = StatusInfo(
            status=status,
            name=_text(entry, "name", path),
            notify_owner=notify,
            message=message,
            aliases=tuple(str(alias) for alias in entry.get("aliases", []) or []),
        )
    missing = set(LeadStatus) - set(found)
    if missing:
        msg = f"{path}: missing statuses {sorted(missing)}"
        raise ContentError(msg)
    return Statuses(by_status=found)


def load_lead_options(root: Path) -> LeadOptions:
    path = root / OPTIONS_FILE
    data = _mapping(load_yaml(path), path)
    kinds = {
        str(kind): tuple(
            str(alias) for alias in _mapping(raw, path, str(kind)).get("aliases", []) or []
        )
        for kind, raw in _mapping(data.get("kinds"), path, "kinds").items()
    }
    return LeadOptions(
        kinds=kinds,
        facility_types=_codes(data, "facility_types", path),
        call_times=_codes(data, "call_times", path),
        topics=_codes(data, "topics", path),
    )


def _notice(data: Mapping[str, Any], path: Path) -> ConsentNotice:
    return ConsentNotice(
        version=_text(data, "version", path),
        text=_text(data, "text", path),
        details=str(data.get("details") or ""),
    )


def _mapping(value: object, path: Path, where: str = "") -> Mapping[str, Any]:
    if not isinstance(value, dict):
        msg = f"{path}: {where or 'file'}: expected a mapping"
        raise ContentError(msg)
    return value


def _text(data: Mapping[str, Any], key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str | int | float) or not str(value).strip():
        msg = f"{path}: {key!r} must be a non-empty text"
        raise ContentError(msg)
    return str(value)


def _codes(data: Mapping[str, Any], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value:
        msg = f"{path}: {key!r} must be a non-empty list of codes"
        raise ContentError(msg)
    return tuple(str(item) for item in value)
