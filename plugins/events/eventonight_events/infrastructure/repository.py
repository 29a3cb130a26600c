"""MongoDB implementations of the events ports (plain dict documents: no per-row model parsing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventonight.hooks.copies import apply_membership
from eventonight_events.application.ports import EventFilter, Ranking
from eventonight_events.domain.geocells import cells_of
from eventonight_events.domain.model import PUBLISHED, Event, Location
from eventonight_events.domain.search import normalise, prefixes, tokens
from eventonight_events.infrastructure.catalogue_pages import CataloguePages
from eventonight_events.infrastructure.catalogue_stats import VERSION_ID, StatsCache

ACTIVITY_ID = "activity"

SORT_FIELDS = {
    "date": "date",
    "title": "title_sort",
    "price": "price_sort",
    "popularity": "popularity",
    "published": "published_at",
}
_EDITABLE = (
    "status", "title", "title_sort", "description", "date", "location", "point", "tags", "collaborator_ids",
    "members", "poster_url", "updated_at", "published_at", "search_tokens", "search_prefixes", "city_key", "venue_key", "search_v", "geo_cells",
)  # fmt: skip
#: Version of the derived search fields; documents with another are brought up to date at start.
SEARCH_VERSION = 3
_DERIVED = ("search_tokens", "search_prefixes", "city_key", "venue_key", "geo_cells", "price_sort", "search_v")


def to_document(event: Event) -> dict[str, Any]:
    location = event.location
    words = tokens(
        event.title, event.description, *(event.tags or []), *((location.name, location.city) if location else ())
    )
    point = None
    if location is not None and location.has_coordinates:
        point = {"type": "Point", "coordinates": [location.lon, location.lat]}
    return {
        "_id": event.id,
        "creator_id": event.creator_id,
        "status": event.status,
        "title": event.title,
        "title_sort": event.title.lower(),
        "description": event.description,
        "date": event.date,
        "location": vars(location) if location else None,
        "point": point,
        "tags": event.tags,
        "collaborator_ids": event.collaborator_ids,
        "members": [event.creator_id, *event.collaborator_ids],
        "poster_url": event.poster_url,
        "created_at": event.created_at,
        "updated_at": event.updated_at,
        "published_at": event.published_at,
        "lowest_price": event.lowest_price,
        "currency": event.currency,
        "likes": event.likes,
        "tickets_sold": event.tickets_sold,
        "popularity": event.likes + event.tickets_sold,
        # Words of the title, description, tags, venue and city; city and venue also whole, for filters.
        "search_tokens": words,
        # Their beginnings: a search word is an indexed equality on both servers (catalogue_query).
        "search_prefixes": prefixes(words),
        "city_key": normalise(location.city).strip() if location and location.city else None,
        "venue_key": normalise(location.name).strip() if location and location.name else None,
        # The grid cells of the location at every size: a radius search starts from them (geocells).
        "geo_cells": cells_of(location.lat, location.lon) if point else [],
        # The price order with "no price" first, as a value: an index range can then hold it.
        "price_sort": _price_sort(event.lowest_price),
        "search_v": SEARCH_VERSION,
    }


def _price_sort(lowest: float | None) -> float:
    return -1.0 if lowest is None else lowest


def to_event(doc: dict[str, Any]) -> Event:
    location = doc.get("location")
    return Event(
        id=doc["_id"],
        creator_id=doc["creator_id"],
        status=doc["status"],
        title=doc.get("title", ""),
        description=doc.get("description", ""),
        date=doc.get("date"),
        location=Location(**location) if location else None,
        tags=doc.get("tags", []),
        collaborator_ids=doc.get("collaborator_ids", []),
        poster_url=doc.get("poster_url"),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
        published_at=doc.get("published_at"),
        lowest_price=doc.get("lowest_price"),
        currency=doc.get("currency"),
        likes=doc.get("likes", 0),
        tickets_sold=doc.get("tickets_sold", 0),
    )


class MongoEvents:
    def __init__(self, data: Any, stats: StatsCache | None = None) -> None:
        self.collection = data.collection("events_events")
        self.catalogue = data.collection("events_catalogue")
        self.stats = stats  # only over reads outside a transaction (see StatsCache)

    async def _new_version(self) -> None:
        # In the same transaction as the write: statistics of the catalogue before it stop serving.
        await self.catalogue.update_one({"_id": VERSION_ID}, {"$inc": {"v": 1}}, upsert=True)

    async def add(self, event: Event) -> None:
        await self.collection.insert_one(to_document(event))
        await self._new_version()

    async def save(self, event: Event) -> None:
        # Only the fields an edit owns: counters and prices are kept by consumers with $inc/$set.
        doc = to_document(event)
        await self.collection.update_one({"_id": event.id}, {"$set": {k: doc[k] for k in _EDITABLE}})
        await self._new_version()

    async def get(self, event_id: str) -> Event | None:
        doc = await self.collection.find_one({"_id": event_id})
        return to_event(doc) if doc else None

    async def many(self, ids: list[str]) -> list[Event]:
        """The events of ``ids`` that exist, in that order."""
        found = {d["_id"]: d async for d in self.collection.find({"_id": {"$in": ids}})} if ids else {}
        return [to_event(found[i]) for i in ids if i in found]

    async def delete(self, event_id: str) -> None:
        await self.collection.delete_one({"_id": event_id})
        await self._new_version()

    async def search(self, flt: EventFilter, sort: str, descending: bool, limit: int, offset: int):
        pages = CataloguePages(self.collection, self.catalogue, self.stats)
        docs, total = await pages.page(flt, SORT_FIELDS[sort], descending, limit, offset)
        return [to_event(d) for d in docs], total

    async def refresh_search_fields(self, batch: int = 500) -> int:
        """Recompute the derived search fields of documents written by an older version."""
        done = 0
        while True:
            # Two index ranges (older versions, and none at all) instead of a $ne that reads every event.
            stale = []
            for older in ({"search_v": {"$lt": SEARCH_VERSION}}, {"search_v": None}):
                stale += await self.collection.find(older).limit(batch).to_list(batch)
            for doc in stale:
                fresh = to_document(to_event(doc))
                await self.collection.update_one({"_id": doc["_id"]}, {"$set": {k: fresh[k] for k in _DERIVED}})
            done += len(stale)
            if not stale:
                if done:
                    await self._new_version()  # statistics counted on the old fields do not serve
                return done

    async def due_for_completion(self, now: datetime, limit: int) -> list[Event]:
        cursor = self.collection.find({"status": PUBLISHED, "date": {"$lt": now}}).limit(limit)
        return [to_event(d) for d in await cursor.to_list(limit)]

    async def with_collaborator(self, user_id: str) -> list[Event]:
        cursor = self.collection.find({"collaborator_ids": user_id})
        return [to_event(d) for d in await cursor.to_list(None)]

    async def created_by(self, user_id: str) -> list[Event]:
        cursor = self.collection.find({"creator_id": user_id})
        return [to_event(d) for d in await cursor.to_list(None)]

    async def add_likes(self, event_id: str, delta: int) -> None:
        await self.collection.update_one({"_id": event_id}, {"$inc": {"likes": delta, "popularity": delta}})

    async def add_tickets(self, event_id: str, count: int) -> None:
        await self.collection.update_one({"_id": event_id}, {"$inc": {"tickets_sold": count, "popularity": count}})

    async def set_price(self, event_id: str, lowest: float | None, currency: str | None) -> None:
        update = {"lowest_price": lowest, "currency": currency, "price_sort": _price_sort(lowest)}
        await self.collection.update_one({"_id": event_id}, {"$set": update})
        await self._new_version()


class MongoDirectory:
    def __init__(self, data: Any) -> None:
        self.data = data

    async def upsert_user(self, user_id: str, role: str, name: str, avatar_url: str | None) -> None:
        await self.data.collection("events_users").update_one(
            {"_id": user_id}, {"$set": {"role": role, "name": name, "avatar_url": avatar_url}},
            upsert=True,
        )  # fmt: skip

    async def delete_user(self, user_id: str) -> None:
        await self.data.collection("events_users").delete_one({"_id": user_id})
        await self.data.collection("events_interests").delete_one({"_id": user_id})
        await self.data.collection("events_follows").delete_many(
            {"$or": [{"follower": user_id}, {"followed": user_id}]}
        )

    async def organizations(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        cursor = self.data.collection("events_users").find({"_id": {"$in": ids}, "role": "organization"}, {"_id": 1})
        return {d["_id"] async for d in cursor}

    async def set_interests(self, user_id: str, interests: list[str]) -> None:
        await self.data.collection("events_interests").update_one(
            {"_id": user_id}, {"$set": {"interests": interests}}, upsert=True
        )

    async def interests(self, user_id: str) -> list[str]:
        doc = await self.data.collection("events_interests").find_one({"_id": user_id})
        return doc["interests"] if doc else []

    async def apply_follows(self, changes: list[tuple[str, str, bool]]) -> None:
        # Each pair ends as its last change on the bus says (a follow and its removal in one batch: gone).
        docs = [({"_id": f"{a}:{b}", "follower": a, "followed": b}, present) for a, b, present in changes]
        await apply_membership(self.data.collection("events_follows"), docs)

    async def followed_by(self, user_id: str) -> list[str]:
        cursor = self.data.collection("events_follows").find({"follower": user_id}, {"followed": 1})
        return [d["followed"] async for d in cursor]

    async def add_activity(self, event_id: str, weight: int, at: datetime) -> None:
        await self.data.collection("events_activity").insert_one({"event_id": event_id, "at": at, "weight": weight})
        # Counted apart from the time the activity happened: a late message is still news to the ranking.
        await self.data.collection("events_catalogue").update_one({"_id": ACTIVITY_ID}, {"$inc": {"n": 1}}, upsert=True)

    async def ranking(self, name: str) -> tuple[Ranking | None, int]:
        """The kept ranking ``name`` and how much activity there has been in all (to tell if it is stale)."""
        wanted = [f"ranking:{name}", ACTIVITY_ID]
        found = {d["_id"]: d async for d in self.data.collection("events_catalogue").find({"_id": {"$in": wanted}})}
        activity = found.get(ACTIVITY_ID, {}).get("n", 0)
        kept = found.get(wanted[0])
        return (Ranking(kept["ids"], kept["at"], kept["activity"]) if kept else None), activity

    async def keep_ranking(self, name: str, ranking: Ranking) -> None:
        document = {"ids": ranking.ids, "at": ranking.at, "activity": ranking.activity}
        await self.data.collection("events_catalogue").update_one(
            {"_id": f"ranking:{name}"}, {"$set": document}, upsert=True
        )

    async def popular(self, since: datetime, limit: int) -> list[str]:
        pipeline = [
            {"$match": {"at": {"$gte": since}}},
            {"$group": {"_id": "$event_id", "score": {"$sum": "$weight"}}},
            {"$sort": {"score": -1, "_id": 1}},
            {"$limit": limit},
        ]
        return [d["_id"] async for d in self.data.collection("events_activity").aggregate(pipeline)]
