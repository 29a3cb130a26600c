"""The event catalogue at scale: every catalogue query through the API, beside the driver.

Run by hand: ``.venv/bin/python bench/events_queries.py [events ...] [--rounds N] [--only TEXT]``
(default 10000; e.g. ``1000 10000 50000`` for the cost curve; ``--rounds 3`` measures three times
on one data set, seeding taking minutes). For each size: a fresh embedded SecantusDB, one
``eventonight web`` process, the data set of ``scale_data.py``; then for every query the API
offers, 8 concurrent clients for a few seconds each on:

- **API**: ``GET /api/events…`` over HTTP (p50 / p99 / requests per second);
- **driver, as planned**: the same page read by the events plugin's repository code from this
  process through motor, straight on the database (the API's own database work, without HTTP,
  the kernel or JSON); API / driver is the overhead of the platform (target 1.5 or less);
- **driver, one query**: the page as one ``find().sort().skip().limit()`` plus a
  ``count_documents`` on the same filter, the way the plugin read it before (fewer runs: slow).

The first request of each query is timed apart ("cold": it counts a broad filter once per
catalogue version). Targets at 10,000 events: p50 ≤ 100 ms, p99 ≤ 300 ms for every catalogue
query; ``GET /api/events/{id}`` p50 ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import aiohttp
from _common import free_port, settle, start_eventonight, start_mongo, wait_http
from eventonight_events.application.queries import EventQueries, SearchParams, search_filter
from eventonight_events.domain.tags import CATALOGUE
from eventonight_events.infrastructure.catalogue_query import branches
from eventonight_events.infrastructure.repository import SORT_FIELDS
from eventonight_events.infrastructure.wiring import repos_for
from motor.motor_asyncio import AsyncIOMotorClient
from scale_data import RawData, seed

CLIENTS = 8
SECONDS = 3.0
SOON = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
LATER = SOON + timedelta(days=7)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


# name, query string, the same as SearchParams (the direct paths), or a feed name.
QUERIES = [
    ("upcoming (default)", "", SearchParams()),
    ("free text: q=techno", "q=techno", SearchParams(q="techno")),
    ("free text: q=rooftop party", "q=rooftop%20party", SearchParams(q="rooftop party")),
    ("tags=techno,house", "tags=techno,house", SearchParams(tags=["techno", "house"])),
    ("tags=jazz (rarer)", "tags=jazz", SearchParams(tags=["jazz"])),
    ("city=Berlin", "city=Berlin", SearchParams(city="Berlin")),
    ("date range: next week", f"from={_iso(SOON)}&to={_iso(LATER)}", SearchParams(date_from=SOON, date_to=LATER)),
    ("near Berlin, 30 km", "near=52.52,13.405&radiusKm=30", SearchParams(near=(52.52, 13.405, 30.0))),
    (
        "tags + near + sort=date",
        "tags=techno,house&near=52.52,13.405&radiusKm=30&sort=date",
        SearchParams(tags=["techno", "house"], near=(52.52, 13.405, 30.0)),
    ),
    ("price 5-20", "minPrice=5&maxPrice=20", SearchParams(min_price=5, max_price=20)),
    ("sort=date desc", "sort=date&order=desc", SearchParams(descending=True)),
    ("sort=title", "sort=title", SearchParams(sort="title")),
    ("sort=price", "sort=price", SearchParams(sort="price")),
    ("sort=price desc", "sort=price&order=desc", SearchParams(sort="price", descending=True)),
    ("sort=popularity desc", "sort=popularity&order=desc", SearchParams(sort="popularity", descending=True)),
    ("page 11 (offset 200)", "offset=200", SearchParams(offset=200)),
    ("feed: upcoming", "upcoming", None),
    ("feed: recently_added", "recently_added", None),
    ("feed: popular", "popular", None),
    ("feed: personal", "feed", None),
]


async def load(call, seconds: float = SECONDS, clients: int = CLIENTS) -> tuple[float, float, float, int]:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call()
            latencies.append(time.perf_counter() - start)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - began
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return len(latencies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000, len(latencies)


async def personal_user(session, base: str, db, world) -> dict[str, str]:
    body = {"username": "benchfan", "email": "fan@bench.example", "password": "bench password 1", "role": "member"}
    if await db["events_interests"].find_one({}):  # registered already: log in again
        body = {"username": "benchfan", "password": "bench password 1"}
        async with session.post(f"{base}/api/users/login", json=body) as response:
            data = await response.json()
        return {"Authorization": f"Bearer {data['accessToken']}"}
    async with session.post(f"{base}/api/users/register", json=body) as response:
        assert response.status == 201, await response.text()
        data = await response.json()
    user_id = data["user"]["id"]
    await db["events_interests"].update_one({"_id": user_id}, {"$set": {"interests": ["jazz", "soul"]}}, upsert=True)
    for org in world.organizations[:5]:
        await db["events_follows"].update_one(
            {"_id": f"{user_id}:{org}"}, {"$set": {"follower": user_id, "followed": org}}, upsert=True
        )
    return {"Authorization": f"Bearer {data['accessToken']}"}


async def run(size: int, rounds: int = 1, only: str = "", *, one_query: bool = True) -> list[tuple]:
    mongo = start_mongo()
    port = free_port()
    web = start_eventonight("web", mongo.uri, port, users_argon2_time_cost="1", users_argon2_memory_kib="1024")
    base = f"http://127.0.0.1:{port}"
    rows = []
    try:
        wait_http(f"{base}/health")  # indexes exist once the web process is up
        began = time.perf_counter()
        # Likes and follows (the popular and personal feeds) up to 10,000 events; events alone beyond.
        world = await seed(mongo.uri, size, interactions=size <= 10_000)
        waited = settle(mongo.process.pid, web.pid)  # what seeding set going (counters, rankings) ends first
        print(
            f"\n== {size} events (seeded in {time.perf_counter() - began:.0f} s, idle {waited:.0f} s later) ==",
            flush=True,
        )
        client = AsyncIOMotorClient(mongo.uri, tz_aware=True)
        db = client["eventonight"]
        planned = EventQueries(lambda work: work(repos_for(RawData(db))), lambda: CATALOGUE)
        collection = db["events_events"]
        one_id = world.events[len(world.events) // 2]["_id"]
        for number in range(1, rounds + 1):
            print(f"-- round {number} of {rounds}", flush=True)
            async with aiohttp.ClientSession(base) as session:
                print(f"{'query':28} {'cold':>7} | {'API p50':>8} {'p99':>7} {'req/s':>6} | "
                      f"{'driver p50':>10} {'p99':>7} | API/driver | {'one query p50':>13}")  # fmt: skip
                for name, query, params in [q for q in QUERIES if only in q[0]]:
                    feed = params is None
                    url = f"/api/events/feed/{query}" if feed else f"/api/events?{query}"
                    # Registered just before its feed: an access token lives minutes, a run longer.
                    headers = await personal_user(session, base, db, world) if query == "feed" else {}

                    async def api(url=url, headers=headers):
                        async with session.get(url, headers=headers) as response:
                            assert response.status == 200, await response.text()
                            await response.read()

                    fan = await db["events_interests"].find_one({})
                    fan_id = fan["_id"] if fan else None
                    if feed:

                        async def direct(query=query, fan_id=fan_id):
                            await planned.feed(query, fan_id, 20, 0)
                    else:

                        async def direct(params=params):
                            await planned.search(params, None)

                    start = time.perf_counter()
                    await api()
                    cold = (time.perf_counter() - start) * 1000
                    a = await load(api)
                    d = await load(direct)
                    naive = "-"
                    if one_query and not feed:
                        flt = search_filter(params, None)
                        branch = branches(flt, datetime.now(UTC))[0]
                        field, order = SORT_FIELDS[params.sort], -1 if params.descending else 1

                        async def one_query(branch=branch, field=field, order=order, offset=params.offset):
                            cursor = collection.find(branch).sort([(field, order), ("_id", order)])
                            await cursor.skip(offset).limit(20).to_list(20)
                            await collection.count_documents(branch)

                        n = await load(one_query, seconds=1.5)
                        naive = f"{n[1]:10.0f} ms"
                    print(
                        f"{name:28} {cold:5.0f}ms | {a[1]:6.1f}ms {a[2]:5.0f}ms {a[0]:6.0f} | {d[1]:8.1f}ms {d[2]:5.0f}ms |"
                        f" {d[0] / a[0]:9.2f}x | {naive:>13}",
                        flush=True,
                    )
                    rows.append((name, cold, a, d))

                async def detail():
                    async with session.get(f"/api/events/{one_id}") as response:
                        assert response.status == 200
                        await response.read()

                async def detail_direct():
                    await collection.find_one({"_id": one_id})

                a = await load(detail)
                d = await load(detail_direct)
                print(f"{'GET /api/events/{id}':28} {'':7} | {a[1]:6.1f}ms {a[2]:5.0f}ms {a[0]:6.0f} | "
                      f"{d[1]:8.1f}ms {d[2]:5.0f}ms | {d[0] / a[0]:9.2f}x |")  # fmt: skip
        client.close()
    finally:
        web.terminate()
        web.wait(20)
        mongo.stop()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000])
    parser.add_argument("--rounds", type=int, default=1, help="runs of the queries on one data set (seeding is slow)")
    parser.add_argument("--only", default="", help="only the queries whose name holds this text")
    parser.add_argument("--no-one-query", action="store_true", help="skip the plain query (a minute a page at 50,000)")
    args = parser.parse_args()
    curve = []
    for size in args.sizes:
        rows = await run(size, args.rounds, args.only, one_query=not args.no_one_query)
        if not rows:  # --only matched no catalogue query: the event detail alone ran
            continue
        curve.append((size, statistics.median(r[2][1] for r in rows), max(r[2][2] for r in rows)))
    if len(curve) > 1:
        print("\ncost curve (API, median over the queries of p50; worst p99):")
        for size, p50, p99 in curve:
            print(f"  {size:>6} events: p50 {p50:6.1f} ms, worst p99 {p99:6.0f} ms")


if __name__ == "__main__":
    asyncio.run(main())
