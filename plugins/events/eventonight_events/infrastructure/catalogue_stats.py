"""Statistics of a broad catalogue filter: how many events match, and where its pages end.

Counting a broad filter means reading every match (thousands of documents at 10,000 events);
a page needs only a few. So the first request for a broad filter reads the matches once and
keeps, in a document named after the filter: the total, and for every sort order the sort key
and id of the rows at every 32nd rank up to 512, then 1024, 2048, … ("marks"). Later pages of any
sort read only the documents between the mark before their first row and the mark past their last
one (index ranges on status, sort key and id), and the total is read back instead of counted.

Every order but popularity also keeps its first ``HEAD`` rows (id and date): the first pages are
then read by id. A filter with few matches (at most ``SMALL``) keeps their ids instead: its pages
read those documents by id and order them by their current sort keys.

The statistics hold for one version of the catalogue: every write that can change which events
match a filter (create, edit, publish, cancel, complete, delete, a new lowest price) increments
the version in the same transaction, and statistics of an older version are recomputed. Likes
and sales move the popularity order without a new version: a mark is only a hint, and a page
that comes back short of what the total promises is read again without it.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: The stored sort fields (SORT_FIELDS' values); every one is kept in a (status, field) index.
SORTABLE = ("date", "title_sort", "price_sort", "popularity", "published_at")
#: Dense where people page (a page of up to 32 then reads at most 64 rows), sparse beyond.
RANKS = (*range(32, 513, 32), 1024, 2048, 4096, 8192, 16384, 32768)
VERSION_ID = "version"
#: Up to this many matches the statistics list them all: a page then reads them by id.
SMALL = 64
#: The first rows of every exact order are kept (id and date): the first pages are lookups by id.
HEAD = 64
#: Orders kept exact by the catalogue version (likes and sales move popularity without one).
EXACT = ("date", "title_sort", "price_sort", "published_at")


def sort_key(value: Any) -> tuple:
    """MongoDB's order within one field's types here: null first, then the values."""
    return (0,) if value is None else (1, value)


def order_rows(rows: list[dict], field_name: str, descending: bool) -> list[dict]:
    """Rows in the order ``.sort([(field, d), ("_id", d)])`` gives them."""
    return sorted(rows, key=lambda r: (sort_key(r.get(field_name)), r["_id"]), reverse=descending)


def _tie_ends(ordered: list[dict], field_name: str) -> list[int]:
    """For each row of ``ordered``, the rank of the last row with the same key."""
    ends = [0] * len(ordered)
    end = len(ordered)
    for i in range(len(ordered) - 1, -1, -1):
        if i + 1 < len(ordered) and ordered[i][field_name] != ordered[i + 1][field_name]:
            end = i + 1
        ends[i] = end
    return ends


@dataclass
class Stats:
    total: int
    marks: dict[str, list[list[Any]]] = field(default_factory=dict)  # "field:1" -> [[rank, key, id, ties end], ...]
    nulls: dict[str, int] = field(default_factory=dict)
    ids: list[str] | None = None  # every match, when there are at most SMALL of them
    soonest: datetime | None = None  # the earliest date among the matches
    heads: dict[str, list[list[Any]]] = field(default_factory=dict)  # "field:1" -> [[id, date], ...]

    @property
    def small(self) -> bool:
        return self.ids is not None

    @classmethod
    def of(cls, rows: list[dict]) -> Stats:
        marks: dict[str, list[list[Any]]] = {}
        nulls: dict[str, int] = {}
        for name in SORTABLE:
            present = [r for r in rows if r.get(name) is not None]
            nulls[name] = len(rows) - len(present)
            for descending in (False, True):
                ordered = order_rows(present, name, descending)
                reach = _tie_ends(ordered, name)
                # The last row of each rank: its key, for ties its id, and the rank where its key's ties end.
                marks[f"{name}:{-1 if descending else 1}"] = [
                    [rank, ordered[rank - 1][name], ordered[rank - 1]["_id"], reach[rank - 1]]
                    for rank in RANKS
                    if rank <= len(ordered)
                ]
        ids = [r["_id"] for r in rows] if len(rows) <= SMALL else None
        soonest = min((r["date"] for r in rows if r.get("date") is not None), default=None)
        heads = {}
        if ids is None:
            for name in EXACT:
                for descending in (False, True):
                    first = order_rows(rows, name, descending)[:HEAD]
                    heads[f"{name}:{-1 if descending else 1}"] = [[r["_id"], r.get("date")] for r in first]
        return cls(total=len(rows), marks=marks, nulls=nulls, ids=ids, soonest=soonest, heads=heads)

    def to_document(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "marks": self.marks,
            "nulls": self.nulls,
            "ids": self.ids,
            "soonest": self.soonest,
            "heads": self.heads,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Stats:
        return cls(
            total=doc["total"],
            marks=doc.get("marks", {}),
            nulls=doc.get("nulls", {}),
            ids=doc.get("ids"),
            soonest=doc.get("soonest"),
            heads=doc.get("heads", {}),
        )

    def of_order(self, order: str) -> Stats:
        """These statistics with the marks and head of one order (``"field:1"`` or ``"field:-1"``)
        and the date order's head only: what a page of that order reads."""
        heads = {o: h for o, h in self.heads.items() if o in (order, "date:1")}
        marks = {o: m for o, m in self.marks.items() if o == order}
        return Stats(self.total, marks, dict(self.nulls), self.ids, self.soonest, heads)

    def head(self, field_name: str, descending: bool) -> list[tuple[str, datetime | None]] | None:
        """(id, date) of the first rows in this order (with nulls where MongoDB puts them), or none kept."""
        kept = self.heads.get(f"{field_name}:{-1 if descending else 1}")
        return None if kept is None else [(i, date) for i, date in kept]

    def windows(self, field_name: str, descending: bool, need: int) -> list[tuple[int, tuple[Any, str], int | None]]:
        """(rank, (sort key, id), rank where that key's ties end) of rows, nearest first, up to which
        at least ``need`` matches lie; where the ties end is None in statistics kept before it was.

        Ascending, nulls come first, so no bound can include them: none then.
        """
        if not descending and self.nulls.get(field_name):
            return []
        marks = self.marks.get(f"{field_name}:{-1 if descending else 1}", [])
        return [(m[0], (m[1], m[2]), m[3] if len(m) > 3 else None) for m in marks if m[0] >= need]

    def floor(self, field_name: str, descending: bool, before: int) -> tuple[int, Any, str] | None:
        """(rank, sort key, id) of the last mark at or before rank ``before``: the rows after it
        are the rows from rank ``rank + 1`` on (exact only for an order no write moves without a
        new version: not popularity). Ascending with nulls, none (they come first, unmarked)."""
        if not descending and self.nulls.get(field_name):
            return None
        marks = self.marks.get(f"{field_name}:{-1 if descending else 1}", [])
        below = [(m[0], m[1], m[2]) for m in marks if m[0] <= before]
        return below[-1] if below else None


class StatsCache:
    """Statistics this process has read, by filter and order, with their catalogue version.

    A version's statistics never change, so a page whose cached version is still the catalogue's
    reads the version alone (on the embedded database a third to a half of reading the statistics).
    Bounded: past ``size`` entries the least recently used goes. Only for reads outside a
    transaction: a transaction could keep statistics of a version it then does not commit.
    """

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], tuple[int, Stats]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str, order: str) -> tuple[int, Stats] | None:
        entry = self._entries.get((key, order))
        if entry is not None:
            self._entries.move_to_end((key, order))
        return entry

    def put(self, key: str, order: str, version: int, stats: Stats) -> None:
        self._entries[(key, order)] = (version, stats.of_order(order))
        self._entries.move_to_end((key, order))
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
