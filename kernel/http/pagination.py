"""``limit`` / ``offset`` pagination and the ``{items, limit, offset, total, hasMore}`` page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from eventonight.kernel.errors import ApiError

#: The largest ``offset`` any list accepts: deeper pages are refused (400), never handed to the database.
MAX_OFFSET = 1_000_000


def page_params(request: web.Request, *, default: int = 20, maximum: int = 100) -> tuple[int, int]:
    """Read ``limit`` and ``offset`` from the query string; 400 when out of range."""
    try:
        limit = int(request.query.get("limit", default))
        offset = int(request.query.get("offset", 0))
    except ValueError as exc:
        raise ApiError(400, "limit and offset must be integers") from exc
    if not 1 <= limit <= maximum:
        raise ApiError(400, f"limit must be between 1 and {maximum}")
    if not 0 <= offset <= MAX_OFFSET:
        raise ApiError(400, f"offset must be between 0 and {MAX_OFFSET}")
    return limit, offset


def Page(items: list[Any], *, limit: int, offset: int, total: int) -> dict[str, Any]:  # noqa: N802 - reads as a type
    return {"items": items, "limit": limit, "offset": offset, "total": total, "hasMore": offset + len(items) < total}
