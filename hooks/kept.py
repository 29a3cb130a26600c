"""Pages a web process keeps while what they show is unchanged: one small read instead of the page.

A plugin whose page is costly to read, but whose every change also writes one small document
(a counter, a summary) in the same transaction, can give that document a *version* that every
such write changes and that never repeats (not even after the document is deleted and made
again: start it at a random number). A request then reads the version first; a page kept with
that version is the page the database would give. Read the version *before* the page: a page
read after a change is kept under the older version, which never comes back, so it is read again
next time rather than served stale.

Each web process keeps its own pages, so a change made behind the plugin's back (a document
written by hand) is not seen until the version changes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class KeptPages:
    """Pages by key (say ``(user, limit, offset)``), each with the version it was read at.

    Bounded: past ``size`` entries the least recently used goes; ``size`` 0 keeps none.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, version: Hashable) -> Any | None:
        """The page kept for ``key`` if it was read at ``version``; else None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Hashable, version: Hashable, page: Any) -> None:
        """Keep ``page`` for ``key``, read at ``version`` (the version read before the page)."""
        if self.size <= 0:
            return
        self._entries[key] = (version, page)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
