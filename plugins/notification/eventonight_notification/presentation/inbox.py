"""What one open stream has yet to send.

Used instead of ``asyncio.Queue``, which allocates four deques (about 3 KB)
for every open stream even while it is idle; an idle inbox holds nothing.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Inbox:
    """A bounded FIFO with one reader."""

    __slots__ = ("_items", "_waiter", "limit")

    def __init__(self, limit: int = 1000) -> None:
        self._items: deque | None = None  # only while something waits to be sent
        self._waiter: asyncio.Future | None = None
        self.limit = limit

    def put(self, item: Any, force: bool = False) -> bool:
        """Add ``item``; False (and nothing added) when full, unless ``force``."""
        if self._items is None:
            self._items = deque()
        elif len(self._items) >= self.limit and not force:
            return False
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return True

    async def get(self) -> Any:
        """The oldest item, waiting for one if there is none."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def __len__(self) -> int:
        return len(self._items) if self._items else 0
