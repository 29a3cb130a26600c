"""An EventFilter as MongoDB filter documents shaped so that an index narrows the candidates.

Each filter is flat (no top-level ``$and``) and lists its clauses most selective first: a
planner that takes the first indexed clause (SecantusDB) starts from the narrowest index, and
MongoDB's planner chooses among them anyway. An "either" filter (the personal feed: interests
or followed organizations) becomes one filter per side, each with its own index, whose results
are merged by ``_id`` instead of a top-level ``$or`` that no index serves.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventonight_events.application.ports import EventFilter
from eventonight_events.domain.geocells import covering
from eventonight_events.domain.search import PREFIX_LENGTH, normalise

EARTH_RADIUS_KM = 6378.1


def next_key(value: Any) -> Any:
    """The smallest value of the same type above ``value``: ``$lt`` of it means ``$lte`` of ``value``.

    Every upper bound is written so: SecantusDB 0.7 treats an inclusive bound at the far end of a
    compound index range as exclusive (it misses the equal keys), and both servers agree on ``$lt``.
    """
    if isinstance(value, bool):
        raise TypeError("no sort key is a boolean")
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return math.nextafter(value, math.inf)
    if isinstance(value, str):
        return value + "\x00"
    if isinstance(value, datetime):
        # BSON dates count milliseconds: the next one after the stored value.
        return value.replace(microsecond=value.microsecond // 1000 * 1000) + timedelta(milliseconds=1)
    raise TypeError(f"no next key for {type(value).__name__}")


def _range(low: Any, high: Any) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    if low is not None:
        bounds["$gte"] = low
    if high is not None:
        bounds["$lt"] = next_key(high)
    return bounds


def date_bounds(flt: EventFilter, now: datetime | None) -> dict[str, Any]:
    """The date clause: the asked window, and from ``now`` on for the upcoming catalogue."""
    low = flt.date_from
    if flt.upcoming and now is not None:
        low = now if low is None else max(low, now)
    return _range(low, flt.date_to)


def branches(flt: EventFilter, now: datetime | None) -> list[dict[str, Any]]:
    """The filter documents whose union is ``flt`` (one, or one per side of an "either").

    ``now`` bounds the upcoming catalogue; None leaves that bound out (statistics counted once
    serve every later moment, see catalogue_stats).
    """
    head: dict[str, Any] = {}
    if flt.ids is not None:
        head["_id"] = {"$in": flt.ids}
    members = list(dict.fromkeys(m for m in (flt.organization, flt.member) if m))
    if members:
        head["members"] = members[0] if len(members) == 1 else {"$all": members}
    cells = covering(*flt.near) if flt.near is not None else None
    if cells is not None:
        head["geo_cells"] = {"$in": cells}
    if flt.venue:
        head["venue_key"] = normalise(flt.venue).strip()
    if flt.city:
        head["city_key"] = normalise(flt.city).strip()
    tail: dict[str, Any] = {}
    if flt.text:
        # Each word must start a word of the title, description, tags, venue or city: an equality
        # on the words' stored beginnings, and for a longer word also the whole word's prefix.
        starts = list(dict.fromkeys(t[:PREFIX_LENGTH] for t in flt.text))
        head["search_prefixes"] = starts[0] if len(starts) == 1 else {"$all": starts}
        longer = [re.compile(f"^{re.escape(t)}") for t in flt.text if len(t) > PREFIX_LENGTH]
        if longer:
            tail["search_tokens"] = {"$all": longer}
    if flt.tags and not flt.any_tags_or_creators:
        tail["tags"] = {"$all" if flt.all_tags else "$in": flt.tags}
    date = date_bounds(flt, now)
    if date:
        tail["date"] = date
    price = _range(flt.min_price, flt.max_price)
    if price:
        tail["lowest_price"] = price
    tail["status"] = flt.statuses[0] if len(flt.statuses) == 1 else {"$in": list(flt.statuses)}
    if flt.near is not None:
        lat, lon, radius_km = flt.near
        # The exact distance, checked on the candidates the cells (or the other clauses) give.
        tail["point"] = {"$geoWithin": {"$centerSphere": [[lon, lat], radius_km / EARTH_RADIUS_KM]}}
    if not flt.any_tags_or_creators:
        return [{**head, **tail}]
    sides = []
    if flt.tags:
        sides.append({"tags": {"$in": flt.tags}, **head, **tail})
    if flt.creators:
        sides.append({"members": {"$in": flt.creators}, **head, **tail})
    return sides


def stats_key(flt: EventFilter) -> str | None:
    """A stable name for the filter's statistics, or None for filters not worth keeping them.

    One's own drafts (``member``) and explicit id lists are narrow by construction.
    """
    if flt.member is not None or flt.ids is not None:
        return None
    described = {
        "statuses": sorted(flt.statuses),
        "upcoming": flt.upcoming,
        "text": flt.text,
        "tags": sorted(flt.tags),
        "all_tags": flt.all_tags,
        "from": flt.date_from.isoformat() if flt.date_from else None,
        "to": flt.date_to.isoformat() if flt.date_to else None,
        "organization": flt.organization,
        "city": normalise(flt.city).strip() if flt.city else None,
        "venue": normalise(flt.venue).strip() if flt.venue else None,
        "near": [float(x) for x in flt.near] if flt.near else None,
        "price": [None if p is None else float(p) for p in (flt.min_price, flt.max_price)],
        "creators": sorted(flt.creators or []),
        "either": flt.any_tags_or_creators,
    }
    return "stats:" + hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32]


#: Filters with a (filter, status, date) index, most selective first.
FACETS = ("_id", "members", "geo_cells", "venue_key", "city_key", "search_prefixes", "tags")


@dataclass
class Probe:
    """How to read a filter's candidates from an index: which filter, its values, what is left."""

    facet: str | None  # None: by status alone
    values: list[Any]  # one index range per value (and status)
    residual: dict[str, Any]  # what the index does not check, tested on the candidates by id


def probe_of(branch: dict[str, Any], *, with_date: bool = True) -> Probe:
    """The most selective indexed filter of ``branch`` and the conditions left to check by id.

    The index is (filter, status, date): status and, when ``with_date``, the date range are
    answered by it. A ``$all`` reads the candidates of its first value and keeps the rest.
    """
    residual = {k: v for k, v in branch.items() if k != "status" and not (with_date and k == "date")}
    for facet in FACETS:
        if facet not in branch:
            continue
        clause = branch[facet]
        if isinstance(clause, dict) and "$in" in clause and len(clause) == 1:
            values = list(dict.fromkeys(clause["$in"]))
            del residual[facet]
        elif isinstance(clause, dict) and "$all" in clause and len(clause) == 1:
            values = clause["$all"][:1]
        else:
            values = [clause]
            del residual[facet]
        return Probe(facet, values, residual)
    return Probe(None, [None], residual)
