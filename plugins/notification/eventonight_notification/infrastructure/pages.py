"""Newest-first pages of a user's notifications without reading all of them.

A user's notifications are only ever added (a deleted user's go all at once), so how many
there were up to an id never changes once no transaction can still commit an older id.
A *checkpoint* per user keeps that count and the id of every ``MARK_EVERY``-th newest
notification up to it; a page reads only the index range from the mark that covers the page
to the newest, and its total is the kept count plus how many of those came after the
checkpoint. Nothing on the write path changes: the checkpoint is moved forward by a page
read once more than ``REFRESH_AFTER`` notifications came after it.

On SecantusDB a ``count_documents`` or ``skip`` over an owner's notifications decodes every
one of them; on MongoDB both are index scans, and these reads are index ranges there too.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from typing import Any

from bson import ObjectId

from eventonight.hooks.kept import KeptPages

#: Ids older than this are settled: no transaction still running can commit one (MongoDB
#: ends a transaction after 60 s), with room for clock skew between the processes making ids.
SETTLED = timedelta(minutes=5)
MARK_EVERY = 20
#: Marks kept, covering the newest MARK_EVERY * MARKS settled notifications; deeper pages read in full.
MARKS = 20
#: Notifications after the checkpoint that make a page read move it forward.
REFRESH_AFTER = 100


class Pages:
    """Reads the pages, and remembers the last ``kept`` checkpoints it read or moved.

    A remembered checkpoint can only be older than the stored one, never wrong: with it a page
    costs one read, the index range from its mark to the newest notification. ``served`` keeps
    up to ``pages_kept`` whole pages with their version (see ``Store.page``).
    """

    def __init__(self, kept: int = 1000, pages_kept: int = 0) -> None:
        self.kept = kept
        self._known: OrderedDict[str, dict] = OrderedDict()
        self.served = KeptPages(pages_kept)

    def _remember(self, checkpoint: dict) -> None:
        self._known[checkpoint["_id"]] = checkpoint
        self._known.move_to_end(checkpoint["_id"])
        while len(self._known) > self.kept:
            self._known.popitem(last=False)

    async def newest_first(
        self, notifications, checkpoints, user_id: str, limit: int, offset: int, now: datetime | None = None
    ) -> tuple[list[dict], int]:
        """``(page, total)`` of ``user_id``'s notifications, newest first."""
        checkpoint = self._known.get(user_id) or await checkpoints.find_one({"_id": user_id})
        query: dict[str, Any] = {"user_id": user_id}
        mark = (offset + limit + MARK_EVERY - 1) // MARK_EVERY - 1
        if checkpoint is not None and mark < len(checkpoint["marks"]):
            # At least offset + limit settled ones are this new or newer, and everything after them.
            # An exclusive bound just below the mark: see the events plugin's next_key.
            query["_id"] = {"$gt": _just_below(checkpoint["marks"][mark])}
        found = await notifications.find(query).sort("_id", -1).to_list(None)
        if checkpoint is not None and checkpoint["n"] and not found:
            # All of them were deleted with their user: what was remembered no longer holds.
            self._known.pop(user_id, None)
            return [], 0
        newer = [d for d in found if checkpoint is None or d["_id"] > checkpoint["upto"]]
        if checkpoint is None or len(newer) > REFRESH_AFTER:
            moved = await _move(notifications, checkpoint, user_id, newer, now or datetime.now(UTC))
            if moved != checkpoint:
                await checkpoints.replace_one({"_id": user_id}, moved, upsert=True)
                checkpoint, newer = moved, [d for d in newer if d["_id"] > moved["upto"]]
        self._remember(checkpoint)
        return found[offset : offset + limit], checkpoint["n"] + len(newer)


def _just_below(oid: ObjectId) -> ObjectId:
    return ObjectId((int.from_bytes(oid.binary, "big") - 1).to_bytes(12, "big"))


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
