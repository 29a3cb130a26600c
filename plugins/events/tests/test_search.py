"""Search, filters, sorting, pagination, feeds and the tag catalogue."""

from datetime import UTC, datetime, timedelta

import pytest

from eventonight.hooks import hookimpl
from eventonight.hooks.testing import publish_event, wait_until

NOW = datetime.now(UTC).replace(microsecond=0)


def at(days: int) -> str:
    return (NOW + timedelta(days=days)).isoformat().replace("+00:00", "Z")


BERLIN = {"city": "Berlin", "lat": 52.52, "lon": 13.405}
POTSDAM = {"city": "Potsdam", "lat": 52.39, "lon": 13.06}
PARIS = {"city": "Paris", "lat": 48.857, "lon": 2.352}

EVENTS = [
    # title, days ahead, location, tags, description
    ("Warehouse Techno Night", 3, BERLIN, ["techno", "warehouse"], "Industrial beats till dawn"),
    ("Jazz in the Cellar", 5, BERLIN, ["jazz", "basement"], "Smoky late-night jazz quartet"),
    ("Rooftop House Session", 1, POTSDAM, ["house", "rooftop"], "Sunset grooves"),
    ("Café Électro", 8, PARIS, ["electronic", "bar"], "Électro au café"),
    ("Techno Boat Party", 12, PARIS, ["techno", "boat"], "Techno on the Seine"),
]


@pytest.fixture
async def catalogue(platform, account):
    """Two organizations and five published events (plus one draft), ids by title."""
    p = await platform()
    berlin = await account(p, "berlinclub", role="organization")
    paris = await account(p, "parisclub", role="organization")
    ids = {}
    for title, days, location, tags, description in EVENTS:
        org = paris if location is PARIS else berlin
        body = {
            "title": title,
            "description": description,
            "date": at(days),
            "location": location,
            "tags": tags,
            "status": "PUBLISHED",
        }
        response = await p.client.post("/api/events", json=body, headers=org.headers)
        assert response.status == 201, await response.text()
        ids[title] = (await response.json())["id"]
    draft = await p.client.post("/api/events", json={"title": "Techno draft"}, headers=berlin.headers)
    ids["draft"] = (await draft.json())["id"]
    return p, berlin, paris, ids


async def titles(p, query: str, headers=None) -> list[str]:
    response = await p.client.get(f"/api/events?{query}", headers=headers)
    assert response.status == 200, await response.text()
    return [e["title"] for e in (await response.json())["items"]]


async def test_free_text_tags_dates_and_organization(catalogue):
    p, berlin, paris, _ = catalogue
    assert await titles(p, "q=techno") == ["Warehouse Techno Night", "Techno Boat Party"]
    assert await titles(p, "q=TECH%20boat") == ["Techno Boat Party"]
    assert await titles(p, "q=electro") == ["Café Électro"], "accents and case are folded"
    assert await titles(p, "q=smok") == ["Jazz in the Cellar"], "words match by prefix, description included"
    assert len(await titles(p, "q=.*")) == 5, "no words: no text filter (and no regex injection)"
    assert await titles(p, "tags=techno,jazz") == ["Warehouse Techno Night", "Jazz in the Cellar", "Techno Boat Party"]
    assert await titles(p, "tags=techno,boat&tagsMode=all") == ["Techno Boat Party"]
    window = f"from={at(2).replace('+', '%2B')}&to={at(9)}"
    assert await titles(p, window) == ["Warehouse Techno Night", "Jazz in the Cellar", "Café Électro"]
    assert await titles(p, f"organization={paris.id}") == ["Café Électro", "Techno Boat Party"]
    assert "Techno draft" not in await titles(p, "q=techno", headers=berlin.headers)


async def test_geo_search_near_a_point(catalogue):
    p, *_ = catalogue
    assert await titles(p, "near=52.52,13.405&radiusKm=5") == ["Warehouse Techno Night", "Jazz in the Cellar"]
    assert await titles(p, "near=52.52,13.405&radiusKm=40") == [
        "Rooftop House Session",
        "Warehouse Techno Night",
        "Jazz in the Cellar",
    ]
    assert await titles(p, "near=48.85,2.35&radiusKm=10&q=boat") == ["Techno Boat Party"]
    for bad in ("near=100,0", "near=abc", "near=52,13&radiusKm=0", "near=52,13&radiusKm=5000"):
        assert (await p.client.get(f"/api/events?{bad}")).status == 400, bad


