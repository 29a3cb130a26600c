"""Processed-message markers: what makes a consumer's work on a message happen exactly once.

A marker is written in the transaction of the consumer's own writes, so a message's work and
its marker commit together or not at all; a redelivered message finds its marker and is
skipped. One marker document per transaction, however many messages it handled:
``{_id, keys: ["<plugin>:<consumer>:<event id>", ...], at}``, with a unique index on ``keys``,
so a key is in at most one marker and a batch holding a redelivered message fails its insert at
once. On the embedded database each document written costs about half a millisecond whatever
its size, and a marker per message and plugin was two of the seven documents a follow wrote.

Markers of the earlier shape, one per message (``{_id: key, at}``), are honoured too until
they expire. Every marker expires ``KEEP_SECONDS`` after it was written: a broker does not
redeliver a message that late.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

PROCESSED = "kernel_processed_messages"
#: How long markers are kept (a TTL index removes them).
KEEP_SECONDS = 14 * 24 * 3600


class AlreadyProcessed(Exception):
    """A message of the batch was processed before: handle the batch's messages one by one."""


def marker_key(plugin: str, consumer: str, event_id: str) -> str:
    return f"{plugin}:{consumer}:{event_id}"


async def ensure_indexes(db: Any) -> None:
    await db[PROCESSED].create_index("at", expireAfterSeconds=KEEP_SECONDS)
    # Sparse: the earlier markers have no keys; the index still serves `{keys: key}`.
    await db[PROCESSED].create_index("keys", name="keys", unique=True, sparse=True)


async def was_processed(collection: Any, key: str) -> bool:
    if await collection.find_one({"keys": key}, {"_id": 1}):
        return True
    return await collection.find_one({"_id": key}, {"_id": 1}) is not None  # the earlier shape


async def mark_processed(collection: Any, keys: list[str], at: datetime, *, checked: bool = False) -> None:
    """Write one marker for ``keys``. Raises :class:`AlreadyProcessed` (an earlier-shape marker
    exists) or pymongo's ``DuplicateKeyError`` (a marker holds one of the keys). ``checked``: the
    caller found none of them with :func:`was_processed` in this transaction (one read less)."""
    if not checked and await collection.find_one({"_id": {"$in": keys}}, {"_id": 1}):
        raise AlreadyProcessed(f"one of {len(keys)} messages was processed before")
    await collection.insert_one({"keys": keys, "at": at})
