"""The export's cells computed by PostgreSQL, for exports of hundreds of thousands of rows.

The same values as :func:`bot.leads.views.lead_view` and :func:`bot.leads.export.neutralise`
(labels, dd/mm/yyyy in the Center's zone, phones as ``0912 345 678``, formula cells with a
leading apostrophe), written as SQL so Python only hands finished rows to ``csv.writer``:
several times the rows per second of formatting each lead in Python. Labels travel as
JSON parameters; a test checks this path against the Python one cell by cell.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Select, literal_column, select, text

from bot.core.texts import Texts
from bot.leads.catalogue import Statuses
from bot.leads.views import OUT_OF_AREA_LABEL
from storage.models.leads import Lead
from storage.models.staff import StaffAccount


def _label(mapping: str, column: str) -> str:
    return f"COALESCE(CAST(:{mapping} AS jsonb) ->> {column}, {column})"


def _local_day(column: str) -> str:
    return f"to_char({column} AT TIME ZONE :zone, 'DD/MM/YYYY')"


_PHONE = """CASE
  WHEN lead.phone ~ '^\\+84[35789][0-9]{8}$'
    THEN '0' || substr(lead.phone, 4, 3) || ' ' || substr(lead.phone, 7, 3)
      || ' ' || substr(lead.phone, 10)
  WHEN lead.phone ~ '^\\+842[48][0-9]{8}$'
    THEN '0' || substr(lead.phone, 4, 2) || ' ' || substr(lead.phone, 6, 4)
      || ' ' || substr(lead.phone, 10)
  WHEN lead.phone ~ '^\\+842[0-9]{9}$'
    THEN '0' || substr(lead.phone, 4, 3) || ' ' || substr(lead.phone, 7, 3)
      || ' ' || substr(lead.phone, 10)
  ELSE lead.phone END"""

_KINDS = """COALESCE((SELECT string_agg(COALESCE(CAST(:kinds AS jsonb) ->> k.v, k.v), ', '
    ORDER BY k.n) FROM json_array_elements_text(
      CASE WHEN json_typeof(lead.support_kinds) = 'array' THEN lead.support_kinds ELSE '[]' END
    ) WITH ORDINALITY AS k(v, n)), '')"""

_VERDICT_LIST = """json_array_elements(CASE
      WHEN json_typeof(lead.eligibility -> 'verdicts') = 'array'
      THEN lead.eligibility -> 'verdicts' ELSE '[]' END) WITH ORDINALITY AS v(x, n)"""

#: The first verdict of a facility outside the province starts with the marker
#: (``bot.leads.views.OUT_OF_AREA_LABEL``), as in ``verdicts_text``.
_OUT_OF_AREA = f"""(SELECT CASE WHEN NULLIF(v.x ->> 'outside_province', '') IS NOT NULL
      THEN replace(:out_of_area, '{{province}}', v.x ->> 'outside_province') END
    FROM {_VERDICT_LIST} WHERE json_typeof(v.x) = 'object' ORDER BY v.n LIMIT 1)"""

_VERDICTS = f"""COALESCE(concat_ws('; ', {_OUT_OF_AREA}, (SELECT string_agg(
      CASE WHEN z.p <> '' THEN z.p || ': ' || z.o ELSE z.o END, '; ' ORDER BY v.n)
    FROM {_VERDICT_LIST},
    LATERAL (SELECT
      COALESCE(NULLIF(v.x ->> 'name', ''), NULLIF(v.x ->> 'programme_name', ''),
               NULLIF(v.x ->> 'programme', ''),
               NULLIF(v.x ->> 'programme_id', ''), NULLIF(v.x ->> 'id', ''), '') AS p,
      COALESCE(CAST(:outcomes AS jsonb) ->> COALESCE(NULLIF(v.x ->> 'outcome', ''),
               NULLIF(v.x ->> 'result', ''), NULLIF(v.x ->> 'status', '')),
               COALESCE(NULLIF(v.x ->> 'outcome', ''), NULLIF(v.x ->> 'result', ''),
               NULLIF(v.x ->> 'status', ''), '')) AS o) AS z
    WHERE json_typeof(v.x) = 'object'
      AND (z.p <> '' OR z.o <> ''))), '')"""

#: One SQL expression per export column, in :data:`bot.leads.export.COLUMNS` order, then
#: the assignee; each computed once in an inner query, neutralised in the outer one.
_CELLS = (
    "COALESCE(lead.code, '')",
    _local_day("lead.created_at"),
    _label("statuses", "lead.status"),
    "lead.full_name",
    f"CASE WHEN lead.phone = '' THEN '' ELSE {_PHONE} END",
    "lead.facility_name",
    _label("facilities", "lead.facility_type"),
    "lead.commune_name",
    "lead.products",
    _KINDS,
    "lead.need",
    "COALESCE(CAST(lead.budget AS text), '')",
    _label("calls", "lead.call_time"),
    "lead.programme_id",
    _VERDICTS,
    "lead.channel",
    _local_day("lead.updated_at"),
    "COALESCE(NULLIF(s.display_name, ''), s.username, '')",
)
#: The budget is a number: never a formula, written as it is.
_NUMERIC_CELLS = frozenset({11})
#: The characters of :data:`bot.leads.export.FORMULA_STARTS`, as SQL.
_FORMULA_STARTS = "('=', '+', '-', '@', chr(9), chr(13))"
_APOSTROPHE = "''''"


def _neutralised(name: str) -> str:
    """A cell a spreadsheet would evaluate gets an apostrophe in front."""
    return (
        f"CASE WHEN left({name}, 1) IN {_FORMULA_STARTS}"
        f" THEN {_APOSTROPHE} || {name} ELSE {name} END"
    )


def formatted(
    filtered: Select[Any], *, texts: Texts, statuses: Statuses, timezone: str
) -> Select[Any]:
    """Rows of finished text cells for the leads of ``filtered``, by id."""
    staff = StaffAccount.__table__.alias("s")
    names = {info.status.value: info.name for info in statuses.by_status.values()}
    raw = text(", ".join(f"{cell} AS c{index}" for index, cell in enumerate(_CELLS)))
    raw = raw.bindparams(
        statuses=_json(names),
        facilities=_json(texts.labels_under("register.facility")),
        calls=_json(texts.labels_under("register.call")),
        kinds=_json(texts.labels_under("register.kind")),
        outcomes=_json(texts.labels_under("register.outcome")),
        out_of_area=texts.label(OUT_OF_AREA_LABEL, province="{province}"),
        zone=timezone,
    )
    inner = (
        filtered.with_only_columns(raw)
        .select_from(Lead)
        .outerjoin_from(Lead, staff, staff.c.id == Lead.assignee_id)
        .order_by(Lead.id)
        .offset(0)  # a fence: each cell is computed once, then neutralised outside
        .subquery("t")
    )
    outer: list[Any] = [
        literal_column(
            f"t.c{index}" if index in _NUMERIC_CELLS else _neutralised(f"t.c{index}")
        ).label(f"c{index}")
        for index in range(len(_CELLS))
    ]
    return select(*outer).select_from(inner)


def _json(labels: dict[str, str]) -> str:
    """Labels as a JSON object; an empty code keeps its empty cell (as ``label_or_code``)."""
    return json.dumps({code: label for code, label in labels.items() if code}, ensure_ascii=False)
