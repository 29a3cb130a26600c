"""Newest-first pages of a user's notifications without reading all of them.

A user's notifications are only ever added (a deleted user's go all at once), so how many
there were up to an id never changes once no transaction can still commit an older id.
A *checkpoint* per user keeps that count and the id of every ``MARK_EVERY``-th newest
notification up to it; a page reads only what came after the checkpoint plus the index
range from the mark that covers the page, and its total is the kept count plus what came
after. Nothing on the write path changes: the checkpoint is moved forward by a page read
once more than ``REFRESH_AFTER`` notifications came after it.

On SecantusDB a ``count_documents`` or ``skip`` over an owner's notifications decodes every
one of them; on MongoDB both are index scans, and these reads are index ranges there too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

#: Ids older than this are settled: no transaction still running can commit one (MongoDB
#: ends a transaction after 60 s), with room for clock skew between the processes making ids.
SETTLED = timedelta(minutes=5)
MARK_EVERY = 20
#: Marks kept, covering the newest MARK_EVERY * MARKS settled notifications; deeper pages read in full.
MARKS = 20
#: Notifications after the checkpoint that make a page read move it forward.
REFRESH_AFTER = 100


async def newest_first(notifications, checkpoints, user_id: str, limit: int, offset: int, now: datetime | None = None):
    """``(page, total)`` of ``user_id``'s notifications, newest first."""
    checkpoint = await checkpoints.find_one({"_id": user_id})
    upto = checkpoint["upto"] if checkpoint else None
    query: dict[str, Any] = {"user_id": user_id}
    newer = await notifications.find({**query, "_id": {"$gt": upto}} if upto else query).sort("_id", -1).to_list(None)
    if checkpoint is None or len(newer) > REFRESH_AFTER:
        moved = await _move(notifications, checkpoint, user_id, newer, now or datetime.now(UTC))
        if moved != checkpoint:
            await checkpoints.replace_one({"_id": user_id}, moved, upsert=True)
            checkpoint, newer = moved, [d for d in newer if d["_id"] > moved["upto"]]
    total = checkpoint["n"] + len(newer)
    page = newer[offset : offset + limit]
    wanted = min(limit, max(total - offset, 0))
    if len(page) < wanted:
        older = offset + limit - len(newer)  # how many of the settled ones, newest first, the page reaches
        skip = max(offset - len(newer), 0)
        bound: dict[str, Any] = {"$lte": checkpoint["upto"]}
        marks = checkpoint["marks"]
        mark = (older + MARK_EVERY - 1) // MARK_EVERY - 1
        if mark < len(marks):
            bound["$gte"] = marks[mark]  # at least (mark + 1) * MARK_EVERY of them are this new or newer
        cursor = notifications.find({**query, "_id": bound}).sort("_id", -1).skip(skip).limit(older - skip)
        page += await cursor.to_list(older - skip)
    return page, total


async def _move(notifications, checkpoint: dict | None, user_id: str, newer: list[dict], now: datetime) -> dict:
    """A checkpoint at the newest settled id: ``newer`` holds everything after ``checkpoint``."""
    upto = ObjectId.from_datetime(now - SETTLED)
    settled = [d["_id"] for d in newer if d["_id"] <= upto]
    if not settled:
        return checkpoint or {"_id": user_id, "upto": upto, "n": 0, "marks": []}
    newest = settled[: MARK_EVERY * MARKS]
    if len(newest) < MARK_EVERY * MARKS and checkpoint is not None and checkpoint["n"]:
        query = {"user_id": user_id, "_id": {"$lte": checkpoint["upto"]}}
        cursor = notifications.find(query, {"_id": 1}).sort("_id", -1).limit(MARK_EVERY * MARKS - len(newest))
        newest += [d["_id"] async for d in cursor]
    return {
        "_id": user_id,
        "upto": settled[0],
        "n": (checkpoint["n"] if checkpoint else 0) + len(settled),
        "marks": newest[MARK_EVERY - 1 :: MARK_EVERY],
    }
