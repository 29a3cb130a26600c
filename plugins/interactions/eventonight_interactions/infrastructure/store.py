"""MongoDB storage of the interactions plugin (collections prefixed ``interactions_``)."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pymongo
from pymongo.errors import DuplicateKeyError

from eventonight_interactions.domain.rules import Conflict, KnownEvent

P = "interactions_"
#: Marks counters computed for data older than them (backfill_counters).
COUNTED = "counted"
#: Documents per key's counters, and how many recent addition times each keeps.
SHARDS = 8
RING = 32
RECENT = "recent_"
#: Fields of a counter document that version the pages it counts (see Counted), not counters.
VERSION_FIELDS = ("v", "epoch")
#: Counter documents that version what the pages show of the local copies: "copies:users" (names,
#: avatars, roles) and "copies:events" (titles, dates, statuses); each write of a copy changes its own.
COPIES = "copies:"


def _shards(key: str) -> list[str]:
    return [f"{key}#{i}" for i in range(SHARDS)]


def _index(*keys, **kwargs) -> pymongo.IndexModel:
    return pymongo.IndexModel(list(keys), **kwargs)


# Documents are plain dicts (conditional updates, counters, aggregations). Shapes:
# users {_id, role, name, avatar_url}; events {_id, title, date, creator_id,
# collaborator_ids, hosts, status}; follows {_id, follower, followed, created_at};
# likes {_id, event_id, user_id, created_at}; participations {_id, user_id,
# event_id, orders, created_at}; reviews {_id, event_id, user_id (None once the
# author is deleted), rating, title, comment, hosts, reply, created_at, updated_at};
# counters {_id "event:<id>#<shard>" {likes, recent_likes} | "user:<id>#<shard>" {likes, followers,
# following, recent_*}}, kept in the unit of work of each like and follow so that a page's total
# is read, not counted, and its newest rows are found without reading the older ones.
INDEXES = {
    P + "events": [_index(("hosts", 1), name="hosts")],
    P + "follows": [
        _index(("follower", 1), ("created_at", -1), name="following"),
        _index(("followed", 1), ("created_at", -1), name="followers"),
    ],
    P + "likes": [
        _index(("event_id", 1), ("created_at", -1), name="by_event"),
        _index(("user_id", 1), ("created_at", -1), name="by_user"),
    ],
    P + "participations": [
        _index(("user_id", 1), ("created_at", -1), name="by_user"),
        _index(("event_id", 1), ("created_at", -1), name="by_event"),
    ],
    P + "reviews": [
        _index(("event_id", 1), ("created_at", -1), name="by_event"),
        _index(("user_id", 1), ("created_at", -1), name="by_user"),
        _index(("hosts", 1), ("rating", 1), name="by_host"),
    ],
}


@dataclass(frozen=True)
class Counted:
    """One read of a key's counter shards and of a copies' version document.

    ``version`` changes with every write of a like or follow the key counts (each changes a shard:
    ``v`` incremented, ``epoch`` random when the shard is made, so a shard deleted and made again
    never repeats one) and with every write of the copies the page shows: a page read after this
    was read is current while the version is (``eventonight.hooks.kept``).
    """

    totals: dict[str, int]
    recent: dict[str, list[datetime]]
    version: tuple


def _versioned(update: dict) -> dict:
    """``update`` (an upsert of a counter document) also moving the document's version."""
    update.setdefault("$inc", {})["v"] = 1
    update["$setOnInsert"] = {"epoch": secrets.randbits(62)}
    return update


