"""Short garbage-collector pauses in a server process that holds many long-lived objects.

CPython's full collection walks every tracked object. A process with 10,000 open streams holds
about a million, and each full pass then held the event loop for 100-300 ms: the tail of every
live notification. The keeper moves what survived a collection out of the collector's scans
(``gc.freeze``) at a steady pace, so ordinary collections walk only what was made since.
Frozen objects are still freed by reference counting; only cycles among them that became
garbage after their freeze wait for the next full pass, which unfreezes everything once per
``full_seconds`` (one long pause then, instead of one every few seconds).
"""

from __future__ import annotations

import asyncio
import gc
import time


class GcKeeper:
    def __init__(self, freeze_seconds: float, full_seconds: float) -> None:
        self.freeze_seconds = freeze_seconds
        self.full_seconds = full_seconds
        self._last_full = time.monotonic()

    def turn(self, now: float | None = None) -> None:
        """Collect what is not frozen (cyclic garbage is not frozen with the rest), then freeze
        the survivors; first unfreeze everything when a full pass is due."""
        now = time.monotonic() if now is None else now
        if self.full_seconds and now - self._last_full >= self.full_seconds:
            gc.unfreeze()
            self._last_full = now
        gc.collect()
        gc.freeze()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.freeze_seconds)
            self.turn()
