"""Zalo's wire formats: the webhook signature (the brief's test vector), events → neutral
events, replies → message bodies, error codes → send statuses."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.channels.base import SendStatus
from bot.channels.zalo import errors
from bot.channels.zalo.events import (
    StaffEcho,
    bot_event,
    bot_event_key,
    oa_event,
    oa_event_key,
    unwrap_bot_update,
)
from bot.channels.zalo.render import InfoRequest, bot_texts, oa_messages
from bot.channels.zalo.signature import oa_mac, verify_bot_secret, verify_oa_signature
from bot.core.messages import Choice, EventKind, Link, OutboundMessage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "zalo"
APP_ID = "1234567890123456789"
SECRET = "TEST_OA_SECRET_KEY"
VECTOR_MAC = "815102340af0243a1d2110df14215b72e72689e0e35e1b9a5ed4adeb3c3992f0"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")


def _lines() -> list[bytes]:
    return [line for line in (FIXTURES / "oa_events.jsonl").read_bytes().split(b"\n") if line]


def _events() -> list[dict[str, Any]]:
    return [json.loads(line) for line in _lines()]


# -- signature -------------------------------------------------------------------------------


def test_the_signature_test_vector() -> None:
    body = _lines()[0]
    assert oa_mac(app_id=APP_ID, body=body, timestamp="1718000000000", secret_key=SECRET) == (
        VECTOR_MAC
    )
    headers = {"X-ZEvent-Signature": f"mac={VECTOR_MAC}"}
    assert verify_oa_signature(headers=headers, body=body, app_id=APP_ID, secret_key=SECRET)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-ZEvent-Signature": ""},
        {"X-ZEvent-Signature": "mac=" + "0" * 64},
        {"X-ZEvent-Signature": f"mac={VECTOR_MAC[:-1]}"},
    ],
    ids=["missing", "empty", "wrong", "truncated"],
)
def test_a_bad_or_missing_signature_is_refused(headers: dict[str, str]) -> None:
    body = _lines()[0]
    assert not verify_oa_signature(headers=headers, body=body, app_id=APP_ID, secret_key=SECRET)


def test_a_changed_body_or_another_key_breaks_the_signature() -> None:
    body = _lines()[0]
    headers = {"X-ZEvent-Signature": f"mac={VECTOR_MAC}"}
    tampered = body.replace(b"#dangky", b"#dangkX")
    assert not verify_oa_signature(
        headers=headers, body=tampered, app_id=APP_ID, secret_key=SECRET
    )
    assert not verify_oa_signature(headers=headers, body=body, app_id=APP_ID, secret_key="OTHER")
    assert not verify_oa_signature(headers=headers, body=body, app_id=APP_ID, secret_key="")


def test_the_bot_secret_header() -> None:
    assert verify_bot_secret(
        headers={"X-Bot-Api-Secret-Token": "test-secret-123"}, secret="test-secret-123"
    )
    assert not verify_bot_secret(
        headers={"X-Bot-Api-Secret-Token": "test-secret-12"}, secret="test-secret-123"
    )
    assert not verify_bot_secret(headers={}, secret="test-secret-123")
    assert not verify_bot_secret(headers={"X-Bot-Api-Secret-Token": ""}, secret="")


# -- events ----------------------------------------------------------------------------------


def _oa(index: int) -> Any:
    payload = _events()[index]
    event_id, _ = oa_event_key(payload)
    return oa_event(payload, event_id=event_id)


def test_an_oa_menu_keyword_is_a_command_and_ids_stay_strings() -> None:
    event = _oa(0)
    assert event.kind is EventKind.COMMAND
    assert event.text == "dangky"  # "#dangky" from the OA's menu opens registration
    assert event.user_id == "2468458835296117922"  # > 2^53, never a float
    assert event.event_id == "user_send_text:96d3cdf3af150460909"


def test_typed_text_stays_text() -> None:
    payload = {**_events()[0], "message": {"text": "máy xay lúa #1", "msg_id": "t1"}}
    event = oa_event(payload, event_id="t1")
    assert event is not None
    assert not isinstance(event, StaffEcho)
    assert event.kind is EventKind.TEXT
    assert event.text == "máy xay lúa #1"


def test_a_button_payload_is_a_choice_typed_or_tapped() -> None:
    event = _oa(9)
    assert event.kind is EventKind.CHOICE
    assert event.text == "register:consent:yes"


@pytest.mark.parametrize("index", [1, 2, 8], ids=["image", "location", "sticker"])
def test_media_get_the_unsupported_reply(index: int) -> None:
    assert _oa(index).kind is EventKind.UNKNOWN


def test_follow_and_unfollow() -> None:
    assert _oa(3).kind is EventKind.UNBLOCKED
    assert _oa(3).user_id == "2468458835296117922"
    assert _oa(4).kind is EventKind.BLOCKED


def test_submitted_info_is_the_persons_own_contact() -> None:
    event = _oa(5)
    assert event.kind is EventKind.CONTACT
    assert event.contact.phone == "84912345678"
    assert event.contact.owner_user_id == event.user_id
    assert event.contact.first_name == "Nguyễn Văn A"


def test_an_oa_echo_is_for_the_recipient_and_receipts_are_ignored() -> None:
    assert _oa(6) == StaffEcho(user_id="2468458835296117922", message_id="b1")
    assert _oa(7) is None


def test_events_without_msg_id_get_a_stable_key() -> None:
    follow = _events()[3]
    assert oa_event_key(follow) == oa_event_key(dict(follow))
    assert oa_event_key(follow)[0] != oa_event_key(_events()[4])[0]


def test_a_bot_update_wrapped_or_bare() -> None:
    wrapped = json.loads((FIXTURES / "bot_update.json").read_text(encoding="utf-8"))
    update = unwrap_bot_update(wrapped)
    assert unwrap_bot_update(update) is update
    event_id, user = bot_event_key(update)
    assert event_id == "message.text.received:16f6366b3f02645a3d15"
    event = bot_event(update, event_id=event_id)
    assert event is not None
    assert event.kind is EventKind.COMMAND
    assert event.text == "start"
    assert event.user_id == user == event.chat_id == "e4ea2cd5189df1c3a88c"


def test_a_group_bot_update_is_ignored() -> None:
    update = unwrap_bot_update(json.loads((FIXTURES / "bot_update.json").read_text()))
    update["message"]["chat"]["chat_type"] = "GROUP"
    assert bot_event(update, event_id="x") is None


# -- replies ---------------------------------------------------------------------------------

INFO = InfoRequest(title="Chia sẻ", subtitle="Bấm để gửi số")


def _choices(count: int) -> tuple[Choice, ...]:
    return tuple(Choice(f"menu:c{n}", f"Mục {n}") for n in range(1, count + 1))


def test_five_choices_are_buttons_with_hidden_payloads() -> None:
    [body] = oa_messages(OutboundMessage(text="**Chọn** một mục", choices=_choices(5)))
    assert body["text"] == "Chọn một mục"
    buttons = body["attachment"]["payload"]["buttons"]
    assert [b["type"] for b in buttons] == ["oa.query.hide"] * 5
    assert buttons[0]["payload"] == "#menu:c1"
    assert "template_type" not in body["attachment"]["payload"]


def test_more_than_five_are_numbered_text() -> None:
    [body] = oa_messages(OutboundMessage(text="Chọn", choices=_choices(6), first_number=3))
    assert "attachment" not in body
    assert "3. Mục 1" in body["text"]
    assert "8. Mục 6" in body["text"]


def test_links_open_a_url_or_dial_a_phone() -> None:
    message = OutboundMessage(
        text="Liên hệ",
        links=(
            Link("Xem chính sách", "https://example.invalid/p"),
            Link("Gọi cán bộ", "tel:0292 3 123 456"),
        ),
    )
    [body] = oa_messages(message)
    url, phone = body["attachment"]["payload"]["buttons"]
    assert url == {
        "title": "Xem chính sách",
        "type": "oa.open.url",
        "payload": {"url": "https://example.invalid/p"},
    }
    assert phone["type"] == "oa.open.phone"
    assert phone["payload"] == {"phone_code": "842923123456"}


def test_a_contact_request_adds_the_user_info_card() -> None:
    bodies = oa_messages(OutboundMessage(text="Số điện thoại?", request_contact=True), info=INFO)
    assert len(bodies) == 2
    payload = bodies[1]["attachment"]["payload"]
    assert payload["template_type"] == "request_user_info"
    assert payload["elements"] == [{"title": "Chia sẻ", "subtitle": "Bấm để gửi số"}]


def test_long_texts_are_split_at_paragraphs_within_2000() -> None:
    paragraph = "Chính sách khuyến công " * 40  # about 920 characters
    text = "\n\n".join([paragraph.strip()] * 5)
    bodies = oa_messages(OutboundMessage(text=text, choices=_choices(2)))
    assert len(bodies) > 1
    assert all(len(body["text"]) <= 2000 for body in bodies)
    assert all(body["text"].startswith("Chính sách") for body in bodies)
    assert "attachment" in bodies[-1]
    assert all("attachment" not in body for body in bodies[:-1])
    texts = bot_texts(OutboundMessage(text=text, choices=_choices(2)))
    assert all(len(part) <= 2000 for part in texts)
    assert texts[-1].endswith("1. Mục 1\n2. Mục 2")


def test_vietnamese_is_measured_in_nfc() -> None:
    decomposed = "Kho\u0302ng"  # "Không" with a combining circumflex
    [body] = oa_messages(OutboundMessage(text=decomposed))
    assert body["text"] == "Không"


# -- error codes -----------------------------------------------------------------------------

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=LOCAL)
NIGHT = datetime(2026, 11, 26, 23, 0, tzinfo=LOCAL)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (-213, SendStatus.UNREACHABLE),
        (-217, SendStatus.UNREACHABLE),
        (-227, SendStatus.UNREACHABLE),
        (-230, SendStatus.UNREACHABLE),
        (-232, SendStatus.UNREACHABLE),
        (-244, SendStatus.UNREACHABLE),
        (-32, SendStatus.RETRY_AFTER),
        (-211, SendStatus.RETRY_AFTER),
        (-234, SendStatus.RETRY_AFTER),
        (-201, SendStatus.BAD_CONTENT),
        (-233, SendStatus.BAD_CONTENT),
        (-248, SendStatus.BAD_CONTENT),
        (-224, SendStatus.RETRY_AFTER),
        (-223, SendStatus.RETRY_AFTER),
        (-999, SendStatus.TRANSIENT),
    ],
)
def test_each_oa_error_code_has_a_send_status(code: int, status: SendStatus) -> None:
    assert errors.oa_send_result(code, "x", now=NOON).status is status


def test_the_night_ban_waits_until_six() -> None:
    assert errors.oa_send_result(-234, "night", now=NIGHT).retry_after == 7 * 3600
    assert errors.seconds_until_morning(datetime(2026, 11, 26, 5, 0, tzinfo=LOCAL)) == 3600
