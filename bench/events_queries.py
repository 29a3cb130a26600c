"""The event catalogue at scale: every catalogue query through the API, beside the driver.

Run by hand: ``.venv/bin/python bench/events_queries.py [events ...] [--rounds N] [--only TEXT]``
(default 10000; e.g. ``1000 10000 50000`` for the cost curve; ``--rounds 3`` measures three times
on one data set, seeding taking minutes). For each size: a fresh embedded SecantusDB, one
``eventonight web`` process, the data set of ``scale_data.py``; then for every query the API
offers, 8 concurrent clients for a few seconds each on:

- **API**: ``GET /api/events…`` over HTTP (p50 / p99 / requests per second);
- **driver, as planned**: the same page read by the events plugin's repository code from this
  process through the driver the platform reads with (PyMongo's asyncio client, as
  ``kernel.read``), straight on the database (the API's own database work, without HTTP, the
  kernel or JSON); API / driver is the overhead of the platform (target 1.5 or less);
- **driver, one query**: the page as one ``find().sort().skip().limit()`` plus a
  ``count_documents`` on the same filter, the way the plugin read it before (fewer runs: slow).

The first request of each query is timed apart ("cold": it counts a broad filter once per
catalogue version). Then ``GET /api/events/{id}`` beside the driver's ``find_one`` and beside its
floor, a bare aiohttp server doing the same lookup on the same driver, each also under ``wrk``
(``measure_detail``). Targets at 10,000 events: p50 ≤ 100 ms, p99 ≤ 300 ms for every catalogue
query; ``GET /api/events/{id}`` p50 ≤ 20 ms; API / driver ≤ 1.5x for each. Needs wrk.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from datetime import UTC, datetime, timedelta

import aiohttp
from _common import HERE, free_port, require_wrk, settle, spawn, start_eventonight, start_mongo, wait_http, wrk
from eventonight_events.application.queries import EventQueries, SearchParams, search_filter
from eventonight_events.domain.tags import CATALOGUE
from eventonight_events.infrastructure.catalogue_query import branches
from eventonight_events.infrastructure.catalogue_stats import StatsCache
from eventonight_events.infrastructure.repository import SORT_FIELDS
from eventonight_events.infrastructure.wiring import repos_for
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import AsyncMongoClient
from scale_data import seed

from eventonight.kernel.handles import ReadCollection

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


class ReadData:
    """A plugin's data handle as ``kernel.read`` gives it (PyMongo's asyncio collections), without the kernel."""

    def __init__(self, db) -> None:
        self.db = db

    def collection(self, name: str) -> ReadCollection:
        return ReadCollection(self.db[name])


async def measure_detail(base: str, floor_base: str, collection, event_id: str) -> None:
    """``GET /api/events/{id}`` beside the driver's ``find_one``, and beside the floor of its stack.

    The floor is a bare aiohttp server doing the same ``find_one`` with the same driver and JSON
    library (``_servers.py detail``): what any aiohttp server on this driver pays for this page. Each
    server is loaded twice: by this process's aiohttp client (like every catalogue row), and by
    ``wrk``, whose own CPU per request is a tenth of the Python client's, which otherwise counts
    against the HTTP side on the two cores the servers and the database share.
    """
    path = f"/api/events/{event_id}"

    async def driver():
        await collection.find_one({"_id": event_id})

    async with aiohttp.ClientSession(base) as api_session, aiohttp.ClientSession(floor_base) as floor_session:

        async def api():
            async with api_session.get(path) as response:
                assert response.status == 200
                await response.read()

        async def floor():
            async with floor_session.get(path) as response:
                assert response.status == 200
                await response.read()

        # The driver between the two servers: a noisy spell hits each side of a ratio alike.
        a = await load(api)
        d = await load(driver)
        f = await load(floor)
    aw = wrk(f"{base}{path}", seconds=int(SECONDS), connections=CLIENTS)
    fw = wrk(f"{floor_base}{path}", seconds=int(SECONDS), connections=CLIENTS)
    print(f"{'GET /api/events/{id}':28} {'':7} | {a[1]:6.1f}ms {a[2]:5.0f}ms {a[0]:6.0f} | "
          f"{d[1]:8.1f}ms {d[2]:5.0f}ms | {d[0] / a[0]:9.2f}x |")  # fmt: skip
    print(f"{'  floor: bare aiohttp':28} {'':7} | {f[1]:6.1f}ms {f[2]:5.0f}ms {f[0]:6.0f} | "
          f"{'':10} {'':7} | {d[0] / f[0]:9.2f}x |")  # fmt: skip
    for name, w in (("  API under wrk", aw), ("  floor under wrk", fw)):
        print(f"{name:28} {'':7} | {w['p50_ms']:6.1f}ms {w['p99_ms']:5.0f}ms {w['rps']:6.0f} | "
              f"{'':10} {'':7} | {d[0] / w['rps']:9.2f}x |")  # fmt: skip
    print(f"  API / floor: {f[0] / a[0]:.2f}x (aiohttp client), {fw['rps'] / aw['rps']:.2f}x (wrk)", flush=True)


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
    require_wrk()  # before minutes of seeding, not after
    mongo = start_mongo()
    port = free_port()
    web = start_eventonight("web", mongo.uri, port, users_argon2_time_cost="1", users_argon2_memory_kib="1024")
    base = f"http://127.0.0.1:{port}"
    floor_port = free_port()
    floor = spawn(str(HERE / "_servers.py"), "detail", str(floor_port), mongo.uri)
    floor_base = f"http://127.0.0.1:{floor_port}"
    rows = []
    try:
        wait_http(f"{base}/health")  # indexes exist once the web process is up
        wait_http(f"{floor_base}/health")
        began = time.perf_counter()
        # Likes and follows (the popular and personal feeds) up to 10,000 events; events alone beyond.
        world = await seed(mongo.uri, size, interactions=size <= 10_000)
        waited = settle(mongo.process.pid, web.pid)  # what seeding set going (counters, rankings) ends first
        print(
            f"\n== {size} events (seeded in {time.perf_counter() - began:.0f} s, idle {waited:.0f} s later) ==",
            flush=True,
        )
        client = AsyncIOMotorClient(mongo.uri, tz_aware=True)  # the benchmark's own writes
        db = client["eventonight"]
        reads = AsyncMongoClient(mongo.uri, tz_aware=True)
        stats = StatsCache()  # as the plugin's reads keep the catalogue's statistics
        planned = EventQueries(lambda work: work(repos_for(ReadData(reads["eventonight"]), stats)), lambda: CATALOGUE)
        collection = reads["eventonight"]["events_events"]
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

            await measure_detail(base, floor_base, collection, one_id)
        client.close()
        await reads.close()
    finally:
        for process in (web, floor):
            process.terminate()
            process.wait(20)
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
