"""JSON conversion shared by HTTP responses and domain-event payloads."""

from __future__ import annotations

import re
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


# orjson writes UTC and naive datetimes itself exactly as json_default does (a Python callback per
# datetime was a tenth of a chat inbox page's web time), but would keep another offset than UTC
# as it is: an answer in which one shows (a time followed by "+02:00" and a closing quote) is
# written again with every datetime passed to json_default. A string that merely looks like
# one costs that second pass, nothing more.
_NATIVE = orjson.OPT_NON_STR_KEYS | orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z
_PASSED = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_OTHER_OFFSET = re.compile(rb'\d\d:\d\d(?:\.\d+)?[+-]\d\d:\d\d(?::\d\d(?:\.\d+)?)?"')
# How every match of the pattern above ends; searched first, it is several times faster, and
# answers with only UTC times (ending "Z") have none.
_OFFSET_END = re.compile(rb':\d\d(?:\.\d+)?"')


def dump_bytes(value: Any) -> bytes:
    """``value`` as UTF-8 JSON (compact; datetimes as :func:`json_default` writes them)."""
    data = orjson.dumps(value, default=json_default, option=_NATIVE)
    if _OFFSET_END.search(data) is None or _OTHER_OFFSET.search(data) is None:
        return data
    return orjson.dumps(value, default=json_default, option=_PASSED)


def dumps(value: Any) -> str:
    """The same encoding as :func:`dump_bytes`, as a string."""
    return dump_bytes(value).decode()


def jsonable(value: Any) -> Any:
    """``value`` with only JSON types left (what a consumer will receive)."""
    return orjson.loads(dump_bytes(value))
