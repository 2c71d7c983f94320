"""``/broadcast`` in the staff chat, through the real engine: compose with the audience count
and a preview filled for a real recipient, test-send, send, approval by a second staff
member, schedule, pause, resume, cancel, progress; and clicks on a broadcast's buttons."""

from __future__ import annotations

import itertools
from datetime import datetime

from sqlalchemy import func, select

from bot.core.config import load_settings
from bot.core.messages import EventKind, InboundEvent, OutboundMessage
from storage import Database
from storage.models import OutboxMessage
from storage.models.broadcasts import Broadcast, BroadcastClick, BroadcastDelivery
from storage.models.staff import StaffIdentity
from tests.broadcasts.seed import load_fixture, seed_people
from tests.dashboard.kit import make_account
from tests.harness import TEST_NOW, User, make_engine, texts_of

STAFF_CHAT = "-100777"
FIXTURE = load_fixture("audience.yaml")
_ids = itertools.count(1)


class Staff:
    """A staff member writing in the staff chat."""

    def __init__(self, engine: object, user_id: str) -> None:
        self.engine = engine
        self.user_id = user_id

    async def send(self, kind: EventKind, text: str, args: str = "") -> list[OutboundMessage]:
        event = InboundEvent(
            channel="test",
            user_id=self.user_id,
            chat_id=STAFF_CHAT,
            event_id=f"staff-{next(_ids)}",
            kind=kind,
            text=text,
            args=args,
        )
        return await self.engine.handle(event)  # type: ignore[attr-defined, no-any-return]

    async def command(self, args: str) -> list[OutboundMessage]:
        return await self.send(EventKind.COMMAND, "broadcast", args)

    async def tap(self, choice: str) -> list[OutboundMessage]:
        return await self.send(EventKind.CHOICE, choice)


async def link_staff(database: Database, user_id: str, *, admin: bool = True) -> int:
    """A staff account linked to the chat account ``test:<user_id>``."""
    account = await make_account(database, f"staff{user_id}", admin=admin)
    async with database.transaction() as session:
        link = StaffIdentity(account_id=account, channel="test", user_id=user_id)
        link.linked_at = TEST_NOW
        session.add(link)
    return account


def _engine(database: Database, **settings: object) -> object:
    values = load_settings(
        database_url=str(database.url), staff_chats=f"test:{STAFF_CHAT}", **settings
    )
    engine, _ = make_engine(database, settings=values)
    return engine


async def _count(database: Database, model: type, **where: object) -> int:
    async with database.transaction() as session:
        query = select(func.count()).select_from(model).filter_by(**where)
        return int(await session.scalar(query) or 0)


async def test_compose_preview_test_send_and_send(database: Database) -> None:
    await seed_people(database, FIXTURE["people"], now=TEST_NOW)
    staff = Staff(_engine(database), "9001")
    assert "chỉ dành cho cán bộ đã liên kết" in texts_of(await staff.command(""))
    await link_staff(database, "9001")
    help_text = texts_of(await staff.command(""))
    assert "/broadcast <chủ đề> <nội dung>" in help_text and "trade_fair" in help_text
    [preview] = await staff.command("trade_fair Kính gửi {{ name }} ở {{ ward }}: hội chợ mở.")
    assert "Người nhận: **5**" in preview.text
    assert "Kính gửi Nguyễn Văn An ở Phường Hoàn Kiếm: hội chợ mở." in preview.text
    assert "/huy" in preview.text
    broadcast_id = 1
    assert [c.id for c in preview.choices] == [
        f"bcs:test:{broadcast_id}",
        f"bcs:send:{broadcast_id}",
        f"bcs:cancel:{broadcast_id}",
    ]
    tested = texts_of(await staff.tap(f"bcs:test:{broadcast_id}"))
    assert "Đã gửi thử" in tested
    assert await _count(database, OutboxMessage, chat_id="9001") == 1
    assert await _count(database, BroadcastDelivery) == 0  # a test send materialises nobody
    started = await staff.tap(f"bcs:send:{broadcast_id}")
    assert "bắt đầu gửi tới 5 chủ cơ sở" in texts_of(started)
    assert await _count(database, BroadcastDelivery, broadcast_id=broadcast_id) == 5
    again = texts_of(await staff.tap(f"bcs:send:{broadcast_id}"))
    assert "không làm được việc này" in again  # never the same broadcast twice
    assert await _count(database, BroadcastDelivery, broadcast_id=broadcast_id) == 5
    assert "Đã tạm dừng" in texts_of(await staff.command(f"dung {broadcast_id}"))
    assert "gửi tiếp" in texts_of(await staff.command(f"tiep {broadcast_id}"))
    progress = texts_of(await staff.command(f"xem {broadcast_id}"))
    assert "0% (0/5)" in progress
    assert "Đã huỷ" in texts_of(await staff.command(f"huy {broadcast_id}"))
    assert await _count(database, BroadcastDelivery, status="skipped") == 5
    listing = texts_of(await staff.command("ds"))
    assert f"#{broadcast_id} Đã huỷ" in listing


