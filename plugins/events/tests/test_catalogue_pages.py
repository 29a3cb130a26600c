"""Catalogue pages read through index ranges and kept statistics answer exactly what one plain query does.

The oracle is the whole filter as one ``$and`` query sorted by the driver (what the plugin used
to send); the pages come from the repository, cold (statistics computed) and warm (statistics
read back, windows on the sort keys), before and after writes that change or keep the version.
"""

import asyncio
import random
from datetime import UTC, datetime, timedelta

import pytest
from eventonight_events.application.ports import EventFilter
from eventonight_events.domain.model import CANCELLED, COMPLETED, PUBLISHED, Event, Location
from eventonight_events.domain.search import normalise
from eventonight_events.infrastructure.catalogue_query import EARTH_RADIUS_KM
from eventonight_events.infrastructure.catalogue_stats import HEAD, SMALL, Stats, StatsCache
from eventonight_events.infrastructure.repository import SORT_FIELDS, MongoEvents

NOW = datetime.now(UTC)
CITIES = [("Berlin", 52.52, 13.405), ("Potsdam", 52.39, 13.06), ("Paris", 48.857, 2.352), ("Lyon", 45.76, 4.84)]
TAGS = ["techno", "house", "jazz", "rock", "pop", "soul"]
COUNT = 420


def _event(i: int, rng: random.Random) -> Event:
    city, lat, lon = CITIES[i % len(CITIES)] if i % 9 else CITIES[3]  # Lyon: few events
    date = NOW + timedelta(days=rng.uniform(-20, 90))
    return Event(
        id=f"e{i:04d}",
        creator_id=f"org{i % 7}",
        status=COMPLETED if date < NOW else PUBLISHED,
        title=f"{rng.choice(['Night', 'Session', 'Party'])} {rng.choice(['A', 'B'])}",  # many ties
        description="techno and more" if i % 5 == 0 else "an evening",
        date=date,
        location=Location(name=f"venue {i % 3}", city=city, lat=lat + rng.uniform(-0.1, 0.1), lon=lon),
        tags=rng.sample(TAGS, 2),
        created_at=NOW,
        updated_at=NOW,
        published_at=NOW - timedelta(minutes=rng.randint(0, 50)),  # ties too
        lowest_price=rng.choice([None, 0.0, 5.0, 10.0, 20.0]),
        currency="EUR",
        likes=rng.choice([0, 0, 0, 1, 2, 5]),
    )


def _oracle_query(flt: EventFilter) -> dict:
    clauses: list[dict] = [{"status": {"$in": list(flt.statuses)}}]
    clauses += [{"search_tokens": {"$regex": f"^{t}"}} for t in flt.text]
    if flt.any_tags_or_creators:
        clauses.append({"$or": [{"tags": {"$in": flt.tags}}, {"members": {"$in": flt.creators}}]})
    elif flt.tags:
        clauses.append({"tags": {"$all" if flt.all_tags else "$in": flt.tags}})
    if flt.upcoming:
        clauses.append({"date": {"$gte": datetime.now(UTC)}})
    if flt.date_from:
        clauses.append({"date": {"$gte": flt.date_from}})
    if flt.date_to:
        clauses.append({"date": {"$lte": flt.date_to}})
    if flt.city:
        clauses.append({"city_key": normalise(flt.city)})
    if flt.organization:
        clauses.append({"members": flt.organization})
    if flt.near:
        lat, lon, km = flt.near
        clauses.append({"point": {"$geoWithin": {"$centerSphere": [[lon, lat], km / EARTH_RADIUS_KM]}}})
    if flt.min_price is not None:
        clauses.append({"lowest_price": {"$gte": flt.min_price}})
    if flt.max_price is not None:
        clauses.append({"lowest_price": {"$lte": flt.max_price}})
    return {"$and": clauses}


async def _expected(collection, flt: EventFilter, sort: str, descending: bool, limit: int, offset: int):
    d = -1 if descending else 1
    field = SORT_FIELDS[sort]
    ids = [doc["_id"] async for doc in collection.find(_oracle_query(flt), {"_id": 1}).sort([(field, d), ("_id", d)])]
    return ids[offset : offset + limit], len(ids)


