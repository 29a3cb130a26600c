"""Inbox pages this process has rendered, kept while the user's inbox summaries are unchanged."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

Key = tuple[str, int, int]


class InboxPages:
    """Rendered inbox pages, by (user, limit, offset), each with the summaries' version.

    Everything an inbox page shows changes one of its user's inbox summaries in the same
    transaction (a message, a new conversation, the user reading a conversation, the other party's
    rename or deletion), and a summary's version never repeats; so a page kept with the version
    that is still current is the page the database would give. Bounded: past ``size`` entries the
    least recently used goes; ``size`` 0 keeps none.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[Key, tuple[Hashable, list[dict[str, Any]]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, version: Hashable) -> list[dict[str, Any]] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] != version:
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: Key, version: Hashable, items: list[dict[str, Any]]) -> None:
        if self.size <= 0:
            return
        self._entries[key] = (version, items)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