async def test_bad_input_is_explained(database: Database) -> None:
    staff = Staff(_engine(database), "9001")
    await link_staff(database, "9001")
    assert "không có" in texts_of(await staff.command("hoi_cho Xin chào"))
    assert "lỗi mẫu" in texts_of(await staff.command("all Xin chào {{ name"))
    assert "đang trống" in texts_of(await staff.command("all"))
    assert "Không có thông báo #42" in texts_of(await staff.command("gui 42"))


async def test_a_second_staff_member_approves(database: Database) -> None:
    await seed_people(database, FIXTURE["people"], now=TEST_NOW)
    engine = _engine(database, broadcast_approval_required=True)
    author, other = Staff(engine, "9001"), Staff(engine, "9002")
    author_id = await link_staff(database, "9001", admin=False)
    other_id = await link_staff(database, "9002")
    [preview] = await author.command("all Thông báo tập huấn tháng 5.")
    assert "Cần một cán bộ khác duyệt" in preview.text
    waiting = await author.tap("bcs:send:1")
    assert "chờ một cán bộ khác duyệt" in texts_of(waiting)
    assert [c.id for c in waiting[0].choices] == ["bcs:approve:1"]
    assert "chưa có quyền" in texts_of(await author.tap("bcs:approve:1"))
    assert await _count(database, BroadcastDelivery) == 0
    assert "bắt đầu gửi tới 6" in texts_of(await other.tap("bcs:approve:1"))
    async with database.transaction() as session:
        broadcast = await session.get(Broadcast, 1)
        assert broadcast is not None
        assert (broadcast.created_by, broadcast.approved_by) == (
            f"staff:{author_id}",
            f"staff:{other_id}",
        )


async def test_schedule(database: Database) -> None:
    await seed_people(database, FIXTURE["people"], now=TEST_NOW)
    staff = Staff(_engine(database), "9001")
    await link_staff(database, "9001")
    await staff.command("all Hạn nộp kế hoạch năm sau là 20/5.")
    assert "Không đọc được giờ hẹn" in texts_of(await staff.command("hen 1 mai"))
    assert "hẹn gửi lúc 20/05/2027 08:00" in texts_of(
        await staff.command("hen 1 20/05/2027 08:00")
    )
    await staff.command("gui 1")
    async with database.transaction() as session:
        due = set((await session.execute(select(BroadcastDelivery.next_attempt_at))).scalars())
    assert due == {datetime.fromisoformat("2027-05-20T01:00:00+00:00")}


async def test_a_press_on_a_broadcast_button_is_counted_and_does_its_job(
    database: Database,
) -> None:
    engine = _engine(database)
    staff = Staff(engine, "9001")
    await link_staff(database, "9001")
    await staff.command("all Hội chợ khuyến công.")
    owner = User(engine, user_id="555")  # type: ignore[arg-type]
    await owner.command("start")
    await owner.tap("subscribe:on:trade_fair")
    replies = await owner.tap("bc:1:subscribe:stop")
    assert "Đã dừng **tất cả** thông báo" in texts_of(replies)
    replies = await owner.tap("bc:1:eligibility:start")
    assert replies  # the eligibility check opened as from its own button
    async with database.transaction() as session:
        clicks = list((await session.execute(select(BroadcastClick.button))).scalars())
    assert clicks == ["subscribe:stop", "eligibility:start"]
