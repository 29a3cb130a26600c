"""MongoDB storage of the chat plugin: conversations (metadata) and messages, separately."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pymongo
from bson import ObjectId

P = "chat_"


# Documents are plain dicts (conditional $inc counters, search tokens). Shapes:
# users {_id, role, name, username, avatar_url, deleted, search}; conversations
# {_id, pair, participants, last_message, unread {user: n}, last_read {user: id},
# created_at, updated_at}; messages {_id (ObjectId), conversation_id, sender_id,
# recipient_id, content, created_at}.
INDEXES = {
    P + "users": [pymongo.IndexModel([("search", 1)], name="search")],
    P + "conversations": [
        pymongo.IndexModel([("pair", 1)], name="pair", unique=True),
        pymongo.IndexModel([("participants", 1), ("updated_at", -1)], name="inbox"),
    ],
    P + "messages": [pymongo.IndexModel([("conversation_id", 1), ("_id", -1)], name="timeline")],
}


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

    async def mark_deleted(self, user_id: str) -> None:
        await self._c("users").update_one(
            {"_id": user_id},
            {"$set": {"deleted": True, "name": "Deleted user", "username": "", "avatar_url": None, "search": []}},
        )

    async def user(self, user_id: str) -> dict | None:
        return await self._c("users").find_one({"_id": user_id})

    async def users(self, ids: list[str]) -> dict[str, dict]:
        return {d["_id"]: d async for d in self._c("users").find({"_id": {"$in": list(set(ids))}})}

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

    async def insert_conversation(self, doc: dict) -> None:
        await self._c("conversations").insert_one(doc)

    async def on_message(self, conversation_id: str, last_message: dict, recipient: str, at: datetime) -> None:
        await self._c("conversations").update_one(
            {"_id": conversation_id},
            {"$set": {"last_message": last_message, "updated_at": at}, "$inc": {f"unread.{recipient}": 1}},
        )

    async def mark_read(self, conversation_id: str, user_id: str, last_message_id: str | None) -> None:
        fields: dict = {f"unread.{user_id}": 0}
        if last_message_id:
            fields[f"last_read.{user_id}"] = last_message_id
        await self._c("conversations").update_one({"_id": conversation_id}, {"$set": fields})

    async def inbox(self, user_id: str, limit: int, offset: int, others: list[str] | None = None):
        query: dict = {"participants": user_id}
        if others is not None:
            query = {"$and": [query, {"participants": {"$in": others}}]}
        cursor = self._c("conversations").find(query).sort([("updated_at", -1), ("_id", 1)])
        docs = await cursor.skip(offset).limit(limit).to_list(limit)
        return docs, await self._c("conversations").count_documents(query)

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
