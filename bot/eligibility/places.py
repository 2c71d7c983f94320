"""Pages of the places matching a typed name: a shared name ("Tân Hòa" is six units in the
2025 map) must never hide the owner's own unit behind a fixed limit.

The search returns up to :data:`MAX_PLACE_MATCHES`, the Center's province first; the chat
shows :data:`PLACE_PAGE_SIZE` at a time with "Xem thêm", and the owner may also narrow by
typing the province after a comma ("Tân Hòa, Đồng Tháp").
"""

from __future__ import annotations

from collections.abc import Sequence

#: Buttons per screen on a cheap phone.
PLACE_PAGE_SIZE = 5
#: Beyond this many, the typed name is too vague: the owner is asked to add the province.
MAX_PLACE_MATCHES = 30


def place_page(codes: Sequence[int], page: int) -> tuple[list[int], bool]:
    """The codes shown on ``page`` (wrapping to the first page) and whether more follow."""
    pages = max(1, -(-len(codes) // PLACE_PAGE_SIZE))
    start = (page % pages) * PLACE_PAGE_SIZE
    shown = list(codes[start : start + PLACE_PAGE_SIZE])
    return shown, len(codes) > PLACE_PAGE_SIZE


def next_page(codes: Sequence[int], page: int) -> int:
    """The page after ``page``, back to the first after the last."""
    pages = max(1, -(-len(codes) // PLACE_PAGE_SIZE))
    return (page + 1) % pages
