"""The staff dashboard's queries on PostgreSQL with many leads: list pages, export, statistics.

Run: ``.venv/bin/python bench/leads.py [--leads 1000000] [--url postgresql+asyncpg://…]
[--keep]``

A fresh database (``kc_bench_<random>`` on the test server unless ``--url`` names one) is
migrated, then filled by COPY with generated leads spread like a province's: wards with a
long tail, programmes, statuses weighted towards the start of the funnel, two years of dates,
Vietnamese names, a third assigned to one of 20 officers. The dashboard's own code then runs
against it: ``leadlist.page`` (the list: page of 50 plus the capped count) for the common
filters and free text, ``stats.statistics``, and the streamed CSV export of every lead, in a
child process so its peak RSS is its own. Targets: list p95 < 100 ms, statistics < 500 ms,
export ≥ 50,000 rows/s with peak RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics as stats_module
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

ROOT: Final = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bot.core.content import Content  # noqa: E402
from bot.leads.catalogue import load_statuses  # noqa: E402
from bot.staff import export, leadlist  # noqa: E402
from bot.staff import stats as staff_stats  # noqa: E402
from bot.staff.scope import Scope  # noqa: E402
from storage import Database, upgrade  # noqa: E402
from storage.models.staff import fold_search  # noqa: E402

SERVER_URL: Final = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
ZONE: Final = ZoneInfo("Asia/Ho_Chi_Minh")
NOW: Final = datetime(2026, 12, 1, 9, 0, tzinfo=ZONE)
STAFF: Final = 20
WARDS: Final = 120
REPEATS: Final = 30
COPY_BATCH: Final = 50_000
LIST_P95_MS: Final = 100.0
STATS_MS: Final = 500.0
EXPORT_ROWS_PER_S: Final = 50_000
EXPORT_RSS_MB: Final = 200.0
STATUSES: Final = (
    ("new", 35),
    ("contacted", 25),
    ("eligible", 10),
    ("not_eligible", 8),
    ("dossier_prepared", 6),
    ("submitted", 5),
    ("supported", 5),
    ("closed", 6),
)
PROGRAMMES: Final = (
    ("may_moc_thiet_bi", 45),
    ("hoi_cho_trien_lam", 15),
    ("website_tmdt", 15),
    ("dao_tao_tu_van", 10),
    ("mo_hinh_trinh_dien", 5),
    ("", 10),
)
VERDICTS: Final = (("likely_eligible", 40), ("needs_review", 25), ("likely_not_eligible", 10))
SURNAMES: Final = (
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Huỳnh",
    "Hoàng",
    "Võ",
    "Phan",
    "Trương",
    "Đặng",
)
MIDDLES: Final = ("Văn", "Thị", "Minh", "Ngọc", "Thanh", "Hữu", "Quốc", "Thu")
GIVEN: Final = (
    "An", "Bình", "Cường", "Dung", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Khánh",
    "Lan", "Linh", "Long", "Mai", "Nam", "Nga", "Phúc", "Quang", "Tâm", "Thảo", "Trang",
    "Tuấn", "Vân", "Yến",
)  # fmt: skip
FACILITIES: Final = ("Cơ sở", "Hộ kinh doanh", "Công ty TNHH", "HTX", "Xưởng")
PRODUCTS: Final = ("bánh tráng", "nước mắm", "gạch", "đồ gỗ", "may mặc", "gốm", "chổi đót")
LEAD_COLUMNS: Final = (
    "code", "draft_id", "channel", "status", "full_name", "phone", "facility_name",
    "facility_type", "commune_code", "commune_name", "products", "support_kinds",
    "support_key", "need", "budget", "call_time", "programme_id", "eligibility",
    "notice_version", "created_at", "updated_at", "last_activity_at", "assignee_id",
    "verdict", "search_text",
)  # fmt: skip


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def generate(
    count: int, *, staff_ids: list[int], start: int = 1, rng: random.Random | None = None
) -> list[tuple[Any, ...]]:
    """Leads number ``start`` … ``start + count - 1`` (generated in batches: flat memory)."""
    rng = rng or random.Random(13)
    ward_weights = [1.0 / (rank + 1) ** 0.8 for rank in range(WARDS)]
    wards = [f"{31000 + index:05d}" for index in range(WARDS)]
    span = timedelta(days=730).total_seconds()
    rows: list[tuple[Any, ...]] = []
    for number in range(start, start + count):
        ward_index = rng.choices(range(WARDS), weights=ward_weights)[0]
        name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLES)} {rng.choice(GIVEN)}"
        phone = f"+849{rng.randrange(10**8):08d}"
        facility = f"{rng.choice(FACILITIES)} {rng.choice(GIVEN)} {rng.choice(PRODUCTS)}"
        created = NOW - timedelta(seconds=span * rng.random() ** 1.3)
        status = _pick(rng, STATUSES)
        programme = _pick(rng, PROGRAMMES)
        verdict = _pick(rng, (*VERDICTS, ("", 25)))
        eligibility = (
            {"verdicts": [{"programme_id": programme or "may_moc_thiet_bi", "outcome": verdict}]}
            if verdict
            else {}
        )
        code = f"KC-{created.year}-{number:06d}"
        national = "0" + phone[3:]
        rows.append(
            (
                code,
                f"bench-{number}",
                rng.choice(("telegram", "telegram", "telegram", "web", "zalo")),
                status,
                name,
                phone,
                facility,
                "household",
                wards[ward_index],
                f"Xã số {ward_index + 1}",
                rng.choice(PRODUCTS),
                json.dumps(["equipment"]),
                "equipment",
                "",
                rng.choice((None, 150_000_000, 300_000_000, 800_000_000)),
                "morning",
                programme,
                json.dumps(eligibility),
                "2026-01",
                created,
                created,
                created,
                rng.choice(staff_ids) if rng.random() < 0.35 else None,
                verdict,
                fold_search(f"{code} {name} {phone} {national} {facility}"),
            )
        )
    return rows


async def _admin(statement: str) -> None:
    engine = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def load(database: Database, count: int, say: Callable[[str], None]) -> None:
    """Migrate, add the officers, then COPY the leads with the lead indexes dropped."""
    await upgrade(database)
    async with database.engine.begin() as connection:
        for number in range(STAFF):
            await connection.execute(
                text(
                    "INSERT INTO staff_account (username, display_name, password_hash, role,"
                    " wards, programmes, active, must_change_password, created_at, updated_at)"
                    " VALUES (:u, :u, '-', 'staff', '[]', '[]', true, false, now(), now())"
                ),
                {"u": f"canbo{number}"},
            )
        staff_ids = [
            row[0] for row in (await connection.execute(text("SELECT id FROM staff_account")))
        ]
        indexes = [
            (name, definition)
            for name, definition in await connection.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'lead'"
                    " AND indexname LIKE 'ix_%'"
                )
            )
        ]
        for name, _ in indexes:
            await connection.execute(text(f'DROP INDEX "{name}"'))
    started = time.perf_counter()
    rng = random.Random(13)
    raw = await database.engine.raw_connection()
    try:
        driver: Any = raw.driver_connection
        for offset in range(0, count, COPY_BATCH):
            rows = generate(
                min(COPY_BATCH, count - offset), staff_ids=staff_ids, start=offset + 1, rng=rng
            )
            await driver.copy_records_to_table("lead", records=rows, columns=list(LEAD_COLUMNS))
    finally:
        raw.close()
    say(f"generated and copied {count:,} leads in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    async with database.engine.begin() as connection:
        await connection.execute(text("SET maintenance_work_mem = '256MB'"))
        for _, definition in indexes:
            await connection.execute(text(definition))
    async with database.engine.connect() as connection:
        await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("VACUUM ANALYZE lead"))
    say(f"indexed and analysed in {time.perf_counter() - started:.1f} s")


def _scopes(admin_id: int) -> Scope:
    return Scope(account_id=admin_id, username="bench", name="bench", is_admin=True)


async def time_it(run: Callable[[], Awaitable[object]], repeats: int) -> list[float]:
    timings = []
    await run()  # warm the plan cache and the pages
    for _ in range(repeats):
        started = time.perf_counter()
        await run()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def p95(values: list[float]) -> float:
    return stats_module.quantiles(values, n=20)[18] if len(values) >= 2 else values[0]


async def measure_lists(database: Database, say: Callable[[str], None]) -> dict[str, float]:
    scope = _scopes(1)
    rng = random.Random(7)
    wards = [f"{31000 + i:05d}" for i in range(WARDS)]
    scenarios: dict[str, Callable[[], dict[str, Any]]] = {
        "no filter": lambda: {},
        "status=new": lambda: {"statuses": ("new",)},
        "status=contacted,eligible": lambda: {"statuses": ("contacted", "eligible")},
        "ward": lambda: {"ward": rng.choice(wards)},
        "ward+status": lambda: {"ward": rng.choice(wards), "statuses": ("new",)},
        "programme": lambda: {"programme": "website_tmdt"},
        "verdict": lambda: {"verdict": "needs_review"},
        "assignee": lambda: {"assignee": str(rng.randrange(1, STAFF + 1))},
        "unassigned+new": lambda: {"assignee": "none", "statuses": ("new",)},
        "date range (1 month)": lambda: {
            "date_from": (NOW - timedelta(days=60)).date(),
            "date_to": (NOW - timedelta(days=30)).date(),
        },
        "text: common name": lambda: {"text": rng.choice(("nguyen van", "tran thi", "le minh"))},
        "text: phone digits": lambda: {"text": f"09{rng.randrange(10**5):05d}"},
        "text: code": lambda: {"text": f"KC-2026-{rng.randrange(1, 900_000):06d}"},
        "text: rare word": lambda: {"text": rng.choice(("chổi đót", "gốm", "htx"))},
        "page 2 (keyset)": lambda: {"after": f"{(NOW - timedelta(days=3)).isoformat()}~999999"},
    }
    results: dict[str, float] = {}
    for name, make in scenarios.items():

        async def run(make: Callable[[], dict[str, Any]] = make) -> None:
            flt = leadlist.LeadFilter(**make())
            async with database.transaction() as session:
                await leadlist.page(session, flt, scope, zone=ZONE)

        timings = await time_it(run, REPEATS)
        results[name] = p95(timings)
        median = stats_module.median(timings)
        say(f"  list {name:<28} p50 {median:7.1f} ms  p95 {results[name]:7.1f} ms")
    return results


async def measure_stats(database: Database, say: Callable[[str], None]) -> float:
    scope = _scopes(1)

    async def run() -> None:
        async with database.transaction() as session:
            await staff_stats.statistics(session, scope, now=NOW, zone=ZONE)

    timings = await time_it(run, 10)
    worst = max(timings)
    say(f"  statistics p50 {stats_module.median(timings):.1f} ms  max {worst:.1f} ms")
    return worst


async def export_all(url: str) -> dict[str, float]:
    """Stream every lead as CSV to nowhere; run in a child process (its own peak RSS)."""
    database = Database(url)
    content = Content(ROOT / "content")
    scope = _scopes(1)
    query = leadlist.filtered(leadlist.LeadFilter(), scope, zone=ZONE)
    stream = export.csv_stream(
        database,
        query,
        texts=content.texts,
        statuses=content.get(load_statuses),
        zone=ZONE,
        names={},
    )
    size = 0
    lines = 0
    # What the process holds before the first row (code, content, the classifier):
    # the export's own cost is the peak minus this.
    before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    async for chunk in stream:
        size += len(chunk)
        lines += chunk.count(b"\n")
    count = lines - 1  # the header; no cell of the generated leads holds a line break
    elapsed = time.perf_counter() - started
    await database.dispose()
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"rows": count, "seconds": elapsed, "rows_per_s": count / elapsed, "rss_mb": rss_mb,
            "rss_before_mb": before_mb, "mb_written": size / 1e6}  # fmt: skip


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--url", help="an existing, already filled database (skips loading)")
    parser.add_argument("--keep", action="store_true", help="keep the generated database")
    parser.add_argument("--export-only", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.export_only:
        print(json.dumps(await export_all(args.export_only)))
        return 0
    say = print
    name = ""
    if args.url:
        url = args.url
    else:
        name = f"kc_bench_{uuid.uuid4().hex[:10]}"
        await _admin(f'CREATE DATABASE "{name}"')
        url = str(make_url(SERVER_URL).set(database=name).render_as_string(hide_password=False))
    database = Database(url)
    try:
        if not args.url:
            say(f"$ python bench/leads.py --leads {args.leads}")
            await load(database, args.leads, say)
        lists = await measure_lists(database, say)
        stats_ms = await measure_stats(database, say)
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--export-only", url, stdout=asyncio.subprocess.PIPE
        )
        output, _ = await child.communicate()
        exported = json.loads(output.decode().strip().splitlines()[-1])
        say(
            f"  CSV export {exported['rows']:,} rows in {exported['seconds']:.1f} s:"
            f" {exported['rows_per_s']:,.0f} rows/s, peak RSS {exported['rss_mb']:.0f} MB"
            f" ({exported['rss_before_mb']:.0f} MB before the first row),"
            f" {exported['mb_written']:.0f} MB of CSV"
        )
        worst_list = max(lists.values())
        verdicts = {
            "list p95 < 100 ms": worst_list < LIST_P95_MS,
            "statistics < 500 ms": stats_ms < STATS_MS,
            "export >= 50k rows/s": exported["rows_per_s"] >= EXPORT_ROWS_PER_S,
            "export RSS < 200 MB": exported["rss_mb"] < EXPORT_RSS_MB,
        }
        for target, met in verdicts.items():
            say(f"  {'MET ' if met else 'MISS'} {target}")
        return 0 if all(verdicts.values()) else 1
    finally:
        await database.dispose()
        if name and not args.keep:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
