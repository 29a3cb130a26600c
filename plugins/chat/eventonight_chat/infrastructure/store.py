"""MongoDB storage of the chat plugin: conversations (metadata) and messages, separately."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pymongo
from bson import ObjectId
from pymongo import UpdateOne

P = "chat_"
#: Marks inbox summaries computed for conversations older than them (backfill_inboxes).
COUNTED = "counted"
#: Marks parties copied onto conversations stored before they were kept there (backfill_parties).
PARTIES_KEPT = "parties"
#: Documents per user's inbox summary (one picked at random per message, so that members writing
#: to one organization at once rarely conflict on it), and how many recent activities each keeps.
SHARDS = 4
RING = 32


#: What an inbox shows of a participant, kept on each conversation (``parties``).
PARTY_FIELDS = ("role", "name", "username", "avatar_url", "deleted")


# Documents are plain dicts (conditional $inc counters, search tokens). Shapes:
# users {_id, role, name, username, avatar_url, deleted, search}; conversations
# {_id, pair, participants, parties {user: {PARTY_FIELDS}}, last_message, unread {user: n},
# last_read {user: id}, created_at, updated_at}; messages {_id (ObjectId), conversation_id, sender_id,
# recipient_id, content, created_at}; inboxes {_id "<user>#<shard>", user, conversations,
# recent [{c (conversation id), at}], version}: kept with each message so that an inbox page's total
# is read, not counted, and its newest conversations are found without reading the older ones.
# The parties are kept on the conversation so that an inbox page is two reads, not three. Every
# change to what a user's inbox shows increments the version of one of their summaries in the same
# transaction, so that a page rendered at a version the summaries still have is current (eventonight.hooks.kept).
INDEXES = {
    P + "users": [pymongo.IndexModel([("search", 1)], name="search")],
    P + "conversations": [
        pymongo.IndexModel([("pair", 1)], name="pair", unique=True),
        pymongo.IndexModel([("participants", 1), ("updated_at", -1)], name="inbox"),
    ],
    P + "messages": [pymongo.IndexModel([("conversation_id", 1), ("_id", -1)], name="timeline")],
    P + "inboxes": [pymongo.IndexModel([("user", 1)], name="user")],
}


@dataclass(frozen=True)
class InboxSummary:
    """What a user's inbox summaries say: their conversations, when the latest were active."""

    #: How many conversations the user has.
    total: int
    #: The latest activity the summaries keep of each conversation they name, newest first.
    times: list[datetime]
    #: Changes with every write to the summaries, and never returns to an earlier value.
    version: tuple


def _bump(user_id: str, shard: int | None = None) -> tuple[dict, dict]:
    """The filter and update that increment one of ``user_id``'s summaries' version (created if missing)."""
    shard = random.randrange(SHARDS) if shard is None else shard
    return {"_id": f"{user_id}#{shard}"}, {"$set": {"user": user_id}, "$inc": {"version": 1}}


def party(user: dict) -> dict:
    """The fields of a chat user document that conversations keep of a participant."""
    return {field: user.get(field) for field in PARTY_FIELDS}


