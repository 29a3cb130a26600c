"""One page of the catalogue, reading as few documents as the filter allows.

Every read starts from an index range that answers most of the filter: (its most selective
filter, status, date) — a city, a venue, a word, a tag, an organization or the grid cells around
a point — or (status, sort key) when nothing narrows. The range returns ids, sort keys and the
fields of what the index does not answer (a second tag of "all tags", a price range, the exact
distance), which are checked on those rows (catalogue_match) or, for a shape it does not know,
by the database on their ids. The page is then fetched by id, unless the range was narrow
enough to read as whole documents at once. Each of these is an index range or a lookup by id on
MongoDB and on the embedded SecantusDB alike.

How far the range reaches:

- **filters without statistics** (one's own events, explicit ids): all their matches;
- **filters with few matches** (catalogue_stats): their ids are kept, and read back by id;
- **broad filters** (catalogue_stats): only up to the mark past the page's last row — in date
  order within the filter's own index, in another order within (status, sort key) when the
  filter is the whole catalogue (a filter would leave too few events in that range) — with the
  total read back instead of counted (and how many matches have passed since, from the date
  order's kept head);
- **any filter without statistics for this catalogue version yet**: all its matches, once;
  their statistics are kept and the page served from them.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, ClassVar

from eventonight_events.application.ports import EventFilter
from eventonight_events.domain.model import PUBLISHED
from eventonight_events.infrastructure.catalogue_match import matches
from eventonight_events.infrastructure.catalogue_query import branches, next_key, probe_of, stats_key
from eventonight_events.infrastructure.catalogue_stats import (
    SORTABLE,
    VERSION_ID,
    Stats,
    StatsCache,
    order_rows,
    sort_key,
)

_CHECK_SLICE = 256
#: A window of at most this many ranks is read as whole documents, a wider one as keys first.
WHOLE_WINDOW = 64
#: A window's bound takes its key's ties along when they reach at most this many ranks further.
TIE_SLACK = 32
_ALL_KEYS = dict.fromkeys(SORTABLE, 1)


def _cut(clause: dict[str, Any] | None, bound: Any, descending: bool) -> dict[str, Any]:
    """``clause`` (a range, or none) cut at ``bound``, included: from it on when descending, up to it otherwise."""
    merged = dict(clause or {})
    if descending:
        merged["$gte"] = max(merged.get("$gte", bound), bound)
    else:
        upper = next_key(bound)
        merged["$lt"] = min(merged.get("$lt", upper), upper)
    return merged


def _key_ranges(field: str, bound: tuple, floor: tuple | None, descending: bool, ties: bool) -> list[dict[str, Any]]:
    """Index ranges on (key, _id), in (status, key, _id) order, from beyond ``floor`` (or the
    start) up to ``bound`` included; the key's ties at either end are cut by id, not all read,
    unless ``ties``: then the bound's ties are all read, in the same range (one read fewer).
    Bounds as next_key writes them: "$gte" from below, "$lt" from above."""
    value, last_id = bound
    if floor is None:
        if descending:
            if ties:
                return [{field: {"$gte": value}}]
            return [{field: {"$gte": next_key(value)}}, {field: value, "_id": {"$gte": last_id}}]
        if ties:
            return [{field: {"$lt": next_key(value)}}]
        return [{field: {"$lt": value}}, {field: value, "_id": {"$lt": next_key(last_id)}}]
    low_value, low_id = floor
    if descending:  # from the floor down to the bound: keys (value, low_value), ids at either end
        if low_value == value:
            return [{field: value, "_id": {"$gte": last_id, "$lt": low_id}}]
        if ties:
            return [{field: {"$gte": value, "$lt": low_value}}, {field: low_value, "_id": {"$lt": low_id}}]
        return [
            {field: {"$gte": next_key(value), "$lt": low_value}},
            {field: low_value, "_id": {"$lt": low_id}},
            {field: value, "_id": {"$gte": last_id}},
        ]
    if low_value == value:
        return [{field: value, "_id": {"$gte": next_key(low_id), "$lt": next_key(last_id)}}]
    if ties:
        return [
            {field: {"$gte": next_key(low_value), "$lt": next_key(value)}},
            {field: low_value, "_id": {"$gte": next_key(low_id)}},
        ]
    return [
        {field: {"$gte": next_key(low_value), "$lt": value}},
        {field: low_value, "_id": {"$gte": next_key(low_id)}},
        {field: value, "_id": {"$lt": next_key(last_id)}},
    ]


def _beyond(row: dict, field: str, floor: tuple, descending: bool) -> bool:
    """Whether ``row`` comes after ``floor`` ((key, id)) in the page order."""
    key = (sort_key(row.get(field)), row["_id"])
    mark = (sort_key(floor[0]), floor[1])
    return key < mark if descending else key > mark


def _order(field: str, descending: bool) -> str:
    """How the statistics name an order: ``"date:1"``, ``"popularity:-1"``."""
    return f"{field}:{-1 if descending else 1}"


class CataloguePages:
    #: Statistics being computed in this process, by filter: concurrent first requests share one.
    _computing: ClassVar[dict[str, asyncio.Future]] = {}

    def __init__(self, events: Any, catalogue: Any, cache: StatsCache | None = None) -> None:
        self.events = events  # events_events
        self.catalogue = catalogue  # events_catalogue: the version and the statistics
        self.cache = cache  # statistics already read in this process (reads outside a transaction only)

    async def page(self, flt: EventFilter, field: str, descending: bool, limit: int, offset: int):
        """The page's documents in order, and the number of matches."""
        now = datetime.now(UTC)
        key = stats_key(flt)
        stats = None
        if key is not None:
            version, stats = await self._stored(key, field, descending)
            running = self._computing.get(key)
            if stats is None and running is not None:
                await asyncio.shield(running)
                version, stats = await self._stored(key, field, descending)
            if stats is None:
                rows = await self._compute(key, version, flt, (field, descending))
                if flt.upcoming:
                    rows = [r for r in rows if r.get("date") is not None and r["date"] >= now]
                return await self._fetch(rows, field, descending, limit, offset), len(rows)
            if stats.small:
                # Few matches: read them all by id and order them by their keys as they are now.
                docs = await self._by_id(stats.ids)
                if flt.upcoming:
                    docs = [d for d in docs if d.get("date") is not None and d["date"] >= now]
                return order_rows(docs, field, descending)[offset : offset + limit], len(docs)
        keys = {field: 1}
        if stats is not None:
            # None of the matches can have passed before the soonest of them.
            could_pass = flt.upcoming and (stats.soonest is None or stats.soonest <= now)
            kept = stats.head(field, descending)
            head = kept
            if kept is not None and flt.upcoming:
                head = [(i, date) for i, date in kept if date is not None and date >= now]
            passed = 0
            if could_pass:
                passed = self._passed_in_head(stats, flt, now)
                if passed is None:
                    passed = await self._passed(flt, now)
            total = stats.total - passed
            if head is not None and offset + limit <= len(head):
                # The first rows of this order are kept: the page is a lookup by id.
                ids = [i for i, _ in head[offset : offset + limit]]
                found = {d["_id"]: d for d in await self._by_id(ids)}
                return [found[i] for i in ids if i in found], total
            need = offset + limit + passed
            narrowing = any(probe_of(b).facet is not None for b in branches(flt, now))
            if field == "date" or not narrowing:
                floor, start = self._floor(stats, field, descending, offset, passed)
                for rank, bound, ties_end in stats.windows(field, descending, need)[:2]:
                    # Few ties past the bound: read them all rather than cut them by id in a read of their own.
                    ties = ties_end is not None and ties_end - rank <= TIE_SLACK
                    # A narrow window is read as whole documents: one read instead of keys, then the page by id.
                    whole = (ties_end if ties else rank) - start <= WHOLE_WINDOW
                    window = (field, bound, descending, floor, ties)
                    rows = await self._rows(flt, now, None if whole else keys, window=window)
                    ordered = order_rows(rows, field, descending)
                    if floor is not None:
                        ordered = [r for r in ordered if _beyond(r, field, floor, descending)]
                    page = ordered[offset - start : offset - start + limit]
                    if len(page) == limit or offset + len(page) >= total:
                        return (page if whole else await self._fetch(page, field, descending, limit, 0)), total
        rows = await self._rows(flt, now, keys)
        return await self._fetch(rows, field, descending, limit, offset), len(rows)

    @staticmethod
    def _passed_in_head(stats: Stats, flt: EventFilter, now: datetime) -> int | None:
        """How many of the counted matches have passed, read off the kept head of the date order,
        whatever order the page is in: in date order every passed match comes before the first
        upcoming one, so a head holding an upcoming match holds them all. None when it holds none."""
        if flt.statuses != (PUBLISHED,):
            return None
        by_date = stats.head("date", False)
        if not by_date or not any(date is not None and date >= now for _, date in by_date):
            return None
        return sum(1 for _, date in by_date if date is not None and date < now)

    @staticmethod
    def _floor(stats: Stats, field: str, descending: bool, offset: int, passed: int):
        """The mark the page's rows all lie beyond, as (sort key, id), and how many of the current
        matches precede it; (None, 0) when no mark says that exactly.

        A mark's rank counts the matches of the statistics. Matches passed since (upcoming only)
        are among them: in ascending date order all at the start, elsewhere anywhere, so only the
        former can be discounted. Popularity moves without a new version: its marks are hints.
        """
        if field == "popularity" or (passed and (field != "date" or descending)):
            return None, 0
        mark = stats.floor(field, descending, offset + passed)
        if mark is None:
            return None, 0
        rank, value, last_id = mark
        return (value, last_id), rank - min(rank, passed)

    async def _compute(self, key: str, version: int, flt: EventFilter, order: tuple[str, bool]) -> list[dict]:
        """Read every match once and keep the statistics (without the upcoming bound, so that
        they serve every later moment)."""
        done = self._computing[key] = asyncio.get_running_loop().create_future()
        try:
            rows = await self._rows(flt, None, _ALL_KEYS)
            stats = Stats.of(rows)
            await self._keep(key, version, stats)
            if self.cache is not None:
                self.cache.put(key, _order(*order), version, stats)
            return rows
        finally:
            self._computing.pop(key, None)
            done.set_result(None)

    async def _stored(self, key: str, field: str, descending: bool) -> tuple[int, Stats | None]:
        """The catalogue version and the filter's statistics of it, with this order's marks and head only."""
        order = _order(field, descending)
        cached = self.cache.get(key, order) if self.cache is not None else None
        if cached is not None:
            current = await self.catalogue.find_one({"_id": VERSION_ID})
            if current is not None and current.get("v") == cached[0]:
                return cached
        # The date order's head too: it tells how many matches have passed since (_passed_in_head).
        projection = {"v": 1, "total": 1, "nulls": 1, "ids": 1, "soonest": 1, f"marks.{order}": 1, f"heads.{order}": 1,
                      "heads.date:1": 1}  # fmt: skip
        found = {d["_id"]: d async for d in self.catalogue.find({"_id": {"$in": [VERSION_ID, key]}}, projection)}
        version = found.get(VERSION_ID, {}).get("v", 0)
        doc = found.get(key)
        if doc is None or doc.get("v") != version:
            return version, None
        stats = Stats.from_document(doc)
        if self.cache is not None:
            self.cache.put(key, order, version, stats)
        return version, stats

    async def _keep(self, key: str, version: int, stats: Stats) -> None:
        document = {"v": version, "at": datetime.now(UTC), **stats.to_document()}
        await self.catalogue.update_one({"_id": key}, {"$set": document}, upsert=True)

    async def _rows(self, flt: EventFilter, now: datetime | None, keys: dict | None, window=None) -> list[dict]:
        """Ids and ``keys`` of the matches, or (``keys`` None) their documents; only those up to the
        window's bound, if any."""
        rows: dict[str, dict] = {}
        for branch in branches(flt, now):
            if window is not None and window[0] == "date":
                # Dates hardly tie: the bounds are a date range, inside the filter's own index.
                _, (bound, _id), descending, floor, _ = window
                dates = _cut(branch.get("date"), bound, descending)
                if floor is not None:
                    dates = _cut(dates, floor[0], not descending)
                branch = {**branch, "date": dates}
            for row in await self._branch_rows(branch, flt.statuses, keys, window):
                rows[row["_id"]] = row
        return list(rows.values())

    async def _branch_rows(self, branch: dict, statuses: tuple[str, ...], keys: dict | None, window) -> list[dict]:
        projection = None if keys is None else {**keys, "_id": 1}
        if "_id" in branch:  # an explicit list of ids: look them up
            return await self.events.find(branch, projection).to_list(None)
        probe = probe_of(branch)
        if window is not None and window[0] != "date":
            field, bound, descending, floor, ties = window
            ranges = _key_ranges(field, bound, floor, descending, ties)
            queries = [{"status": s, **r} for s in statuses for r in ranges]
            residual = {k: v for k, v in branch.items() if k != "status"}
        elif probe.facet is not None:
            date = {"date": branch["date"]} if "date" in branch else {}
            queries = [{probe.facet: v, "status": s, **date} for v in probe.values for s in statuses]
            residual = probe.residual
        elif "date" in branch:
            queries = [{"status": s, "date": branch["date"]} for s in statuses]
            residual = probe.residual
        else:
            # Nothing narrows by date: the filter as it is (its first indexed clause leads).
            return await self.events.find(branch, projection).to_list(None)
        # The rows carry what the index leaves to check, so that most are checked here, not re-read.
        if projection is not None:
            projection.update(dict.fromkeys(residual, 1))
        candidates: dict[str, dict] = {}
        for query in queries:
            async for row in self.events.find(query, projection):
                candidates[row["_id"]] = row
        kept, unsure = [], []
        for row in candidates.values():
            verdict = matches(row, residual)
            if verdict is None:
                unsure.append(row["_id"])
            elif verdict:
                kept.append(row)
        # In slices: a long $in is checked against every candidate on some servers.
        for i in range(0, len(unsure), _CHECK_SLICE):
            query = {"_id": {"$in": unsure[i : i + _CHECK_SLICE]}, **residual}
            kept += await self.events.find(query, projection).to_list(None)
        return kept

    async def _fetch(self, rows: list[dict], field: str, descending: bool, limit: int, offset: int) -> list[dict]:
        """The documents of the page the rows give, in its order."""
        ids = [r["_id"] for r in order_rows(rows, field, descending)[offset : offset + limit]]
        found = {d["_id"]: d for d in await self._by_id(ids)}
        return [found[i] for i in ids if i in found]

    async def _by_id(self, ids: list[str]) -> list[dict]:
        return await self.events.find({"_id": {"$in": ids}}).to_list(None) if ids else []

    async def _passed(self, flt: EventFilter, now: datetime) -> int:
        """Matches counted in the statistics whose date has passed and that are not completed yet."""
        if PUBLISHED not in flt.statuses:
            return 0
        cursor = self.events.find({"status": PUBLISHED, "date": {"$lt": now}}, {"_id": 1})
        ids = [d["_id"] async for d in cursor]
        if not ids:
            return 0
        matched: set[str] = set()
        for branch in branches(flt, None):
            async for d in self.events.find({"_id": {"$in": ids}, **branch}, {"_id": 1}):
                matched.add(d["_id"])
        return len(matched)
