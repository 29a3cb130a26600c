"""JSON conversion shared by HTTP responses and domain-event payloads."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson


def json_default(value: Any) -> Any:
    """datetimes as ISO-8601 UTC with ``Z``, dates as ISO dates, anything else as ``str``."""
    if isinstance(value, datetime):
        offset = value.utcoffset()
        if offset is None:  # the platform stores UTC; naive means UTC
            return value.isoformat() + "Z"
        if not offset:  # "+00:00" becomes "Z"
            return value.isoformat()[:-6] + "Z"
        return (value - offset).replace(tzinfo=None).isoformat() + "Z"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# Datetimes go through json_default: orjson would keep another offset than UTC as it is.
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS


def dump_bytes(value: Any) -> bytes:
    """``value`` as UTF-8 JSON (compact; datetimes as :func:`json_default` writes them)."""
    return orjson.dumps(value, default=json_default, option=_OPTIONS)


def dumps(value: Any) -> str:
    """The same encoding as :func:`dump_bytes`, as a string."""
    return dump_bytes(value).decode()


def jsonable(value: Any) -> Any:
    """``value`` with only JSON types left (what a consumer will receive)."""
    return orjson.loads(dump_bytes(value))
