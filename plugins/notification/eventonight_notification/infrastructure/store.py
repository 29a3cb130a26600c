"""MongoDB storage of the notification plugin (collections prefixed ``notification_``)."""

from __future__ import annotations

import secrets
import zlib
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import pymongo
from bson import ObjectId
from bson.errors import InvalidId

from eventonight.hooks.copies import apply_membership
from eventonight_notification.infrastructure.pages import Pages

P = "notification_"
#: Marks the unread counters computed for notifications stored before they were kept.
COUNTED = "#counted"


# Documents are plain dicts (batch inserts, aggregations). Shapes: notifications
# {_id (ObjectId), user_id, type, metadata, read, created_at}; follows {_id,
# follower, followed}; holders {_id, event_id, user_id, orders}; users {_id, name,
# avatar_url}; checkpoints {_id (user id), upto, n, marks} (pages.py); unread {_id (user
# id), n, v}: each user's unread notifications, kept in the transactions that change them (counting
# a batch's users at once scanned every notification on the embedded server, where `$in` on the
# user is no index range, and one count per user is one read each), and v, the version of the
# user's pages: every write that changes what a page shows changes it, and it never repeats
# (random when the counter is made), so a page kept at the current v is current (Store.page);
# presence: one document per web process and bucket {_id "<process>#<bucket>", process, bucket,
# users, expires_at}: a process that dies stops renewing expires_at and its users count as offline
# once it passes.
INDEXES = {
    P + "notifications": [
        pymongo.IndexModel([("user_id", 1), ("_id", -1)], name="inbox"),
        pymongo.IndexModel([("user_id", 1), ("read", 1)], name="unread"),
    ],
    P + "follows": [pymongo.IndexModel([("followed", 1)], name="followed")],
    P + "holders": [pymongo.IndexModel([("event_id", 1)], name="event")],
    # Single-use tickets that open a stream (EventSource cannot send an Authorization header).
    P + "stream_tickets": [pymongo.IndexModel([("expires_at", 1)], name="expiry", expireAfterSeconds=0)],
    P + "presence": [
        pymongo.IndexModel([("bucket", 1), ("expires_at", 1)], name="bucket"),
        pymongo.IndexModel([("expires_at", 1)], name="expiry", expireAfterSeconds=0),
    ],
}
#: Indexes earlier versions declared: the list of users was indexed, so every renewal re-indexed it.
RETIRED_INDEXES = {P + "presence": ["users"]}
#: Presence documents per process (Store.record_presence): a change rewrites only its users' buckets.
PRESENCE_BUCKETS = 64


def presence_bucket(user_id: str) -> int:
    """A user's presence bucket; the same in every process (so any one can look a user up)."""
    return zlib.crc32(user_id.encode()) % PRESENCE_BUCKETS


async def issue_stream_ticket(data, ticket_hash: str, user_id: str, expires_at: datetime, stream_until: float) -> None:
    await data.collection(P + "stream_tickets").insert_one(
        {"_id": ticket_hash, "user_id": user_id, "expires_at": expires_at, "stream_until": stream_until}
    )


async def redeem_stream_ticket(data, ticket_hash: str, now: datetime) -> dict[str, Any] | None:
    """The ticket's owner, once: the first redemption deletes it."""
    return await data.collection(P + "stream_tickets").find_one_and_delete(
        {"_id": ticket_hash, "expires_at": {"$gt": now}}
    )


def parse_id(value: str | None) -> ObjectId | None:
    try:
        return ObjectId(value) if value else None
    except (InvalidId, TypeError):
        return None


def new_version() -> int:
    """A counter's first version: random, so a counter deleted and made again does not repeat one."""
    return secrets.randbits(62)


def view(doc: dict) -> dict:
    return {
        "id": str(doc["_id"]),
        "userId": doc["user_id"],
        "type": doc["type"],
        "metadata": doc.get("metadata", {}),
        "read": doc.get("read", False),
        "createdAt": doc["created_at"],
    }


