"""Cluster-wide leases in MongoDB: one holder at a time, expiring if it dies."""

from __future__ import annotations

import time
from datetime import timedelta
from uuid import uuid4

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from eventonight.kernel.db import Database, utcnow

LEASES = "kernel_leases"


class Lease:
    """A named lease. ``acquire()`` takes or renews it; only one owner holds it."""

    def __init__(self, database: Database, name: str, seconds: float) -> None:
        self.database = database
        self.name = name
        self.seconds = seconds
        self.owner = uuid4().hex
        self._renewed: float | None = None  # monotonic time of our last successful acquire

    async def acquire(self) -> bool:
        self._renewed = None
        started = time.monotonic()
        now = utcnow()
        try:
            doc = await self.database.db[LEASES].find_one_and_update(
                {"_id": self.name, "$or": [{"owner": self.owner}, {"expiresAt": {"$lt": now}}]},
                {"$set": {"owner": self.owner, "expiresAt": now + timedelta(seconds=self.seconds)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # held by someone else: the upsert collided with their document
        held = doc is not None and doc["owner"] == self.owner
        if held:
            self._renewed = started
        return held

    async def keep(self) -> bool:
        """``acquire()``, skipped while our last renewal is younger than a third of the term.

        For holders that check on every wake (the relay wakes on each commit): a
        write per check would cost more than the work it guards, and a renewal
        a third of a term old still leaves two thirds before anyone may take over.
        """
        if self._renewed is not None and time.monotonic() - self._renewed < self.seconds / 3:
            return True
        return await self.acquire()

    async def release(self) -> None:
        self._renewed = None
        await self.database.db[LEASES].delete_one({"_id": self.name, "owner": self.owner})
