"""Event detail read: odmantic model vs the raw driver, in the same run.

Run by hand: ``.venv/bin/python bench/odm_read.py``. Seeds 2,000 events (the
plugin's own documents) into an embedded SecantusDB, then reads random events
by id, alternating rounds: through the events plugin's repository (raw
``find_one`` through the kernel's bound collection + its mapping to the domain
entity) and through an odmantic model of the same document (``engine.find_one``
bound the same way, then the same entity). Prints each round's reads/s and the
median ratio ODM/raw (docs/performance.md; the issue's limit is 1.2x).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from _common import start_mongo
from eventonight_events.domain.model import PUBLISHED, Event, Location
from eventonight_events.infrastructure.repository import MongoEvents, to_document, to_event
from odmantic import Field, Model

from eventonight.kernel.db import Database, Reader

N = 2_000
READS = 2_000
ROUNDS = 5


class EventModel(Model):
    """The events_events document as an odmantic model (what an ODM read path would parse)."""

    model_config = {"collection": "events_events", "extra": "ignore"}
    id: str = Field(primary_field=True)
    creator_id: str
    status: str
    title: str = ""
    title_sort: str = ""
    description: str = ""
    date: datetime | None = None
    location: dict | None = None
    point: dict | None = None
    tags: list[str] = []
    collaborator_ids: list[str] = []
    members: list[str] = []
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


def documents() -> list[dict]:
    rng, now = random.Random(3), datetime.now(UTC)
    return [
        to_document(
            Event(
                id=uuid4().hex,
                creator_id=f"org{i % 20}",
                status=PUBLISHED,
                title=f"Event {i}",
                description="A night out " * 10,
                date=now + timedelta(days=rng.randint(1, 300)),
                location=Location(name="Venue", city="Berlin", lat=52.5, lon=13.4),
                tags=["techno", "house", "club"],
                created_at=now,
                updated_at=now,
                published_at=now,
            )
        )
        for i in range(N)
    ]


async def main() -> None:
    mongo = start_mongo()
    database = Database(mongo.uri, "bench_odm")
    docs = documents()
    await database.db["events_events"].insert_many(docs)
    ids = [d["_id"] for d in docs]
    read = Reader(database)
    raw_repo = MongoEvents(read)

    async def raw(event_id: str) -> Event:
        return await raw_repo.get(event_id)

    async def odm(event_id: str) -> Event:
        model = await read.engine.find_one(EventModel, EventModel.id == event_id)
        return to_event(model.model_dump(by_alias=True) | {"_id": model.id})

    assert (await raw(ids[0])).id == (await odm(ids[0])).id == ids[0]

    async def rate(path) -> float:
        rng = random.Random(11)
        started = time.perf_counter()
        for _ in range(READS):
            await path(rng.choice(ids))
        return READS / (time.perf_counter() - started)

    ratios = []
    for round_ in range(ROUNDS):
        raw_rate, odm_rate = await rate(raw), await rate(odm)
        ratios.append(raw_rate / odm_rate)
        print(f"round {round_ + 1}: raw {raw_rate:,.0f} reads/s, odmantic {odm_rate:,.0f} reads/s")
    print(
        f"odmantic / raw time per read: median {statistics.median(ratios):.2f}x (rounds {min(ratios):.2f}-{max(ratios):.2f}x)"
    )
    await database.close()
    mongo.stop()


if __name__ == "__main__":
    asyncio.run(main())
