"""What every browser test shares: Debian's Chromium, run on the real clock."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

#: Installed by `.ci/run` with apt (never `playwright install`).
CHROMIUM: Final = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))


def browser_env() -> dict[str, str]:
    """The browser runs on the real clock: CI's second pass preloads faketime into the tests
    (to catch wall-clock reads in the bot), which Chromium itself does not survive."""
    return {
        name: value
        for name, value in os.environ.items()
        if name != "LD_PRELOAD" and not name.startswith(("FAKETIME", "DONT_FAKE"))
    }