class Store:
    def __init__(self, data: Any) -> None:
        self.data = data

    def _c(self, name: str):
        return self.data.collection(P + name)

    # local copies
    async def upsert_user(self, user_id: str, name: str, avatar_url: str | None) -> None:
        await self._c("users").update_one(
            {"_id": user_id}, {"$set": {"name": name, "avatar_url": avatar_url}}, upsert=True
        )

    async def users(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self._c("users").find({"_id": {"$in": [i for i in ids if i]}})}

    async def apply_follows(self, changes: list[tuple[str, str, bool]]) -> None:
        """``(follower, followed, present)`` changes, in order: each pair ends as its last change says."""
        docs = [({"_id": f"{a}:{b}", "follower": a, "followed": b}, present) for a, b, present in changes]
        await apply_membership(self._c("follows"), docs)

    async def followers_of(self, user_ids: list[str]) -> list[str]:
        cursor = self._c("follows").find({"followed": {"$in": user_ids}}, {"follower": 1})
        return [d["follower"] async for d in cursor]

    async def followers_by_followed(self, user_ids: set[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        query = {"followed": {"$in": sorted(user_ids)}}
        cursor = self._c("follows").find(query, {"follower": 1, "followed": 1})
        async for d in cursor:
            found.setdefault(d["followed"], []).append(d["follower"])
        return found

    async def add_holder(self, event_id: str, user_id: str, order_id: str) -> None:
        await self._c("holders").update_one(
            {"_id": f"{event_id}:{user_id}"},
            {"$addToSet": {"orders": order_id}, "$set": {"event_id": event_id, "user_id": user_id}},
            upsert=True,
        )

    async def remove_holder_order(self, event_id: str, user_id: str, order_id: str) -> None:
        key = {"_id": f"{event_id}:{user_id}"}
        await self._c("holders").update_one(key, {"$pull": {"orders": order_id}})
        await self._c("holders").delete_one({**key, "orders": {"$size": 0}})

    async def holders(self, event_id: str) -> list[str]:
        return [d["user_id"] async for d in self._c("holders").find({"event_id": event_id})]

    async def forget_user(self, user_id: str) -> None:
        await self._c("unread").delete_one({"_id": user_id})
        await self._c("notifications").delete_many({"user_id": user_id})
        await self._c("checkpoints").delete_one({"_id": user_id})
        await self._c("users").delete_one({"_id": user_id})
        await self._c("follows").delete_many({"$or": [{"follower": user_id}, {"followed": user_id}]})
        await self._c("holders").delete_many({"user_id": user_id})

    # notifications
    async def insert(self, docs: list[dict]) -> None:
        if docs:
            await self._c("notifications").insert_many(docs)

    async def page(
        self, user_id: str, unread_only: bool, limit: int, offset: int, pages: Pages | None = None
    ) -> tuple[list[dict], int]:
        """``(page, total)``, newest first. With ``pages`` that keep pages, a page read at the
        version the user's counter still has is served without reading it again."""
        pages = pages or Pages()
        key = (user_id, unread_only, limit, offset)
        # The version before the page: a page read after a change is kept under the older one.
        version = await self.page_version(user_id) if pages.served.size else None
        if version is not None and (kept := pages.served.get(key, version)) is not None:
            return kept
        if unread_only:
            # The unread ones are few for anyone who reads; their index range is the page.
            query = {"user_id": user_id, "read": False}
            cursor = self._c("notifications").find(query).sort("_id", -1).skip(offset).limit(limit)
            found = await cursor.to_list(limit), await self._c("notifications").count_documents(query)
        else:
            notifications, checkpoints = self._c("notifications"), self._c("checkpoints")
            found = await pages.newest_first(notifications, checkpoints, user_id, limit, offset)
        if version is not None:
            pages.served.put(key, version, found)
        return found

    async def page_version(self, user_id: str) -> int | None:
        """The version of ``user_id``'s pages; None when there is none to go by (no counter yet)."""
        doc = await self._c("unread").find_one({"_id": user_id})
        return doc.get("v") if doc else None

    async def since(self, user_id: str, after: ObjectId, limit: int = 500) -> list[dict]:
        cursor = self._c("notifications").find({"user_id": user_id, "_id": {"$gt": after}}).sort("_id", 1)
        return await cursor.limit(limit).to_list(limit)

    async def add_unread(self, added: dict[str, int]) -> dict[str, int]:
        """Add ``added`` (user -> new unread notifications) to the counters; the new counts.

        One read, one insert of the users' first counters and one update per distinct amount
        (most batches: one), whatever the number of users. Concurrent batches for the same user
        conflict on its counter (or its first one's key) and one is re-run.
        """
        counters = self._c("unread")
        users = sorted(added)
        kept = {d["_id"]: d["n"] async for d in counters.find({"_id": {"$in": users}})}
        if fresh := [{"_id": u, "n": added[u], "v": new_version()} for u in users if u not in kept]:
            await counters.insert_many(fresh)  # one insert, not an upsert per user
        by_amount: dict[int, list[str]] = defaultdict(list)
        for user_id in kept:
            by_amount[added[user_id]].append(user_id)
        for amount, ids in by_amount.items():
            await counters.update_many({"_id": {"$in": ids}}, {"$inc": {"n": amount, "v": 1}})
        return {u: kept.get(u, 0) + added[u] for u in users}

    async def unread_count(self, user_id: str) -> int:
        doc = await self._c("unread").find_one({"_id": user_id})
        return doc["n"] if doc else 0

    async def mark_read(self, user_id: str, notification_id: ObjectId) -> bool:
        result = await self._c("notifications").update_one(
            {"_id": notification_id, "user_id": user_id, "read": False}, {"$set": {"read": True}}
        )
        if result.matched_count == 1:
            counted = await self._c("unread").update_one({"_id": user_id, "n": {"$gt": 0}}, {"$inc": {"n": -1, "v": 1}})
            if counted.matched_count == 0:  # a counter that drifted to 0: the page changed all the same
                await self._c("unread").update_one({"_id": user_id}, {"$inc": {"v": 1}})
            return True
        return await self._c("notifications").count_documents({"_id": notification_id, "user_id": user_id}) == 1

    async def mark_all_read(self, user_id: str) -> int:
        result = await self._c("notifications").update_many(
            {"user_id": user_id, "read": False}, {"$set": {"read": True}}
        )
        await self._c("unread").update_one({"_id": user_id}, {"$set": {"n": 0}, "$inc": {"v": 1}})
        return result.modified_count

    async def backfill_unread(self) -> bool:
        """Count each user's unread notifications once, for those stored before the counters were
        kept. Run in a transaction: a batch counted meanwhile conflicts with it and is re-run."""
        if await self._c("unread").find_one({"_id": COUNTED}):
            return False
        pipeline = [{"$match": {"read": False}}, {"$group": {"_id": "$user_id", "n": {"$sum": 1}}}]
        counts = [{**d, "v": new_version()} async for d in self._c("notifications").aggregate(pipeline)]
        await self._c("unread").delete_many({})
        await self._c("unread").insert_many([*counts, {"_id": COUNTED}])
        return True

    # presence: per web process, up to PRESENCE_BUCKETS documents listing the users with a stream
    # open there. Buckets, not one list: the embedded engine rewrites a document whole, so a change
    # rewrites only the buckets of the users it concerns. The lists are not indexed (a user is
    # found through their bucket): an indexed list is re-indexed whole on any change to its
    # document, the renewal of expires_at included.
    async def record_presence(self, process_id: str, buckets: dict[int, list[str]], until: datetime) -> None:
        """Set these buckets of ``process_id`` to their users (an empty one is removed)."""
        presence = self._c("presence")
        for bucket, users in sorted(buckets.items()):
            key = {"_id": f"{process_id}#{bucket}"}
            if users:
                document = {"process": process_id, "bucket": bucket, "users": sorted(users), "expires_at": until}
                await presence.replace_one(key, document, upsert=True)
            else:
                await presence.delete_one(key)

    async def renew_presence(self, process_id: str, buckets: list[int], until: datetime) -> bool:
        """Move the expiry of these buckets of ``process_id``; false if one of them is missing
        (it lapsed and was removed: the caller writes them again)."""
        ids = [f"{process_id}#{bucket}" for bucket in buckets]
        if not ids:
            return True
        renewed = await self._c("presence").update_many({"_id": {"$in": ids}}, {"$set": {"expires_at": until}})
        return renewed.matched_count == len(ids)

    async def online_among(self, user_ids: set[str], now: datetime, *, except_process: str | None = None) -> set[str]:
        """Which of ``user_ids`` have a stream open in a live process (other than ``except_process``)."""
        query: dict = {"expires_at": {"$gt": now}}
        # A few users: only their buckets' documents (one per live process each). Many: every
        # live document, read once.
        if len(user_ids) <= 50:
            query["bucket"] = {"$in": sorted({presence_bucket(u) for u in user_ids})}
        if except_process is not None:
            query["process"] = {"$ne": except_process}
        cursor = self._c("presence").find(query, {"users": 1})
        return {u async for d in cursor for u in d.get("users", []) if u in user_ids}

    async def online(self, user_id: str, now: datetime) -> bool:
        return bool(await self.online_among({user_id}, now))

    async def process_gone(self, process_id: str) -> None:
        await self._c("presence").delete_many({"process": process_id})


PRESENCE_TTL = timedelta(seconds=45)
