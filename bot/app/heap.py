"""Keep the garbage collector off what start-up built.

The content, the understanding index, the templates and SQLAlchemy's metadata live as long as
the process: about 180,000 objects that every full collection walked again, 80 ms with
nothing to free and the event loop stopped meanwhile (a webhook reply waited as long; a paid
broadcast lost some 90 send slots each time). Frozen after start-up, they are left out of
collections; what comes later is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_heap() -> None:
    """Collect start-up's garbage once, then freeze everything still alive."""
    gc.collect()
    gc.freeze()


__all__ = ["freeze_startup_heap"]