async def test_sorting_and_pagination(catalogue):
    p, *_ = catalogue
    by_date = [
        "Rooftop House Session",
        "Warehouse Techno Night",
        "Jazz in the Cellar",
        "Café Électro",
        "Techno Boat Party",
    ]
    assert await titles(p, "sort=date") == by_date
    assert await titles(p, "sort=date&order=desc") == by_date[::-1]
    assert await titles(p, "sort=title") == sorted(by_date, key=str.lower)
    page = await (await p.client.get("/api/events?sort=date&limit=2&offset=2")).json()
    assert [e["title"] for e in page["items"]] == by_date[2:4]
    assert page["total"] == 5 and page["hasMore"] is True and page["limit"] == 2 and page["offset"] == 2
    assert (await (await p.client.get("/api/events?limit=2&offset=4")).json())["hasMore"] is False
    assert await titles(p, "limit=2&offset=10") == []
    for bad in ("limit=101", "limit=0", "offset=-1", "sort=colour", "order=up", "status=LOST", "nonsense=1"):
        assert (await p.client.get(f"/api/events?{bad}")).status == 400, bad
    assert (await p.client.get("/api/events/search?sort=date&limit=1")).status == 200


async def test_price_and_popularity_come_from_other_plugins_events(catalogue, settings):
    p, _, _, ids = catalogue
    prices = {"Warehouse Techno Night": 25.0, "Jazz in the Cellar": 12.5, "Techno Boat Party": 40.0}
    for title, price in prices.items():
        publish_event(
            settings, "ticketing.prices.changed", {"eventId": ids[title], "lowestPrice": price, "currency": "EUR"}
        )
    for _ in range(3):
        like_id = publish_event(settings, "interactions.like.created", {"eventId": ids["Café Électro"], "userId": "u"})
    publish_event(
        settings, "interactions.like.created", {"eventId": ids["Café Électro"], "userId": "u"}, event_id=like_id
    )
    publish_event(
        settings,
        "ticketing.order.confirmed",
        {"orderId": "o1", "userId": "u", "eventId": ids["Jazz in the Cellar"], "ticketCount": 2},
    )

    async def synced():
        cafe = await (await p.client.get(f"/api/events/{ids['Café Électro']}")).json()
        jazz = await (await p.client.get(f"/api/events/{ids['Jazz in the Cellar']}")).json()
        priced = await (await p.client.get("/api/events?minPrice=0")).json()
        return cafe["likes"] == 3 and jazz["ticketsSold"] == 2 and priced["total"] == 3

    await wait_until(synced)
    assert (await titles(p, "sort=popularity&order=desc"))[:2] == ["Café Électro", "Jazz in the Cellar"]
    assert await titles(p, "sort=price&minPrice=0") == [
        "Jazz in the Cellar",
        "Warehouse Techno Night",
        "Techno Boat Party",
    ]
    assert await titles(p, "minPrice=20&maxPrice=30") == ["Warehouse Techno Night"]
    cafe = await (await p.client.get(f"/api/events/{ids['Café Électro']}")).json()
    assert cafe["likes"] == 3, "the redelivered like counted once"
    jazz = await (await p.client.get(f"/api/events/{ids['Jazz in the Cellar']}")).json()
    assert jazz["ticketsSold"] == 2 and jazz["lowestPrice"] == 12.5 and jazz["currency"] == "EUR"


async def test_status_filter_lists_only_ones_own_drafts(catalogue):
    p, berlin, paris, _ = catalogue
    assert await titles(p, "status=DRAFT", headers=berlin.headers) == ["Techno draft"]
    assert await titles(p, "status=DRAFT", headers=paris.headers) == []
    assert (await p.client.get("/api/events?status=DRAFT")).status == 401


