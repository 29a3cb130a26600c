"""Events: a filtered, sorted list page and GET /api/events/{id} through the API vs the same query via the driver.

Run by hand: ``.venv/bin/python bench/events_queries.py``. Seeds 10,000 events (documents
built by the plugin's own mapping), starts one `eventonight web` process, then loads both
paths with the same concurrency from this process. Target: API <= 1.5x the direct time.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aiohttp
from _common import free_port, start_eventonight, start_mongo, wait_http
from eventonight_events.application.ports import EventFilter
from eventonight_events.domain.model import PUBLISHED, Event, Location
from eventonight_events.domain.tags import CATALOGUE
from eventonight_events.infrastructure.repository import SORT_FIELDS, build_query, to_document
from motor.motor_asyncio import AsyncIOMotorClient

N = 10_000
CITIES = [("Berlin", 52.52, 13.405), ("Paris", 48.857, 2.352), ("London", 51.507, -0.128), ("Madrid", 40.417, -3.704)]
LIST_URL = "/api/events?tags=techno,house&near=52.52,13.405&radiusKm=30&sort=date&limit=20"
LIST_FILTER = dict(tags=["techno", "house"], near=(52.52, 13.405, 30.0))


def seed_documents() -> list[dict]:
    rng = random.Random(7)
    tags = [t for ts in CATALOGUE.values() for t in ts]
    now = datetime.now(UTC)
    docs = []
    for i in range(N):
        city, lat, lon = CITIES[i % len(CITIES)]
        event = Event(
            id=uuid4().hex,
            creator_id=f"org{i % 50}",
            status=PUBLISHED,
            title=f"Event {i} in {city}",
            description="A night out",
            date=now + timedelta(days=rng.randint(1, 365), hours=rng.randint(0, 23)),
            location=Location(city=city, lat=lat + rng.uniform(-0.3, 0.3), lon=lon + rng.uniform(-0.3, 0.3)),
            tags=rng.sample(tags, 3),
            created_at=now,
            updated_at=now,
            published_at=now,
        )
        docs.append(to_document(event))
    return docs


async def load(worker, seconds: float = 8, workers: int = 8) -> tuple[float, float, float]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def run() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await worker()
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(run() for _ in range(workers)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99)] * 1000


async def main() -> None:
    mongo = start_mongo()
    port = free_port()
    web = start_eventonight("web", mongo.uri, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health")  # indexes exist once the web process is up
        client = AsyncIOMotorClient(mongo.uri, tz_aware=True)
        collection = client["eventonight"]["events_events"]
        docs = seed_documents()
        for i in range(0, N, 1000):
            await collection.insert_many(docs[i : i + 1000])
        one_id = docs[N // 2]["_id"]
        query = build_query(EventFilter(statuses=(PUBLISHED, "COMPLETED"), **LIST_FILTER))
        sort = [(SORT_FIELDS["date"], 1), ("_id", 1)]

        async def direct_list():
            await collection.find(query).sort(sort).limit(20).to_list(20)
            await collection.count_documents(query)

        async def direct_get():
            await collection.find_one({"_id": one_id})

        async with aiohttp.ClientSession(base) as session:

            async def api_list():
                async with session.get(LIST_URL) as response:
                    assert response.status == 200, await response.text()
                    await response.read()

            async def api_get():
                async with session.get(f"/api/events/{one_id}") as response:
                    assert response.status == 200
                    await response.read()

            await api_list()
            print(f"seeded {N} events; list page: {LIST_URL}")
            for name, direct, api in (("list page", direct_list, api_list), ("GET /{id}", direct_get, api_get)):
                d = await load(direct)
                a = await load(api)
                print(
                    f"{name:10} direct: {d[0]:7.0f}/s p50 {d[1]:6.2f} ms p99 {d[2]:6.2f} ms | "
                    f"API: {a[0]:7.0f}/s p50 {a[1]:6.2f} ms p99 {a[2]:6.2f} ms | "
                    f"API/direct time {d[0] / a[0]:.2f}x (target <= 1.5x)"
                )
        client.close()
    finally:
        web.terminate()
        web.wait(10)
        mongo.stop()


if __name__ == "__main__":
    asyncio.run(main())
