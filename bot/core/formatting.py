"""Vietnamese formatting of money, dates and long texts.

Owners read "300.000.000 đồng" or "300 triệu đồng" and dates as dd/mm/yyyy; long answers are
cut on paragraph boundaries so each part fits the channel's limit.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

MILLION = 1_000_000
BILLION = 1_000_000_000
PARAGRAPH_BREAK = "\n\n"
BOLD_RE = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def money(amount: int | float | Decimal) -> str:
    """Full amount with dots between thousands: ``300.000.000 đồng``."""
    whole = round(Decimal(amount))
    grouped = f"{whole:,}".replace(",", ".")
    return f"{grouped} đồng"


def money_short(amount: int | float | Decimal) -> str:
    """Spoken style: ``300 triệu đồng``, ``1,5 tỷ đồng``; falls back to :func:`money`."""
    value = Decimal(amount)
    for unit, word in ((BILLION, "tỷ"), (MILLION, "triệu")):
        if abs(value) >= unit:
            scaled = (value / unit).normalize()
            text = f"{scaled:f}".replace(".", ",")
            return f"{text} {word} đồng"
    return money(value)


def vn_date(value: date | datetime) -> str:
    """``dd/mm/yyyy``."""
    return value.strftime("%d/%m/%Y")


def percent(rate: float | Decimal) -> str:
    """0.5 → ``50%``; 0.255 → ``25,5%``."""
    scaled = (Decimal(str(rate)) * 100).normalize()
    return f"{scaled:f}".replace(".", ",") + "%"


def strip_bold(text: str) -> str:
    """Neutral text without its ``**bold**`` marks, for channels that show no bold."""
    return BOLD_RE.sub(r"\1", text)


def split_text(text: str, limit: int) -> list[str]:
    """Cut ``text`` into parts of at most ``limit`` characters.

    Paragraphs stay whole when they fit; a paragraph longer than the limit is cut at line
    ends, then at spaces, and only as a last resort inside a word.
    """
    if limit <= 0:
        msg = "limit must be positive"
        raise ValueError(msg)
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for paragraph in text.split(PARAGRAPH_BREAK):
        for piece in _fit(paragraph, limit):
            candidate = f"{current}{PARAGRAPH_BREAK}{piece}" if current else piece
            if len(candidate) <= limit:
                current = candidate
            else:
                if current:
                    parts.append(current)
                current = piece
    if current:
        parts.append(current)
    return parts


def _fit(paragraph: str, limit: int) -> list[str]:
    if len(paragraph) <= limit:
        return [paragraph]
    pieces: list[str] = []
    for separator in ("\n", " "):
        if separator in paragraph:
            current = ""
            for word in paragraph.split(separator):
                candidate = f"{current}{separator}{word}" if current else word
                if len(candidate) <= limit:
                    current = candidate
                    continue
                if current:
                    pieces.append(current)
                if len(word) > limit:
                    pieces.extend(_fit(word, limit))
                    current = ""
                else:
                    current = word
            if current:
                pieces.append(current)
            return pieces
    return [paragraph[i : i + limit] for i in range(0, len(paragraph), limit)]
