"""Collections of the events plugin (prefixed ``events_``) and their indexes.

Documents are read and written as plain dicts (see repository.py); these odmantic
models declare the collections' shape and indexes for the kernel to create.
"""

from __future__ import annotations

from datetime import datetime

import pymongo
from odmantic import Field, Model


class EventDocument(Model):
    model_config = {
        "collection": "events_events",
        "indexes": lambda: [
            # The version spelled out: SecantusDB otherwise sees a re-creation as a conflicting spec.
            pymongo.IndexModel([("point", pymongo.GEOSPHERE)], name="geo", **{"2dsphereIndexVersion": 3}),
            pymongo.IndexModel([("status", 1), ("date", 1)], name="status_date"),
            pymongo.IndexModel([("status", 1), ("published_at", -1)], name="status_published"),
            pymongo.IndexModel([("status", 1), ("popularity", -1)], name="status_popularity"),
            pymongo.IndexModel([("status", 1), ("title_sort", 1)], name="status_title"),
            pymongo.IndexModel([("status", 1), ("lowest_price", 1)], name="status_price"),
            pymongo.IndexModel([("search_tokens", 1)], name="text_tokens"),
            pymongo.IndexModel([("tags", 1)], name="tags"),
            pymongo.IndexModel([("members", 1)], name="members"),
            pymongo.IndexModel([("creator_id", 1)], name="creator"),
        ],
    }

    id: str = Field(primary_field=True)
    creator_id: str
    status: str
    title: str = ""
    title_sort: str = ""
    description: str = ""
    date: datetime | None = None
    location: dict | None = None
    point: dict | None = None  # GeoJSON Point [lon, lat] for the 2dsphere index
    tags: list[str] = []
    collaborator_ids: list[str] = []
    members: list[str] = []  # creator + collaborators: one multikey index for "events of X"
    poster_url: str | None = None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None = None
    lowest_price: float | None = None
    currency: str | None = None
    likes: int = 0
    tickets_sold: int = 0
    popularity: int = 0
    search_tokens: list[str] = []


class KnownUser(Model):
    model_config = {"collection": "events_users"}
    id: str = Field(primary_field=True)
    role: str
    name: str = ""
    avatar_url: str | None = None


class Interests(Model):
    model_config = {"collection": "events_interests"}
    id: str = Field(primary_field=True)
    interests: list[str] = []


class Follow(Model):
    model_config = {
        "collection": "events_follows",
        "indexes": lambda: [pymongo.IndexModel([("follower", 1)], name="follower")],
    }
    id: str = Field(primary_field=True)
    follower: str
    followed: str


class Activity(Model):
    model_config = {
        "collection": "events_activity",
        "indexes": lambda: [
            pymongo.IndexModel([("at", 1)], name="at_ttl", expireAfterSeconds=30 * 24 * 3600),
            pymongo.IndexModel([("event_id", 1)], name="event"),
        ],
    }
    event_id: str
    at: datetime
    weight: int


MODELS = [EventDocument, KnownUser, Interests, Follow, Activity]