FILTERS = {
    "upcoming": EventFilter(statuses=(PUBLISHED,), upcoming=True),
    "text": EventFilter(statuses=(PUBLISHED,), upcoming=True, text=["techn"]),
    "two words": EventFilter(statuses=(PUBLISHED,), upcoming=True, text=["techno", "ev"]),
    "tags any": EventFilter(statuses=(PUBLISHED,), upcoming=True, tags=["techno", "jazz"]),
    "tags all": EventFilter(statuses=(PUBLISHED,), upcoming=True, tags=["techno", "house"], all_tags=True),
    "city": EventFilter(statuses=(PUBLISHED,), upcoming=True, city="berlin"),
    "few (Lyon)": EventFilter(statuses=(PUBLISHED,), upcoming=True, city="Lyon"),
    "near 30 km": EventFilter(statuses=(PUBLISHED,), upcoming=True, near=(52.52, 13.405, 30.0)),
    "near + tag": EventFilter(statuses=(PUBLISHED,), upcoming=True, near=(52.45, 13.2, 40.0), tags=["rock"]),
    "window of dates": EventFilter(
        statuses=(PUBLISHED, COMPLETED), date_from=NOW - timedelta(days=10), date_to=NOW + timedelta(days=30)
    ),
    "price range": EventFilter(statuses=(PUBLISHED,), upcoming=True, min_price=5, max_price=20),
    "organization": EventFilter(statuses=(PUBLISHED, COMPLETED), organization="org3"),
    "feed (either)": EventFilter(
        statuses=(PUBLISHED,), upcoming=True, tags=["soul"], creators=["org1", "org2"], any_tags_or_creators=True
    ),
}
# Deep pages too: from a mark (offset 32, 64), between two (40, 150) and across ties (title, price).
PAGES = [("date", False, 0), ("date", False, 40), ("date", True, 20), ("title", False, 0), ("title", True, 60),
         ("price", False, 0), ("price", True, 25), ("popularity", True, 0), ("popularity", True, 100),
         ("date", False, 32), ("date", False, 150), ("date", True, 110), ("title", False, 96),
         ("title", True, 133), ("price", False, 64), ("price", True, 170),
         # Few ties (publication minutes; popularity once spread): a window ending at a mark on the
         # page's last row takes that row's ties along.
         ("published", True, 108), ("published", False, 76), ("popularity", True, 12)]  # fmt: skip


@pytest.fixture
async def seeded(platform):
    # No scheduler: the tests move time themselves, and the completion job (every minute) would
    # complete events between a page and its oracle on a machine slow enough to take that long.
    p = await platform(scheduler=False)
    events = MongoEvents(p.kernel.read, StatsCache())  # as the plugin reads its catalogue
    rng = random.Random(11)
    for i in range(COUNT):
        await events.add(_event(i, rng))
    return events


async def _check_all(events: MongoEvents, filters=FILTERS, pages=PAGES) -> None:
    for name, flt in filters.items():
        for sort, descending, offset in pages:
            for attempt in ("cold or warm", "warm"):
                got, total = await events.search(flt, sort, descending, 20, offset)
                want, want_total = await _expected(events.collection, flt, sort, descending, 20, offset)
                where = f"{name}, sort={sort} desc={descending} offset={offset} ({attempt})"
                assert total == want_total, where
                assert [e.id for e in got] == want, where


async def test_every_filter_and_order_pages_like_one_plain_query(seeded):
    await _check_all(seeded)
    # The broad filters keep statistics, the few-match one its ids; none is kept for one's own events.
    stats = {d["_id"]: d async for d in seeded.catalogue.find({"_id": {"$regex": "^stats:"}})}
    assert len(stats) == len(FILTERS)
    assert sum(1 for d in stats.values() if d["ids"] is not None and len(d["ids"]) <= SMALL) >= 1
    assert any(d["ids"] is None and d["total"] > 100 for d in stats.values())
    # Marks at every 32nd rank (docs/events.md), in every order.
    broad = max(stats.values(), key=lambda d: d["total"])
    assert [m[0] for m in broad["marks"]["date:1"]] == list(range(32, broad["total"] + 1, 32))
    assert [m[0] for m in broad["marks"]["title_sort:-1"]] == list(range(32, broad["total"] + 1, 32))
    # And the first 64 rows of every order but popularity (a hint only), as ids.
    assert sorted(broad["heads"]) == sorted(
        f"{f}:{d}" for f in ("date", "title_sort", "price_sort", "published_at") for d in (1, -1)
    )
    assert all(len(head) == 64 for head in broad["heads"].values())


async def test_pages_stay_exact_as_the_catalogue_changes(seeded):
    events = seeded
    await _check_all(events)
    # Likes move the popularity order without a new version: the kept marks are only hints.
    for i in range(0, COUNT, 3):
        await events.add_likes(f"e{i:04d}", 7 if i % 2 else -1)
    for i in range(1, COUNT, 3):  # and spread the top (few ties: statistics taken after this take them along)
        await events.add_likes(f"e{i:04d}", i % 41)
    await _check_all(events, pages=[p for p in PAGES if p[0] == "popularity"] + [("popularity", False, 70)])
    # A new event, an edit that moves one to another city, a cancellation and a new price: new versions.
    rng = random.Random(5)
    await events.add(_event(COUNT, rng))
    moved = await events.get("e0001")
    moved.location = Location(name="venue 9", city="Lyon", lat=45.76, lon=4.84)
    await events.save(moved)
    cancelled = await events.get("e0002")
    cancelled.status = CANCELLED
    await events.save(cancelled)
    await events.set_price("e0004", 99.0, "EUR")
    # Time passes: an upcoming event's date is behind us, and the completion job has not run yet.
    upcoming = await events.collection.find_one({"status": PUBLISHED, "date": {"$gt": NOW + timedelta(days=1)}})
    await events.collection.update_one({"_id": upcoming["_id"]}, {"$set": {"date": NOW - timedelta(hours=1)}})
    await _check_all(events)
    assert upcoming["_id"] not in [e.id for e in (await events.search(FILTERS["upcoming"], "date", False, 100, 0))[0]]


