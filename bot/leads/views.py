"""A lead as template values: the same wording for the owner, the staff chat and the export.

Values are plain strings (labels resolved, phone in the national form, dates local) so
templates stay simple and the export writes exactly what staff read in the chat.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from bot.core.formatting import money, vn_date
from bot.core.texts import Texts
from bot.leads.catalogue import Statuses
from bot.parsing import format_phone_vn
from storage.models import Lead

if TYPE_CHECKING:
    from bot.core.content import Content

#: Keys of a verdict dict (from the eligibility flow) naming its programme and outcome.
_PROGRAMME_KEYS = ("programme_name", "programme", "programme_id", "id")
_OUTCOME_KEYS = ("outcome", "result", "status")


@dataclass(frozen=True, slots=True)
class LeadView:
    """Display values of a lead; ``values()`` is what templates receive as ``lead``."""

    id: int
    code: str
    status: str
    status_name: str
    full_name: str
    phone: str
    facility_name: str
    facility_type: str
    commune: str
    products: str
    kinds: str
    need: str
    budget: str
    budget_amount: int | None
    call_time: str
    programme_id: str
    verdicts: str
    channel: str
    created: str
    updated: str
    #: The programme's title (staff read a name, never ``may_moc_thiet_bi``); may be empty.
    programme: str = ""
    #: The channel in words ("Telegram", "trang web chat").
    channel_name: str = ""


def label_or_code(texts: Texts, key: str, code: str) -> str:
    """The label of ``key`` when content defines one, else the stored text itself."""
    return texts.label(key) if code and texts.has_label(key) else code


def kinds_text(texts: Texts, kinds: list[Any] | tuple[str, ...]) -> str:
    return ", ".join(label_or_code(texts, f"register.kind.{kind}", str(kind)) for kind in kinds)


def display_phone(phone: str) -> str:
    if not phone:
        return ""
    try:
        return format_phone_vn(phone)
    except ValueError:
        return phone


#: Set by the eligibility check on a verdict for a facility outside the Center's province.
OUTSIDE_PROVINCE_KEY = "outside_province"
OUT_OF_AREA_LABEL = "register.out_of_area"


def verdicts_text(
    texts: Texts,
    eligibility: Mapping[str, Any] | None,
    *,
    programmes: Mapping[str, str] | None = None,
) -> str:
    """One line per programme, by name: "Hỗ trợ máy móc…: Có thể đủ điều kiện" (the stored
    verdict carries the name; ``programmes`` maps ids when it does not). A facility outside
    the Center's province (registered anyway) is marked first, so staff see it at once."""
    if not eligibility:
        return ""
    parts: list[str] = []
    for verdict in eligibility.get("verdicts") or []:
        if not isinstance(verdict, Mapping):
            continue
        province = verdict.get(OUTSIDE_PROVINCE_KEY)
        if province and not parts:
            parts.append(texts.label(OUT_OF_AREA_LABEL, province=str(province)))
        programme = str(verdict.get("name") or "")
        if not programme:
            key = next((str(verdict[k]) for k in _PROGRAMME_KEYS if verdict.get(k)), "")
            programme = (programmes or {}).get(key, key)
        outcome = next((str(verdict[k]) for k in _OUTCOME_KEYS if verdict.get(k)), "")
        shown = label_or_code(texts, f"register.outcome.{outcome}", outcome)
        parts.append(f"{programme}: {shown}" if programme else shown)
    return "; ".join(part for part in parts if part)


def programme_titles(content: Content) -> dict[str, str]:
    """Programme id → title, for views that name the programme a lead came from."""
    from bot.policy import load_catalogue

    return {programme.id: programme.title for programme in content.get(load_catalogue).programmes}


def lead_view(
    lead: Lead,
    *,
    texts: Texts,
    statuses: Statuses,
    zone: tzinfo,
    programmes: Mapping[str, str] | None = None,
) -> LeadView:
    return LeadView(
        id=lead.id,
        code=lead.code or "",
        status=lead.status,
        status_name=statuses.name(lead.status),
        full_name=lead.full_name,
        phone=display_phone(lead.phone),
        facility_name=lead.facility_name,
        facility_type=label_or_code(
            texts, f"register.facility.{lead.facility_type}", lead.facility_type
        ),
        commune=lead.commune_name,
        products=lead.products,
        kinds=kinds_text(texts, lead.support_kinds or []),
        need=lead.need,
        budget=money(lead.budget) if lead.budget else "",
        budget_amount=lead.budget,
        call_time=label_or_code(texts, f"register.call.{lead.call_time}", lead.call_time),
        programme_id=lead.programme_id,
        verdicts=verdicts_text(texts, lead.eligibility, programmes=programmes),
        channel=lead.channel,
        programme=(programmes or {}).get(lead.programme_id, ""),
        channel_name=label_or_code(texts, f"channel.{lead.channel}", lead.channel),
        created=_local_date(lead.created_at, zone),
        updated=_local_date(lead.updated_at, zone),
    )


def _local_date(moment: datetime, zone: tzinfo) -> str:
    return vn_date(moment.astimezone(zone))
