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

    __slots__ = ("_items", "_waiter", "limit", "until")

    def __init__(self, limit: int = 1000, until: float = float("inf")) -> None:
        self._items: deque | None = None  # only while something waits to be sent
        self._waiter: asyncio.Future | None = None
        self.limit = limit
        #: When the stream ends (its token's expiry, ``time.time()``): the hub closes it then.
        self.until = until

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

    def pop(self) -> Any:
        """The oldest item, or None when there is none (then :meth:`wait`)."""
        self._waiter = None  # a done waiter is not kept for the stream's idle life
        if not self._items:
            return None
        item = self._items.popleft()
        if not self._items:
            self._items = None
        return item

    def wait(self) -> asyncio.Future:
        """A future done once something was put: awaited directly, no coroutine per wait."""
        self._waiter = asyncio.get_running_loop().create_future()
        if self._items:
            self._waiter.set_result(None)
        return self._waiter

    def __len__(self) -> int:
        return len(self._items) if self._items else 0
