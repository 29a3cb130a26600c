"""Keeping a local copy of another plugin's data: sets of documents that are there or not.

Plugins never read each other's collections; they keep copies of what they need, fed by
domain events (a follow created, a follow deleted). :func:`apply_membership` applies a batch
of such changes in a few statements instead of one upsert per change: on the embedded
database each statement costs a full write, and a consumer's batch may hold hundreds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


async def apply_membership(collection: Any, changes: Iterable[tuple[dict[str, Any], bool]]) -> None:
    """Apply ``(document, present)`` changes, in order, to documents identified by their ``_id``.

    Each ``_id`` ends as its last change says: inserted if absent (a document already there is
    left as it is, so a copy's content must follow from its ``_id``, as a follower and a followed
    user do from ``"follower:followed"``) or removed. At most one read, one insert and one
    delete, whatever the number of changes. Run it in the consumer's transaction: a concurrent
    transaction inserting the same ``_id`` conflicts with it, and one of the two is re-run.
    """
    final: dict[Any, tuple[dict[str, Any], bool]] = {}
    for document, present in changes:
        final[document["_id"]] = (document, present)
    wanted = [key for key, (_, present) in final.items() if present]
    gone = [key for key, (_, present) in final.items() if not present]
    if wanted:
        kept = {d["_id"] async for d in collection.find({"_id": {"$in": wanted}}, {"_id": 1})}
        if fresh := [final[key][0] for key in wanted if key not in kept]:
            await collection.insert_many(fresh)
    if gone:
        await collection.delete_many({"_id": {"$in": gone}})
