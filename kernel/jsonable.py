"""JSON conversion shared by HTTP responses and domain-event payloads."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any


def json_default(value: Any) -> Any:
    """datetimes as ISO-8601 UTC with ``Z``, dates as ISO dates, anything else as ``str``."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)  # the platform stores UTC; naive means UTC
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# One encoder, built once: json.dumps with non-default options builds a new one per call.
dumps = json.JSONEncoder(default=json_default, separators=(",", ":")).encode


def jsonable(value: Any) -> Any:
    """``value`` with only JSON types left (what a consumer will receive)."""
    return json.loads(dumps(value))
