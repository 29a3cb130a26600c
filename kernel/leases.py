"""Cluster-wide leases in MongoDB: one holder at a time, expiring if it dies."""

from __future__ import annotations

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

    async def acquire(self) -> bool:
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
        return doc is not None and doc["owner"] == self.owner

    async def release(self) -> None:
        await self.database.db[LEASES].delete_one({"_id": self.name, "owner": self.owner})