class Store:
    def __init__(self, data: Any) -> None:
        self.data = data

    def _c(self, name: str):
        return self.data.collection(P + name)

    # users
    async def upsert_user(self, user_id: str, role: str, name: str, username: str, avatar_url: str | None) -> None:
        search = list(dict.fromkeys([username.lower(), *name.lower().split()]))
        fields = {
            "role": role,
            "name": name,
            "username": username,
            "avatar_url": avatar_url,
            "search": search,
            "deleted": False,
        }
        await self._c("users").update_one({"_id": user_id}, {"$set": fields}, upsert=True)
        await self._set_party(user_id, party(fields))

    async def mark_deleted(self, user_id: str) -> None:
        fields = {"deleted": True, "name": "Deleted user", "username": "", "avatar_url": None, "search": []}
        await self._c("users").update_one({"_id": user_id}, {"$set": fields})
        await self._set_party(user_id, party(fields))

    async def _set_party(self, user_id: str, shown: dict) -> None:
        """Show ``user_id`` as ``shown`` in every conversation of theirs, in the caller's transaction.

        A conversation being created meanwhile copied the party from what its transaction read,
        which this transaction's change may not be part of, and this one's update of the
        conversations may not see that new one. Both therefore write the same documents: this
        one every inbox summary of the user, the new conversation one of them (``on_message``),
        so one of the two transactions conflicts and runs again, and sees the other's result.
        Each partner's inbox shows the new party too: one of their summaries changes version.
        """
        await self._c("conversations").update_many({"participants": user_id}, {"$set": {f"parties.{user_id}": shown}})
        for shard in range(SHARDS):
            await self._c("inboxes").update_one(*_bump(user_id, shard), upsert=True)
        found = self._c("conversations").find({"participants": user_id}, {"participants": 1})
        partners = sorted({p async for d in found for p in d["participants"] if p != user_id})
        if partners:
            await self._c("inboxes").bulk_write([UpdateOne(*_bump(p), upsert=True) for p in partners])

    async def user(self, user_id: str) -> dict | None:
        return await self._c("users").find_one({"_id": user_id})

    async def users(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        found = self._c("users").find({"_id": {"$in": list(set(ids))}}, {"search": 0})
        return {d["_id"]: d async for d in found}

    async def organizations_matching(self, query: str, limit: int) -> list[dict]:
        prefix = {"$regex": f"^{re.escape(query.lower())}"}
        where = {"search": prefix, "role": "organization", "deleted": {"$ne": True}}
        return await self._c("users").find(where).sort("name", 1).limit(limit).to_list(limit)

    async def partners_of(self, user_id: str, among: list[str]) -> set[str]:
        """Who of ``among`` already has a conversation with ``user_id``."""
        cursor = self._c("conversations").find({"participants": user_id}, {"participants": 1})
        return {p async for d in cursor for p in d["participants"] if p in among and p != user_id}

    async def users_matching(self, query: str) -> list[str]:
        prefix = {"$regex": f"^{re.escape(query.lower())}"}
        return [d["_id"] async for d in self._c("users").find({"search": prefix}, {"_id": 1})]

    # conversations
    async def conversation_by_pair(self, pair: str) -> dict | None:
        return await self._c("conversations").find_one({"pair": pair})

    async def conversation(self, conversation_id: str) -> dict | None:
        return await self._c("conversations").find_one({"_id": conversation_id})

    async def insert_conversation(self, doc: dict, participants: list[dict]) -> None:
        """Insert ``doc`` keeping the parties as ``participants`` (their user documents) show them
        to this transaction; a rename meanwhile makes one of the two run again (``_set_party``)."""
        await self._c("conversations").insert_one({**doc, "parties": {u["_id"]: party(u) for u in participants}})

    async def on_message(
        self, conversation: dict, last_message: dict, recipient: str, at: datetime, *, new: bool = False
    ) -> None:
        """The conversation's preview and unread counter, and both participants' inbox summaries."""
        await self._c("conversations").update_one(
            {"_id": conversation["_id"]},
            {"$set": {"last_message": last_message, "updated_at": at}, "$inc": {f"unread.{recipient}": 1}},
        )
        for user_id in conversation["participants"]:
            update: dict = {
                "$set": {"user": user_id},
                "$push": {"recent": {"$each": [{"c": conversation["_id"], "at": at}], "$slice": -RING}},
                "$inc": {"version": 1, "conversations": 1} if new else {"version": 1},
            }
            shard = f"{user_id}#{random.randrange(SHARDS)}"
            await self._c("inboxes").update_one({"_id": shard}, update, upsert=True)

    async def mark_read(self, conversation_id: str, user_id: str, last_message_id: str | None) -> None:
        fields: dict = {f"unread.{user_id}": 0}
        if last_message_id:
            fields[f"last_read.{user_id}"] = last_message_id
        await self._c("conversations").update_one({"_id": conversation_id}, {"$set": fields})
        await self._c("inboxes").update_one(*_bump(user_id), upsert=True)  # the reader's inbox shows it

    async def inbox_summary(self, user_id: str) -> InboxSummary:
        total, latest, version = 0, {}, []
        async for shard in self._c("inboxes").find({"user": user_id}):
            total += shard.get("conversations", 0)
            recent = shard.get("recent", [])
            for activity in recent:
                latest[activity["c"]] = max(activity["at"], latest.get(activity["c"], activity["at"]))
            # The count and latest activity too: summaries written before versions were kept.
            last = (recent[-1]["c"], recent[-1]["at"]) if recent else None
            version.append((shard["_id"], shard.get("version", 0), shard.get("conversations", 0), last))
        return InboxSummary(total, sorted(latest.values(), reverse=True), tuple(sorted(version)))

    async def inbox(self, user_id: str, limit: int, offset: int, summary: InboxSummary) -> list[dict]:
        """A page of ``user_id``'s conversations, latest activity first (``summary``: their summaries)."""
        query: dict = {"participants": user_id}
        if offset + limit <= len(summary.times):
            # At least offset + limit conversations were active since that time: the page is among
            # them. (An exclusive bound: see the events plugin's next_key.)
            query["updated_at"] = {"$gt": summary.times[offset + limit - 1] - timedelta(milliseconds=1)}
        return await self._page(query, limit, offset)

    async def conversations_with(self, user_id: str, others: list[str], limit: int, offset: int):
        """A page of ``user_id``'s conversations with any of ``others``, latest activity first, and their total."""
        query = {"$and": [{"participants": user_id}, {"participants": {"$in": others}}]}
        return await self._page(query, limit, offset), await self._c("conversations").count_documents(query)

    async def _page(self, query: dict, limit: int, offset: int) -> list[dict]:
        cursor = self._c("conversations").find(query).sort([("updated_at", -1), ("_id", 1)])
        return await cursor.skip(offset).limit(limit).to_list(limit)

    async def backfill_inboxes(self) -> bool:
        """Summarise the inboxes once for conversations stored before the summaries were kept."""
        if await self._c("inboxes").find_one({"_id": COUNTED}):
            return False
        pipeline = [
            {"$unwind": "$participants"},
            {
                "$group": {
                    "_id": "$participants",
                    "n": {"$sum": 1},
                    "recent": {"$push": {"c": "$_id", "at": "$updated_at"}},
                }
            },
        ]
        async for d in self._c("conversations").aggregate(pipeline):
            recent = sorted(d["recent"], key=lambda a: a["at"])[-RING:]
            summary = {"user": d["_id"], "conversations": d["n"], "recent": recent}
            # An update, not a replacement: the version goes on from where it was.
            await self._c("inboxes").update_one(
                {"_id": f"{d['_id']}#0"}, {"$set": summary, "$inc": {"version": 1}}, upsert=True
            )
        await self._mark_done(COUNTED)
        return True

    async def _mark_done(self, marker: str) -> None:
        # An upsert: processes starting together may both run a backfill (each is idempotent).
        await self._c("inboxes").update_one({"_id": marker}, {"$setOnInsert": {"done": True}}, upsert=True)

    async def backfill_parties(self) -> bool:
        """Copy the parties once onto conversations stored before conversations kept them.

        Each party is set only where it is still missing: a rename that reached a conversation
        first is not overwritten with what this read before it (and a conversation this misses
        shows its parties from the users, as ``Chat`` does for any party not kept).
        """
        if await self._c("inboxes").find_one({"_id": PARTIES_KEPT}):
            return False
        found = self._c("conversations").find({}, {"participants": 1, "parties": 1})
        missing = [(d["_id"], p) async for d in found for p in d["participants"] if p not in d.get("parties", {})]
        for start in range(0, len(missing), 500):
            chunk = missing[start : start + 500]
            users = await self.users([p for _, p in chunk])
            writes = [
                UpdateOne({"_id": c, f"parties.{p}": {"$exists": False}}, {"$set": {f"parties.{p}": party(users[p])}})
                for c, p in chunk
                if p in users
            ]
            if writes:
                await self._c("conversations").bulk_write(writes, ordered=False)
        await self._mark_done(PARTIES_KEPT)
        return True

    async def unread_total(self, user_id: str) -> int:
        pipeline = [
            {"$match": {"participants": user_id}},
            {"$group": {"_id": None, "n": {"$sum": f"$unread.{user_id}"}}},
        ]
        docs = [d async for d in self._c("conversations").aggregate(pipeline)]
        return int(docs[0]["n"]) if docs else 0

    # messages
    async def insert_message(self, doc: dict) -> str:
        doc = {"_id": ObjectId(), **doc}
        await self._c("messages").insert_one(doc)
        return str(doc["_id"])

    async def messages(self, conversation_id: str, limit: int, before: str | None, offset: int = 0) -> list[dict]:
        query: dict = {"conversation_id": conversation_id}
        if before:
            query["_id"] = {"$lt": ObjectId(before)}
        cursor = self._c("messages").find(query).sort("_id", -1).skip(offset).limit(limit)
        return await cursor.to_list(limit)

    async def count_messages(self, conversation_id: str) -> int:
        return await self._c("messages").count_documents({"conversation_id": conversation_id})