@pytest.mark.parametrize("passing", [3, HEAD + 6])
async def test_pages_stay_exact_as_time_passes_under_kept_statistics(seeded, passing):
    """Real time passes (no write, no new version): upcoming events leave every page and total.

    A few passed matches are counted off the kept head of the date order, in every order; more
    than that head holds are counted by the database.
    """
    events = seeded
    rng = random.Random(3)
    soon = datetime.now(UTC) + timedelta(seconds=6)
    for n in range(passing):  # the soonest events of most filters: first in their date order
        event = _event(COUNT + 10 + n, rng)
        event.status, event.date, event.tags, event.lowest_price = (
            PUBLISHED,
            soon + n * timedelta(seconds=0.02),
            ["techno", "house"],
            10.0,
        )
        event.location = Location(name="venue 1", city="Berlin", lat=52.52, lon=13.405)
        event.creator_id, event.description = "org1", "techno and more"
        await events.add(event)
    for flt in FILTERS.values():  # statistics computed while they are still upcoming
        await events.search(flt, "date", False, 20, 0)
    kept = {d["_id"]: d["at"] async for d in events.catalogue.find({"_id": {"$regex": "^stats:"}})}
    last = soon + passing * timedelta(seconds=0.02)
    await asyncio.sleep(max(0.0, (last - datetime.now(UTC)).total_seconds() + 0.5))
    await _check_all(events)
    assert {d["_id"]: d["at"] async for d in events.catalogue.find({"_id": {"$regex": "^stats:"}})} == kept
    first, _ = await events.search(FILTERS["upcoming"], "date", False, 20, 0)
    assert not {e.id for e in first} & {f"e{COUNT + 10 + n:04d}" for n in range(passing)}


async def test_statistics_of_an_older_version_are_not_used(seeded):
    events = seeded
    flt = FILTERS["tags any"]
    _, before = await events.search(flt, "date", False, 20, 0)
    await events.search(flt, "date", False, 20, 0)  # served from the statistics
    rng = random.Random(9)
    newcomer = _event(COUNT + 1, rng)
    newcomer.status, newcomer.date, newcomer.tags = PUBLISHED, NOW + timedelta(hours=2), ["techno"]
    await events.add(newcomer)
    items, after = await events.search(flt, "date", False, 20, 0)
    assert after == before + 1
    assert items[0].id == newcomer.id, "the soonest upcoming event leads the date order"


async def test_statistics_read_once_serve_while_their_version_is_current(seeded):
    events = seeded
    flt = FILTERS["tags any"]
    first, total = await events.search(flt, "title", False, 20, 0)
    (key,) = [d["_id"] async for d in events.catalogue.find({"_id": {"$regex": "^stats:"}})]
    # What is stored changes behind the process's back (same version): the page reads the version alone.
    await events.catalogue.update_one({"_id": key}, {"$set": {"total": total + 1000}})
    again, same = await events.search(flt, "title", False, 20, 0)
    assert (same, [e.id for e in again]) == (total, [e.id for e in first])
    # A new version (a new match): the cached statistics are not used any more.
    newcomer = _event(COUNT + 1, random.Random(9))
    newcomer.status, newcomer.date, newcomer.tags = PUBLISHED, NOW + timedelta(hours=2), ["jazz"]
    await events.add(newcomer)
    assert (await events.search(flt, "title", False, 20, 0))[1] == total + 1


def test_the_statistics_cache_keeps_the_512_most_recently_used():
    cache = StatsCache()
    stats = Stats(total=1)
    for n in range(512):
        cache.put(f"stats:{n}", "date:1", 1, stats)
    assert cache.get("stats:0", "date:1") is not None  # used again: the oldest is now stats:1
    cache.put("stats:512", "date:1", 1, stats)
    assert len(cache) == 512
    assert cache.get("stats:1", "date:1") is None
    assert cache.get("stats:0", "date:1") is not None
    assert cache.get("stats:512", "title_sort:1") is None  # by filter and order


async def test_unused_statistics_expire_after_a_day(platform):
    p = await platform(consumers=False)
    indexes = await p.kernel.database.db["events_catalogue"].index_information()
    assert indexes["stats_ttl"]["key"] == [("at", 1)]
    assert indexes["stats_ttl"]["expireAfterSeconds"] == 24 * 3600