async def test_feeds(catalogue, settings, account):
    p, _, paris, ids = catalogue

    async def feed(kind, headers=None):
        response = await p.client.get(f"/api/events/feed/{kind}", headers=headers)
        assert response.status == 200, await response.text()
        return [e["title"] for e in (await response.json())["items"]]

    assert await feed("upcoming") == [
        "Rooftop House Session",
        "Warehouse Techno Night",
        "Jazz in the Cellar",
        "Café Électro",
        "Techno Boat Party",
    ]
    assert (await feed("recently_added"))[0] == "Techno Boat Party"
    for _ in range(2):
        publish_event(settings, "interactions.like.created", {"eventId": ids["Jazz in the Cellar"], "userId": "u"})
    publish_event(
        settings,
        "ticketing.order.confirmed",
        {"orderId": "o", "userId": "u", "eventId": ids["Café Électro"], "ticketCount": 1},
    )

    async def popular_ready():
        return await feed("popular") == ["Jazz in the Cellar", "Café Électro"]

    await wait_until(popular_ready)

    # Personal feed: interests (through the users API) and followed organizations (interactions' events).
    fan = await account(p, "fan")
    assert (await p.client.get("/api/events/feed/feed")).status == 401
    assert await feed("feed", fan.headers) == []
    response = await p.client.put(
        f"/api/users/{fan.id}", json={"account": {"interests": ["jazz"]}}, headers=fan.headers
    )
    assert response.status == 200, await response.text()
    publish_event(settings, "interactions.follow.created", {"followerId": fan.id, "followedId": paris.id})

    async def personal_ready():
        return await feed("feed", fan.headers) == ["Jazz in the Cellar", "Café Électro", "Techno Boat Party"]

    await wait_until(personal_ready)
    publish_event(settings, "interactions.follow.deleted", {"followerId": fan.id, "followedId": paris.id})

    async def unfollowed():
        return await feed("feed", fan.headers) == ["Jazz in the Cellar"]

    await wait_until(unfollowed)
    assert (await p.client.get("/api/events/feed/trending")).status == 404


class ExtraTags:
    @hookimpl(optionalhook=True)
    def events_tag_catalogue(self, kernel):
        return {"music-style": ["sea-shanty"], "accessibility": ["step-free"]}


async def test_tag_catalogue_is_public_and_extendable(platform, account):
    p = await platform(extra_plugins=[("extra-tags", ExtraTags())])
    body = await (await p.client.get("/api/events/tags")).json()
    categories = {c["category"]: c["tags"] for c in body["categories"]}
    assert {"event-type", "venue", "music-style"} <= set(categories)
    assert "techno" in categories["music-style"] and "sea-shanty" in categories["music-style"]
    assert categories["accessibility"] == ["step-free"]
    one = await (await p.client.get("/api/events/tags/venue")).json()
    assert [c["category"] for c in one["categories"]] == ["venue"]
    assert (await p.client.get("/api/events/tags/nope")).status == 404
    org = await account(p, "club", role="organization")
    response = await p.client.post(
        "/api/events", json={"title": "Shanties", "tags": ["sea-shanty"]}, headers=org.headers
    )
    assert response.status == 201


async def test_tickets_sold_goes_down_after_cancellations_and_partial_refunds(catalogue, settings):
    p, _, _, ids = catalogue
    jazz = ids["Jazz in the Cellar"]
    order = {"orderId": "o1", "userId": "u", "eventId": jazz}
    publish_event(settings, "ticketing.order.confirmed", {**order, "ticketCount": 3})
    publish_event(settings, "ticketing.order.confirmed", {**order, "orderId": "o2", "ticketCount": 2})
    publish_event(settings, "ticketing.order.changed", {**order, "ticketCount": 2, "cancelledCount": 1})
    publish_event(settings, "ticketing.order.cancelled", {**order, "orderId": "o2", "ticketCount": 2})

    async def sold(expected):
        return (await (await p.client.get(f"/api/events/{jazz}")).json())["ticketsSold"] == expected

    await wait_until(lambda: sold(2))  # 3 + 2 - 1 - 2


async def test_the_catalogue_opens_on_upcoming_events_soonest_first_past_ones_when_asked(catalogue):
    p, berlin, *_ = catalogue
    past = await p.client.post(
        "/api/events",
        json={"title": "Last Year's Gala", "date": at(2), "location": BERLIN, "status": "PUBLISHED"},
        headers=berlin.headers,
    )
    gala = (await past.json())["id"]
    # It took place: completed, a year ago (as the completion job leaves a past event).
    await p.kernel.database.db["events_events"].update_one(
        {"_id": gala}, {"$set": {"status": "COMPLETED", "date": NOW - timedelta(days=365)}}
    )
    upcoming = [t for t, *_ in sorted(EVENTS, key=lambda e: e[1])]
    assert await titles(p, "") == upcoming, "no parameters: upcoming published events, soonest first"
    assert await titles(p, "status=COMPLETED") == ["Last Year's Gala"]
    assert (await titles(p, "status=PUBLISHED,COMPLETED"))[0] == "Last Year's Gala", "several statuses"
    last_year = f"from={(NOW - timedelta(days=400)).isoformat().replace('+00:00', 'Z')}&to={at(0)}"
    assert await titles(p, last_year) == ["Last Year's Gala"], "a date window in the past shows the past"
    mine = await titles(p, "status=DRAFT,PUBLISHED", headers=berlin.headers)
    assert "Techno draft" in mine and "Café Électro" not in mine, "drafts: one's own events only"
    assert (await p.client.get("/api/events?status=PUBLISHED,LOST")).status == 400


