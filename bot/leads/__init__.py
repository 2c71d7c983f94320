"""Leads for staff: codes, lead content (notice, statuses, options), views, export, purge."""

from bot.leads.catalogue import (
    ConsentNotice,
    LeadOptions,
    Notices,
    Statuses,
    StatusInfo,
    load_lead_options,
    load_notices,
    load_statuses,
)
from bot.leads.codes import (
    format_handoff_ref,
    format_lead_code,
    parse_handoff_ref,
    parse_lead_code,
)
from bot.leads.export import export_leads, neutralise
from bot.leads.purge import purge_inactive
from bot.leads.views import LeadView, lead_view

__all__ = [
    "ConsentNotice",
    "LeadOptions",
    "LeadView",
    "Notices",
    "StatusInfo",
    "Statuses",
    "export_leads",
    "format_handoff_ref",
    "format_lead_code",
    "lead_view",
    "load_lead_options",
    "load_notices",
    "load_statuses",
    "neutralise",
    "parse_handoff_ref",
    "parse_lead_code",
    "purge_inactive",
]