class Store:
    """All reads and writes of the plugin, through ``data``: the open unit of work or ``kernel.read``."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def _c(self, name: str):
        return self.data.collection(P + name)

    async def _page(self, name: str, query: dict, limit: int, offset: int, sort=(("created_at", -1), ("_id", 1))):
        cursor = self._c(name).find(query).sort(list(sort)).skip(offset).limit(limit)
        return await cursor.to_list(limit), await self._c(name).count_documents(query)

    async def counted(self, key: str, copies: str) -> Counted:
        """The sums of ``key``'s counters over its shards, their merged recent times (newest first),
        and the version of the pages they count that show ``copies`` ("users" or "events")."""
        totals: dict[str, int] = {}
        recent: dict[str, list[datetime]] = {}
        version = []
        async for doc in self._c("counters").find({"_id": {"$in": [*_shards(key), COPIES + copies]}}):
            version.append((doc["_id"], doc.get("epoch"), doc.get("v")))
            for name, value in doc.items():
                if name.startswith(RECENT):
                    recent.setdefault(name[len(RECENT) :], []).extend(value)
                elif name != "_id" and name not in VERSION_FIELDS:  # a copies document has no other field
                    totals[name] = totals.get(name, 0) + value
        recent = {name: sorted(times, reverse=True) for name, times in recent.items()}
        return Counted(totals, recent, tuple(sorted(version)))

    async def _copies_changed(self, *copies: str) -> None:
        for name in copies:
            await self._c("counters").update_one({"_id": COPIES + name}, _versioned({}), upsert=True)

    async def _counted_page(
        self, name: str, query: dict, counter: str, limit: int, offset: int, counted: Counted | None = None
    ):
        """A page (newest first) whose total is the kept counter, read from the newest rows only.

        The counter's shards remember the times of their latest RING additions: the page's last
        row is no older than the (offset + limit)-th newest of them, so the read starts there.
        A removal leaves a time behind: a page that comes back short is read again in full.
        ``counted``: the counters as :meth:`counted` read them for the page's version, else read here.
        """
        key, field = counter.rsplit(".", 1)
        counted = counted or await self.counted(key, "users")
        total = counted.totals.get(field, 0)
        order = [("created_at", -1), ("_id", 1)]
        times = counted.recent.get(field, [])
        if offset + limit <= len(times):
            # From just before that time (an exclusive bound: see the events plugin's next_key).
            since = times[offset + limit - 1] - timedelta(milliseconds=1)
            cursor = self._c(name).find({**query, "created_at": {"$gt": since}}).sort(order).skip(offset).limit(limit)
            docs = await cursor.to_list(limit)
            if len(docs) == limit or offset + len(docs) >= total:
                return docs, total
        docs = await self._c(name).find(query).sort(order).skip(offset).limit(limit).to_list(limit)
        return docs, total

    async def _count(self, changes: dict[str, int], at: datetime | None = None) -> None:
        """Add to the counters, ``{"event:<id>.likes": 1, ...}``, in the same unit of work as the change.

        Each key's counters live in SHARDS documents, one picked at random per change, so that
        concurrent likes of one event rarely write the same document (a transaction conflict).
        An addition at ``at`` is also remembered in the shard's recent times.
        """
        by_doc: dict[str, dict[str, int]] = {}
        for name, delta in changes.items():
            key, counter = name.rsplit(".", 1)
            by_doc.setdefault(key, {})[counter] = by_doc.get(key, {}).get(counter, 0) + delta
        for key, increments in by_doc.items():
            update: dict = {"$inc": increments}
            added = [counter for counter, delta in increments.items() if delta > 0]
            if at is not None and added:
                update["$push"] = {f"{RECENT}{c}": {"$each": [at], "$slice": -RING} for c in added}
            shard = f"{key}#{random.randrange(SHARDS)}"
            await self._c("counters").update_one({"_id": shard}, _versioned(update), upsert=True)

    async def _drop_counters(self, key: str) -> None:
        await self._c("counters").delete_many({"_id": {"$in": _shards(key)}})

    async def backfill_counters(self) -> bool:
        """Count likes and follows once for data written before the counters were kept."""
        if await self._c("counters").find_one({"_id": COUNTED}):
            return False
        kept: dict[str, dict] = {}
        for collection, field, prefix, counter in (
            ("likes", "$event_id", "event", "likes"), ("likes", "$user_id", "user", "likes"),
            ("follows", "$followed", "user", "followers"), ("follows", "$follower", "user", "following"),
        ):  # fmt: skip
            pipeline = [{"$group": {"_id": field, "n": {"$sum": 1}, "times": {"$push": "$created_at"}}}]
            async for d in self._c(collection).aggregate(pipeline):
                doc = kept.setdefault(f"{prefix}:{d['_id']}#0", {})
                doc[counter] = d["n"]
                doc[f"{RECENT}{counter}"] = sorted(d["times"])[-RING:]
        for shard, counters in kept.items():
            await self._c("counters").update_one({"_id": shard}, _versioned({"$set": counters}), upsert=True)
        await self._c("counters").insert_one({"_id": COUNTED})
        return True

    # -- local copies --------------------------------------------------------------------------
    async def upsert_user(self, user_id: str, role: str, name: str, avatar_url: str | None) -> None:
        result = await self._c("users").update_one(
            {"_id": user_id},
            {"$set": {"role": role, "name": name, "avatar_url": avatar_url}},
            upsert=True,
        )
        # A new copy too: pages showed the user without one (a like may come before its copy).
        if result.upserted_id is not None or result.modified_count:
            await self._copies_changed("users")

    async def users(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        return {d["_id"]: d async for d in self._c("users").find({"_id": {"$in": list(set(ids))}})}

    async def user_exists(self, user_id: str) -> bool:
        return await self._c("users").count_documents({"_id": user_id}) > 0

    async def upsert_event(self, event: KnownEvent) -> None:
        doc = {
            "title": event.title,
            "date": event.date,
            "creator_id": event.creator_id,
            "collaborator_ids": event.collaborator_ids,
            "hosts": event.hosts,
            "status": event.status,
        }
        result = await self._c("events").update_one({"_id": event.id}, {"$set": doc}, upsert=True)
        if result.upserted_id is not None or result.modified_count:
            await self._copies_changed("events")
        # Reviews count for every host: keep them in step with the collaborator list.
        await self._c("reviews").update_many({"event_id": event.id}, {"$set": {"hosts": event.hosts}})

    async def event(self, event_id: str) -> KnownEvent | None:
        d = await self._c("events").find_one({"_id": event_id})
        if d is None:
            return None
        return KnownEvent(
            d["_id"], d.get("title", ""), d.get("date"), d["creator_id"], d.get("collaborator_ids", []), d["status"]
        )

    async def events(self, ids: list[str]) -> dict[str, dict]:
        if not ids:
            return {}
        return {d["_id"]: d async for d in self._c("events").find({"_id": {"$in": list(set(ids))}})}

    # -- follows ---------------------------------------------------------------------------------
    async def add_follow(self, follower: str, followed: str, now: datetime) -> None:
        try:
            await self._c("follows").insert_one(
                {"_id": f"{follower}:{followed}", "follower": follower, "followed": followed, "created_at": now},
            )
        except DuplicateKeyError as exc:
            raise Conflict("already following") from exc
        await self._count({f"user:{follower}.following": 1, f"user:{followed}.followers": 1}, now)

    async def remove_follow(self, follower: str, followed: str) -> bool:
        result = await self._c("follows").delete_one({"_id": f"{follower}:{followed}"})
        if result.deleted_count == 1:
            await self._count({f"user:{follower}.following": -1, f"user:{followed}.followers": -1})
        return result.deleted_count == 1

    async def is_following(self, follower: str, followed: str) -> bool:
        return await self._c("follows").count_documents({"_id": f"{follower}:{followed}"}) > 0

    async def following(self, user_id: str, limit: int, offset: int, counted: Counted | None = None):
        query, counter = {"follower": user_id}, f"user:{user_id}.following"
        return await self._counted_page("follows", query, counter, limit, offset, counted)

    async def followers(self, user_id: str, limit: int, offset: int, counted: Counted | None = None):
        query, counter = {"followed": user_id}, f"user:{user_id}.followers"
        return await self._counted_page("follows", query, counter, limit, offset, counted)

    # -- likes -----------------------------------------------------------------------------------
    async def add_like(self, event_id: str, user_id: str, now: datetime) -> None:
        try:
            await self._c("likes").insert_one(
                {"_id": f"{event_id}:{user_id}", "event_id": event_id, "user_id": user_id, "created_at": now},
            )
        except DuplicateKeyError as exc:
            raise Conflict("already liked") from exc
        await self._count({f"event:{event_id}.likes": 1, f"user:{user_id}.likes": 1}, now)

    async def remove_like(self, event_id: str, user_id: str) -> bool:
        result = await self._c("likes").delete_one({"_id": f"{event_id}:{user_id}"})
        if result.deleted_count == 1:
            await self._count({f"event:{event_id}.likes": -1, f"user:{user_id}.likes": -1})
        return result.deleted_count == 1

    async def has_liked(self, event_id: str, user_id: str) -> bool:
        return await self._c("likes").count_documents({"_id": f"{event_id}:{user_id}"}) > 0

    async def likes_of_event(self, event_id: str, limit: int, offset: int, counted: Counted | None = None):
        query, counter = {"event_id": event_id}, f"event:{event_id}.likes"
        return await self._counted_page("likes", query, counter, limit, offset, counted)

    async def likes_of_user(self, user_id: str, limit: int, offset: int, counted: Counted | None = None):
        query, counter = {"user_id": user_id}, f"user:{user_id}.likes"
        return await self._counted_page("likes", query, counter, limit, offset, counted)

    # -- participations --------------------------------------------------------------------------
    async def add_order(self, user_id: str, event_id: str, order_id: str, now: datetime) -> None:
        await self._c("participations").update_one(
            {"_id": f"{user_id}:{event_id}"},
            {
                "$addToSet": {"orders": order_id},
                "$setOnInsert": {"user_id": user_id, "event_id": event_id, "created_at": now},
            },
            upsert=True,
        )

    async def remove_order(self, user_id: str, event_id: str, order_id: str) -> None:
        key = {"_id": f"{user_id}:{event_id}"}
        await self._c("participations").update_one(key, {"$pull": {"orders": order_id}})
        # No active order left: no participation.
        await self._c("participations").delete_one({**key, "orders": {"$size": 0}})

    async def is_participating(self, user_id: str, event_id: str) -> bool:
        return await self._c("participations").count_documents({"_id": f"{user_id}:{event_id}"}) > 0

    async def all_participations_of_user(self, user_id: str, cap: int = 5000) -> list[dict]:
        return await self._c("participations").find({"user_id": user_id}).limit(cap).to_list(cap)

    async def reviewed_events(self, user_id: str) -> set[str]:
        return {d["event_id"] async for d in self._c("reviews").find({"user_id": user_id}, {"event_id": 1})}

    async def has_reviewed(self, user_id: str, event_id: str) -> bool:
        return await self._c("reviews").count_documents({"_id": f"{event_id}:{user_id}"}) > 0

    async def backfill_reviewer_roles(self) -> int:
        """Reviews written before the reviewer's role was kept with them get it from the user copies."""
        done = 0
        async for d in self._c("reviews").find({"reviewer_role": {"$exists": False}}, {"user_id": 1}):
            user = await self._c("users").find_one({"_id": d["user_id"]}) if d.get("user_id") else None
            role = user.get("role", "member") if user else None
            await self._c("reviews").update_one({"_id": d["_id"]}, {"$set": {"reviewer_role": role}})
            done += 1
        return done

    async def participations_of_user(self, user_id: str, limit: int, offset: int):
        return await self._page("participations", {"user_id": user_id}, limit, offset)

    async def participants_of_event(self, event_id: str, limit: int, offset: int):
        return await self._page("participations", {"event_id": event_id}, limit, offset)

    # -- reviews ---------------------------------------------------------------------------------
    async def add_review(self, doc: dict) -> None:
        try:
            await self._c("reviews").insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict("this user already reviewed this event") from exc

    async def review(self, event_id: str, user_id: str) -> dict | None:
        return await self._c("reviews").find_one({"_id": f"{event_id}:{user_id}"})

    async def update_review(self, event_id: str, user_id: str, fields: dict) -> None:
        await self._c("reviews").update_one({"_id": f"{event_id}:{user_id}"}, {"$set": fields})

    async def delete_review(self, event_id: str, user_id: str) -> bool:
        result = await self._c("reviews").delete_one({"_id": f"{event_id}:{user_id}"})
        return result.deleted_count == 1

    async def reviews(self, query: dict, limit: int, offset: int):
        return await self._page("reviews", query, limit, offset)

    async def rating_counts(self, host_id: str) -> dict[int, int]:
        pipeline = [{"$match": {"hosts": host_id}}, {"$group": {"_id": "$rating", "n": {"$sum": 1}}}]
        return {d["_id"]: d["n"] async for d in self._c("reviews").aggregate(pipeline)}

    # -- cascades --------------------------------------------------------------------------------
    async def removals_of_user(self, user_id: str) -> tuple[list[tuple[str, str | None]], list[tuple[str, str]]]:
        """What ``forget_user`` will remove: the user's likes (event id, its creator) and follows."""
        likes = [d["event_id"] async for d in self._c("likes").find({"user_id": user_id}, {"event_id": 1})]
        creators = {e: d.get("creator_id") for e, d in (await self.events(likes)).items()}
        query = {"$or": [{"follower": user_id}, {"followed": user_id}]}
        follows = [(d["follower"], d["followed"]) async for d in self._c("follows").find(query)]
        return [(e, creators.get(e)) for e in likes], follows

    async def remove_follows_of(self, follower: str) -> list[str]:
        """Drop every follow of ``follower``; the ids it followed."""
        followed = [d["followed"] async for d in self._c("follows").find({"follower": follower}, {"followed": 1})]
        await self._c("follows").delete_many({"follower": follower})
        await self._count(
            {f"user:{follower}.following": -len(followed), **{f"user:{f}.followers": -1 for f in followed}}
        )
        return followed

    async def forget_user(self, user_id: str) -> None:
        liked = [d["event_id"] async for d in self._c("likes").find({"user_id": user_id}, {"event_id": 1})]
        follows = [d async for d in self._c("follows").find({"$or": [{"follower": user_id}, {"followed": user_id}]})]
        await self._c("users").delete_one({"_id": user_id})
        # Both: counters are dropped below, and a key's version without its shards is only its copies'.
        await self._copies_changed("users", "events")
        await self._c("follows").delete_many({"$or": [{"follower": user_id}, {"followed": user_id}]})
        await self._c("likes").delete_many({"user_id": user_id})
        # The other side of each removed like and follow counts one less; the user's own counters go.
        changes: dict[str, int] = {f"event:{e}.likes": -1 for e in liked}
        for f in follows:
            if f["follower"] == user_id:
                changes[f"user:{f['followed']}.followers"] = changes.get(f"user:{f['followed']}.followers", 0) - 1
            else:
                changes[f"user:{f['follower']}.following"] = changes.get(f"user:{f['follower']}.following", 0) - 1
        changes = {k: v for k, v in changes.items() if not k.startswith(f"user:{user_id}.")}
        await self._count(changes)
        await self._drop_counters(f"user:{user_id}")
        await self._c("participations").delete_many({"user_id": user_id})
        # Reviews stay for the organizations' statistics, without their author.
        await self._c("reviews").update_many({"user_id": user_id}, {"$set": {"user_id": None}})

    async def forget_event(self, event_id: str) -> None:
        likers = [d["user_id"] async for d in self._c("likes").find({"event_id": event_id}, {"user_id": 1})]
        await self._c("events").delete_one({"_id": event_id})
        # Both: counters are dropped below, and a key's version without its shards is only its copies'.
        await self._copies_changed("users", "events")
        await self._c("likes").delete_many({"event_id": event_id})
        await self._count({f"user:{u}.likes": -1 for u in likers})
        await self._drop_counters(f"event:{event_id}")
        await self._c("participations").delete_many({"event_id": event_id})