async def test_free_text_and_filters_reach_venue_and_city(catalogue):
    p, berlin, *_ = catalogue
    venue = {"name": "Berghain Kantine", "city": "Berlin", "lat": 52.51, "lon": 13.44}
    created = await p.client.post(
        "/api/events",
        json={"title": "Sunday Session", "date": at(4), "location": venue, "status": "PUBLISHED"},
        headers=berlin.headers,
    )
    assert created.status == 201
    assert await titles(p, "q=berghain") == ["Sunday Session"], "the venue's name is searched"
    assert await titles(p, "q=kantine%20sunday") == ["Sunday Session"]
    assert await titles(p, "q=potsdam") == ["Rooftop House Session"], "the city is searched"
    assert await titles(p, "city=PARIS") == ["Café Électro", "Techno Boat Party"], "whole city, any case"
    assert await titles(p, "city=par") == [], "a filter is the whole name, not a prefix"
    assert await titles(p, "venue=berghain%20kantine") == ["Sunday Session"]
    assert await titles(p, "city=Berlin&q=jazz") == ["Jazz in the Cellar"]


async def test_prices_free_is_zero_unpriced_only_left_out_by_a_bound(catalogue, settings):
    p, _, _, ids = catalogue
    for title, lowest in (("Rooftop House Session", 0.0), ("Warehouse Techno Night", 15.0)):
        publish_event(
            settings,
            "ticketing.prices.changed",
            {"eventId": ids[title], "lowestPrice": lowest, "lowestPriceMinor": int(lowest * 100), "currency": "EUR"},
        )

    async def priced():
        return await titles(p, "minPrice=0") == ["Rooftop House Session", "Warehouse Techno Night"]

    await wait_until(priced)
    assert len(await titles(p, "")) == 5, "no bound: unpriced events are listed too"
    assert await titles(p, "maxPrice=10") == ["Rooftop House Session"], "free events cost 0"
    assert await titles(p, "minPrice=10") == ["Warehouse Techno Night"]
    assert await titles(p, "minPrice=0&maxPrice=0") == ["Rooftop House Session"]


async def test_events_stored_by_an_older_version_get_the_new_search_fields_at_start(catalogue, platform):
    p, *_ = catalogue
    events = p.kernel.database.db["events_events"]
    derived = ("city_key", "venue_key", "search_v", "geo_cells", "search_prefixes", "price_sort")
    await events.update_many({}, {"$unset": dict.fromkeys(derived, "")})
    assert await titles(p, "city=Paris") == []
    assert await titles(p, "near=48.85,2.35&radiusKm=10") == []
    again = await platform(settings_override=p.kernel.settings)  # a restart on the same database
    assert await titles(again, "city=Paris") == ["Café Électro", "Techno Boat Party"]
    assert await titles(again, "near=48.85,2.35&radiusKm=10") == ["Café Électro", "Techno Boat Party"]
    assert await titles(again, "q=seine") == ["Techno Boat Party"]
    assert len(await titles(again, "sort=price")) == 5
    assert await events.count_documents({"search_v": {"$exists": False}}) == 0


async def test_the_web_process_serves_pages_from_the_statistics_it_has_read(catalogue):
    """docs/events.md: while the catalogue's version is theirs, a page reads the version alone."""
    p, berlin, _, _ = catalogue
    first = await (await p.client.get("/api/events?tags=techno")).json()
    # The stored statistics change behind the process's back, the version does not: the page does not.
    catalogue_db = p.kernel.database.db["events_catalogue"]
    await catalogue_db.update_many({"_id": {"$regex": "^stats:"}}, {"$set": {"ids": [], "total": 0}})
    assert await (await p.client.get("/api/events?tags=techno")).json() == first
    # A new event is a new version: the statistics are counted again.
    body = {"title": "Techno Matinee", "date": at(3), "location": BERLIN, "tags": ["techno"], "status": "PUBLISHED"}
    assert (await p.client.post("/api/events", json=body, headers=berlin.headers)).status == 201
    assert len((await (await p.client.get("/api/events?tags=techno")).json())["items"]) == len(first["items"]) + 1
