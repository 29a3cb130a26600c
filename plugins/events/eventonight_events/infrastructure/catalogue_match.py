"""The conditions an index range leaves over, checked on the rows it returned.

Only the few shapes catalogue_query writes are understood — equality, ``$in``, ``$all``,
ranges on a single value, an anchored ``$regex`` and ``$geoWithin``/``$centerSphere`` — with
MongoDB's meaning. Anything else answers None: the caller then asks the database, by id.
Checking here saves a second read of every candidate (the first one already holds the fields).
"""

from __future__ import annotations

import math
import re
from typing import Any

_RANGES = {
    "$gte": lambda a, b: a >= b,
    "$gt": lambda a, b: a > b,
    "$lte": lambda a, b: a <= b,
    "$lt": lambda a, b: a < b,
}


class Unsupported(Exception):
    pass


def _element_matches(value: Any, wanted: Any) -> bool:
    """``{field: wanted}`` on one value: equality, an array holding it, or a regular expression."""
    if isinstance(wanted, re.Pattern):
        values = value if isinstance(value, list) else [value]
        return any(isinstance(v, str) and wanted.search(v) for v in values)
    if isinstance(value, list):
        return wanted in value or value == wanted
    return value == wanted


def _central_angle(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(h)))


def _clause(value: Any, clause: Any) -> bool:
    if not isinstance(clause, dict):
        return _element_matches(value, clause)
    if "$in" in clause and len(clause) == 1:
        return any(_element_matches(value, w) for w in clause["$in"])
    if "$all" in clause and set(clause) <= {"$all", "$regex"}:
        wanted = list(clause["$all"]) + ([re.compile(clause["$regex"])] if "$regex" in clause else [])
        return isinstance(value, list) and all(_element_matches(value, w) for w in wanted)
    if set(clause) == {"$regex"}:
        return _element_matches(value, re.compile(clause["$regex"]))
    if set(clause) <= set(_RANGES):
        if isinstance(value, list):
            raise Unsupported("a range on an array")
        if value is None:
            return False
        try:
            return all(_RANGES[op](value, bound) for op, bound in clause.items())
        except TypeError:  # another type than the bound's: MongoDB compares within a type only
            return False
    if set(clause) == {"$geoWithin"} and set(clause["$geoWithin"]) == {"$centerSphere"}:
        (lon, lat), radius = clause["$geoWithin"]["$centerSphere"]
        if not isinstance(value, dict) or value.get("type") != "Point":
            return False
        point_lon, point_lat = value["coordinates"]
        return _central_angle(lon, lat, point_lon, point_lat) <= radius
    raise Unsupported(f"no local check for {sorted(clause)}")


def matches(row: dict[str, Any], conditions: dict[str, Any]) -> bool | None:
    """Whether ``row`` (holding every field named) meets ``conditions``; None if it cannot tell."""
    try:
        return all(_clause(row.get(name), clause) for name, clause in conditions.items())
    except Unsupported:
        return None
