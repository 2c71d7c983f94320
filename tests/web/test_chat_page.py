"""The web chat page in a real browser (Debian's Chromium through Playwright), on a 390 px
phone and a 1,280 px desktop: each test asserts a layout fact and leaves a screenshot in
``.screenshots/`` (git-ignored) for a person to look at."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from storage import Database
from tests.browser import CHROMIUM, browser_env
from tests.harness import make_engine, webchat_app

playwright_api = pytest.importorskip("playwright.async_api")

SCREENSHOTS = Path(__file__).resolve().parents[2] / ".screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: The page's own column on a desktop (``--column`` in the page's style).
COLUMN = 760
WAIT_MS = 10_000


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.is_file():
        message = f"Chromium is not installed at {CHROMIUM} (.ci/run installs it with apt)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu"],
            env=browser_env(),
        )
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def site(sqlite_database: Database) -> AsyncIterator[str]:
    engine, _ = make_engine(sqlite_database)
    server = TestServer(webchat_app(engine), host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("/chat"))
    finally:
        await server.close()


async def _open(browser: Any, site: str, viewport: dict[str, int]) -> Any:
    context = await browser.new_context(viewport=viewport, locale="vi-VN")
    page = await context.new_page()
    await page.goto(site)
    await page.wait_for_selector(".msg.bot", timeout=WAIT_MS)
    return page


async def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


async def _box(page: Any, selector: str) -> dict[str, float]:
    box = await page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return dict(box)


async def _tap(page: Any, label: str) -> None:
    """Press the live button with this label and wait until the answer is shown."""
    groups = await page.locator(".choices").count()
    messages = await page.locator(".msg.bot").count()
    await page.locator(".choices:not(.answered) button", has_text=label).first.click()
    await page.wait_for_function(
        "([m, g]) => !document.getElementById('typing').classList.contains('on')"
        " && (document.querySelectorAll('.msg.bot').length > m"
        " || document.querySelectorAll('.choices').length !== g"
        " || document.querySelectorAll('.choices.busy').length === 0)",
        arg=[messages, groups],
        timeout=WAIT_MS,
    )


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(first: str, second: str) -> float:
    def parse(css: str) -> tuple[int, int, int]:
        r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
        return r, g, b

    light, dark = sorted((_luminance(parse(first)), _luminance(parse(second))), reverse=True)
    return (light + 0.05) / (dark + 0.05)


async def test_the_phone_page_has_its_landmarks_and_an_input_that_fits(
    browser: Any, site: str
) -> None:
    page = await _open(browser, site, PHONE)
    assert await page.locator("h1").count() == 1
    assert await page.locator("link[rel=icon]").count() == 1
    # Android at 130 % text size: the send button must stay on the screen.
    # (through the CSSOM: the page's CSP refuses an injected <style>, as it should)
    await page.evaluate("document.body.style.fontSize = '22px'")
    send = await _box(page, "form button")
    field = await _box(page, "#text")
    assert send["x"] + send["width"] <= PHONE["width"]
    assert field["x"] >= 0 and field["width"] > 100
    # The placeholder is read whole, not cut.
    fits = await page.evaluate(
        """() => { const i = document.getElementById('text'); const s = getComputedStyle(i);
        const c = document.createElement('canvas').getContext('2d'); c.font = s.font;
        const room = i.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
        return c.measureText(i.placeholder).width <= room; }"""
    )
    assert fits
    colours = await page.evaluate(
        """() => { const field = getComputedStyle(document.getElementById('text'));
        const bar = getComputedStyle(document.getElementById('bar'));
        return [field.borderTopColor, bar.backgroundColor]; }"""
    )
    assert _contrast(*colours) >= 3.0
    # The live region reads what the bot says, never the labels of its buttons.
    announced = await page.locator("#announce").inner_text()
    assert "Xin chào" in announced
    labels = await page.locator(".choices button").all_inner_texts()
    assert labels and not any(label in announced for label in labels)
    assert await page.locator("#log[aria-live]").count() == 0
    await _shot(page, "phone-start")


async def test_an_answer_scrolls_to_its_start_and_old_buttons_are_closed(
    browser: Any, site: str
) -> None:
    page = await _open(browser, site, PHONE)
    await _tap(page, "Chính sách hỗ trợ")
    await _tap(page, "máy móc")
    # The newest bot message starts at the top of the screen, under the sticky header.
    header = await _box(page, "header")
    first_new = page.locator(".msg.bot").nth(2)
    box = await first_new.bounding_box()
    assert box is not None
    assert header["y"] + header["height"] - 2 <= box["y"] <= header["y"] + header["height"] + 30
    # Earlier button groups are greyed and cannot be pressed; the chosen one is marked.
    answered = page.locator(".choices.answered")
    assert await answered.count() >= 2
    assert await answered.first.locator("button:enabled").count() == 0
    chosen = await answered.first.locator("button.chosen").all_inner_texts()
    assert chosen == ["📘 Chính sách hỗ trợ"]
    await _shot(page, "phone-policy-page")


async def test_a_tap_disables_the_buttons_and_shows_that_the_bot_is_answering(
    browser: Any, site: str
) -> None:
    page = await _open(browser, site, PHONE)
    release = asyncio.Event()

    async def slow(route: Any) -> None:
        await release.wait()
        await route.continue_()

    await page.route("**/chat/api/message", slow)
    await page.locator(".choices button", has_text="Chính sách hỗ trợ").click()
    await page.wait_for_selector("#typing.on", timeout=WAIT_MS)
    assert await page.locator("#typing").inner_text() == "Đang trả lời…"
    assert await page.locator(".choices button:enabled").count() == 0  # no double send
    await _shot(page, "phone-waiting")
    release.set()
    await page.wait_for_selector("#typing:not(.on)", state="attached", timeout=WAIT_MS)
    assert await page.locator(".msg.me").all_inner_texts() == ["📘 Chính sách hỗ trợ"]


async def _say(page: Any, text: str, wait_for: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")
    await page.wait_for_selector(f"text={wait_for}", timeout=WAIT_MS)


async def test_columns_and_a_multi_select_updated_in_place(browser: Any, site: str) -> None:
    page = await _open(browser, site, PHONE)
    await _tap(page, "Kiểm tra điều kiện")
    # Two columns asked: the first two answers share a row.
    live = page.locator(".choices:not(.answered) button")
    one, two = await live.nth(0).bounding_box(), await live.nth(1).bounding_box()
    assert one is not None and two is not None
    assert one["y"] == two["y"] and two["x"] > one["x"]
    await _tap(page, "Hộ kinh doanh")
    await _say(page, "Phú Tâm", "Câu 3.")
    await _tap(page, "Tự sản xuất")
    await _say(page, "bánh pía", "Câu 5.")
    for label in ("Mua máy móc", "Chưa có báo giá", "Máy riêng lẻ", "Chưa nhận", "Có"):
        await _tap(page, label)
    await page.wait_for_selector("text=trường hợp được ưu tiên", timeout=WAIT_MS)
    groups = await page.locator(".choices").count()
    await page.locator(".choices:not(.answered) button[aria-pressed=false]").first.click()
    await page.wait_for_selector(
        ".choices:not(.answered) button[aria-pressed=true]", timeout=WAIT_MS
    )
    assert await page.locator(".choices").count() == groups  # the same question, updated
    assert await page.locator(".msg.me", has_text="⬜").count() == 0  # no echo of the tick
    pressed = page.locator(".choices:not(.answered) button[aria-pressed=true]")
    assert "☑️" in await pressed.first.inner_text()
    await _shot(page, "phone-multi-select")


async def test_a_reload_keeps_the_conversation_and_does_not_restart(
    browser: Any, site: str
) -> None:
    page = await _open(browser, site, PHONE)
    await _tap(page, "Kiểm tra điều kiện")
    await _tap(page, "Hộ kinh doanh")
    before = await page.locator(".msg").all_inner_texts()
    await page.reload()
    await page.wait_for_selector(".msg.bot", timeout=WAIT_MS)
    await page.wait_for_function(
        f"document.querySelectorAll('.msg').length >= {len(before)}", timeout=WAIT_MS
    )
    after = await page.locator(".msg").all_inner_texts()
    assert after == before  # the same messages, no new greeting
    assert sum("Xin chào" in text for text in after) == 1
    # The question in progress is still live and answerable.
    await _say(page, "Phú Tâm", "Câu 3.")
    await _shot(page, "phone-after-reload")


async def test_the_desktop_layout_keeps_the_header_and_aligns_the_input_bar(
    browser: Any, site: str
) -> None:
    page = await _open(browser, site, DESKTOP)
    await _tap(page, "Chính sách hỗ trợ")
    await _tap(page, "hội chợ")
    await page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    header = await _box(page, "header")
    assert header["y"] == 0  # sticky: still on screen after scrolling
    column = await _box(page, "#log")
    bar = await _box(page, "form")
    assert bar["width"] <= COLUMN + 1
    assert abs(bar["x"] - column["x"]) <= 1
    assert abs((bar["x"] + bar["width"]) - (column["x"] + column["width"])) <= 1
    await _shot(page, "desktop-policy-page")
