"""A realistic data set at scale, written through each plugin's own document mapping and stores.

Run by hand: ``.venv/bin/python bench/scale_data.py MONGODB_URI [--events 10000]`` seeds a
database an ``eventonight web`` has already started on (its indexes exist); the benchmarks import
``seed`` and call it on their own embedded database. Proportions follow the issue: per 10,000
events, 50 cities over a year of dates (the first two months past and completed), 5,000 users
(200 of them organizations), 100,000 likes, 50,000 follows, 20,000 reviews and 5,000
conversations. Events go through the events plugin's own mapping (``to_document``), users into
the interactions store in the shape ``Store.upsert_user`` writes; likes and follows are bulk-inserted in the
interactions store's shapes and counted by its own ``backfill_counters``; what consumers would
have derived (the events' like counters and recent activity, interactions' copies of events) is
written alongside. Reviews (of past events), conversations with their messages (member to
organization; the first organization talks with 300 members) and the notifications the likes,
follows and reviews caused are written in the chat, interactions and notification stores'
shapes (the chat inboxes summarised by the chat store's own ``backfill_inboxes``, the unread
notifications counted by the notification store's ``backfill_unread``). The bus is left out: 100,000 likes through it would take an hour.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from bson import ObjectId
from eventonight_chat.domain.rules import pair_key
from eventonight_chat.infrastructure.store import Store as ChatStore
from eventonight_events.domain.model import COMPLETED, PUBLISHED, Event, Location
from eventonight_events.domain.tags import CATALOGUE
from eventonight_events.infrastructure.catalogue_stats import VERSION_ID
from eventonight_events.infrastructure.repository import to_document
from eventonight_interactions.infrastructure.store import Store
from eventonight_notification.domain import notifications as n
from eventonight_notification.infrastructure.store import Store as NotificationStore
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import UpdateOne

# Fifty cities with their coordinates, so radius searches find realistic neighbourhoods.
CITIES = [
    ("Berlin", 52.52, 13.405), ("Paris", 48.857, 2.352), ("London", 51.507, -0.128), ("Madrid", 40.417, -3.704),
    ("Rome", 41.903, 12.496), ("Barcelona", 41.387, 2.169), ("Amsterdam", 52.368, 4.904), ("Lisbon", 38.722, -9.139),
    ("Vienna", 48.208, 16.373), ("Prague", 50.075, 14.438), ("Budapest", 47.498, 19.040), ("Warsaw", 52.230, 21.012),
    ("Copenhagen", 55.676, 12.568), ("Stockholm", 59.329, 18.069), ("Oslo", 59.914, 10.752), ("Helsinki", 60.170, 24.938),
    ("Dublin", 53.350, -6.260), ("Brussels", 50.850, 4.352), ("Munich", 48.135, 11.582), ("Hamburg", 53.551, 9.994),
    ("Milan", 45.464, 9.190), ("Naples", 40.852, 14.268), ("Lyon", 45.764, 4.836), ("Marseille", 43.296, 5.370),
    ("Zurich", 47.377, 8.542), ("Geneva", 46.204, 6.143), ("Athens", 37.984, 23.728), ("Istanbul", 41.008, 28.978),
    ("Krakow", 50.065, 19.945), ("Seville", 37.389, -5.984), ("Valencia", 39.470, -0.376), ("Porto", 41.158, -8.629),
    ("Cologne", 50.938, 6.960), ("Frankfurt", 50.110, 8.682), ("Leipzig", 51.340, 12.375), ("Dresden", 51.050, 13.738),
    ("Potsdam", 52.391, 13.066), ("Rotterdam", 51.924, 4.478), ("Antwerp", 51.219, 4.402), ("Manchester", 53.481, -2.243),
    ("Edinburgh", 55.953, -3.188), ("Glasgow", 55.864, -4.252), ("Bologna", 44.494, 11.343), ("Florence", 43.770, 11.255),
    ("Turin", 45.070, 7.687), ("Bordeaux", 44.838, -0.579), ("Toulouse", 43.605, 1.444), ("Nice", 43.710, 7.262),
    ("Ljubljana", 46.057, 14.506), ("Zagreb", 45.815, 15.982),
]  # fmt: skip
TAGS = [t for tags in CATALOGUE.values() for t in tags]
WORDS = ["Night", "Session", "Party", "Live", "Club", "Sunday", "Open-Air", "Warehouse", "Rooftop", "Social"]


@dataclass
class Sizes:
    events: int = 10_000

    def per_events(self, n: int) -> int:
        return max(1, n * self.events // 10_000)

    @property
    def users(self) -> int:
        return self.per_events(5_000)

    @property
    def organizations(self) -> int:
        return max(2, self.users // 25)

    @property
    def likes(self) -> int:
        return self.per_events(100_000)

    @property
    def follows(self) -> int:
        return self.per_events(50_000)

    @property
    def reviews(self) -> int:
        return self.per_events(20_000)

    @property
    def conversations(self) -> int:
        return self.per_events(5_000)


@dataclass
class World:
    """What was seeded: ids the benchmarks pick their requests from."""

    sizes: Sizes
    organizations: list[str] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)  # the events' documents
    liked_event: str = ""  # an event with 200 likers
    liker: str = ""  # a member with 100 likes
    likes: list[dict] = field(default_factory=list)  # interactions' like documents
    follows: list[dict] = field(default_factory=list)  # interactions' follow documents
    busiest: str = ""  # the organization with the most notifications and conversations


def _events(sizes: Sizes, organizations: list[str], rng: random.Random, now: datetime) -> list[dict]:
    docs = []
    # Tags follow a long tail, as real catalogues do: a few styles are everywhere.
    weights = [1 / (i + 1) ** 0.8 for i in range(len(TAGS))]
    for i in range(sizes.events):
        city, lat, lon = CITIES[i % len(CITIES)]
        date = now + timedelta(days=rng.uniform(-60, 305))
        tags = list(dict.fromkeys(rng.choices(TAGS, weights, k=rng.randint(2, 5))))
        created = date - timedelta(days=rng.uniform(10, 60))
        creator = organizations[i % len(organizations)]
        event = Event(
            id=f"ev{i:06d}",
            creator_id=creator,
            status=COMPLETED if date < now else PUBLISHED,
            title=f"{rng.choice(WORDS)} {rng.choice(WORDS)} {i} — {city}",
            description=f"An evening of {', '.join(tags)} in {city}.",
            date=date,
            location=Location(
                name=f"{city} venue {i % 20}",
                country="EU",
                city=city,
                lat=lat + rng.uniform(-0.15, 0.15),
                lon=lon + rng.uniform(-0.15, 0.15),
            ),
            tags=tags,
            created_at=created,
            updated_at=created,
            published_at=created,
            lowest_price=None if rng.random() < 0.2 else float(rng.choice([0, 5, 8, 10, 12, 15, 20, 25, 35, 50])),
            currency="EUR",
        )
        docs.append(to_document(event))
    return docs


async def seed_events(db, sizes: Sizes, rng: random.Random, now: datetime) -> World:
    world = World(sizes)
    world.organizations = [f"org{i:05d}" for i in range(sizes.organizations)]
    world.busiest = world.organizations[0]
    world.members = [f"user{i:05d}" for i in range(sizes.users - sizes.organizations)]
    world.events = _events(sizes, world.organizations, rng, now)
    for i in range(0, len(world.events), 1000):
        await db["events_events"].insert_many(world.events[i : i + 1000])
    await db["events_users"].insert_many(
        [{"_id": o, "role": "organization", "name": o, "avatar_url": None} for o in world.organizations]
    )
    await db["events_catalogue"].update_one({"_id": VERSION_ID}, {"$inc": {"v": 1}}, upsert=True)
    return world


class RawData:
    """A plugin's data handle over plain motor collections (no kernel, no transaction)."""

    def __init__(self, db) -> None:
        self.db = db

    def collection(self, name: str):
        return self.db[name]


async def seed_interactions(db, world: World, rng: random.Random, now: datetime) -> None:
    """Likes and follows (bulk, in the interactions store's shapes; its own backfill counts them),
    the store's copies of users and events, and what the events plugin derives from likes."""
    store = Store(RawData(db))
    users = [(o, "organization") for o in world.organizations] + [(m, "member") for m in world.members]
    await store.upsert_user(*users[0], f"Name of {users[0][0]}", None)
    shape = await db["interactions_users"].find_one({"_id": users[0][0]})  # the store's own shape, in bulk
    await db["interactions_users"].insert_many(
        [{**shape, "_id": u, "role": role, "name": f"Name of {u}"} for u, role in users[1:]]
    )
    copies = [
        {"_id": e["_id"], "title": e["title"], "date": e["date"], "creator_id": e["creator_id"],
         "collaborator_ids": [], "hosts": [e["creator_id"]], "status": e["status"]}
        for e in world.events
    ]  # fmt: skip
    await db["interactions_events"].insert_many(copies)
    # One event with 200 likers and one member with 100 likes: the pages the benchmarks read.
    world.liked_event, world.liker = world.events[len(world.events) // 2]["_id"], world.members[0]
    pairs = {(world.liked_event, m) for m in world.members[:200]}
    pairs |= {(e["_id"], world.liker) for e in world.events[1:101]}
    while len(pairs) < world.sizes.likes:
        pairs.add((rng.choice(world.events)["_id"], rng.choice(world.members)))
    likes = [
        {"_id": f"{e}:{u}", "event_id": e, "user_id": u, "created_at": now - timedelta(minutes=rng.uniform(0, 525_600))}
        for e, u in pairs
    ]
    world.likes = likes
    for i in range(0, len(likes), 5000):
        await db["interactions_likes"].insert_many(likes[i : i + 5000])
    follows: set[tuple[str, str]] = set()
    while len(follows) < world.sizes.follows:
        follower, followed = rng.choice(world.members), rng.choice(world.organizations + world.members)
        if follower != followed:
            follows.add((follower, followed))
    docs = [{"_id": f"{a}:{b}", "follower": a, "followed": b, "created_at": now - timedelta(days=rng.uniform(0, 365))}
            for a, b in follows]  # fmt: skip
    world.follows = docs
    for i in range(0, len(docs), 5000):
        await db["interactions_follows"].insert_many(docs[i : i + 5000])
    # The web process counted an empty database at its start: count again, now that data is here.
    await db["interactions_counters"].delete_many({})
    await store.backfill_counters()
    # The events plugin's counters and recent activity, as its consumers would have kept them.
    per_event: dict[str, int] = {}
    for like in likes:
        per_event[like["event_id"]] = per_event.get(like["event_id"], 0) + 1
    await db["events_events"].bulk_write(
        [UpdateOne({"_id": e}, {"$set": {"likes": n, "popularity": n}}) for e, n in per_event.items()]
    )
    recent = [{"event_id": x["event_id"], "at": x["created_at"], "weight": 1} for x in likes
              if x["created_at"] > now - timedelta(days=7)]  # fmt: skip
    if recent:
        await db["events_activity"].insert_many(recent)
    await db["events_catalogue"].update_one({"_id": VERSION_ID}, {"$inc": {"v": 1}}, upsert=True)


def _id_at(at: datetime, serial: int) -> ObjectId:
    """A unique ObjectId that sorts by ``at`` (the store pages by ``_id``, as by creation time)."""
    return ObjectId(str(ObjectId.from_datetime(at))[:8] + f"{serial:016x}")


async def _insert(collection, docs: list[dict]) -> None:
    for i in range(0, len(docs), 5000):
        await collection.insert_many(docs[i : i + 5000])


async def seed_reviews(db, world: World, rng: random.Random, now: datetime) -> list[dict]:
    """Reviews of past events by members, in the interactions store's shape (as ``review`` writes it)."""
    past = [e for e in world.events if e["status"] == COMPLETED]
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < world.sizes.reviews:
        pairs.add((rng.choice(past)["_id"], rng.choice(world.members)))
    by_id = {e["_id"]: e for e in past}
    reviews = []
    for event_id, user_id in pairs:
        event = by_id[event_id]
        at = event["date"] + timedelta(days=rng.uniform(0.5, 20))
        reviews.append(
            {"_id": f"{event_id}:{user_id}", "event_id": event_id, "user_id": user_id,
             "rating": rng.choices([1, 2, 3, 4, 5], [1, 1, 3, 6, 5])[0], "title": "A night to remember",
             "comment": "Great sound, friendly crowd, long queue at the bar.", "hosts": [event["creator_id"]],
             "reviewer_role": "member", "reply": None, "created_at": at, "updated_at": at}
        )  # fmt: skip
    await _insert(db["interactions_reviews"], reviews)
    return reviews


async def seed_conversations(db, world: World, rng: random.Random, now: datetime) -> None:
    """Member-to-organization conversations with a few messages each, in the chat store's shapes."""
    chat = ChatStore(RawData(db))
    await chat.upsert_user(world.organizations[0], "organization", "Name", world.organizations[0], None)
    shape = await db["chat_users"].find_one({"_id": world.organizations[0]})
    roles = [(o, "organization") for o in world.organizations] + [(m, "member") for m in world.members]
    await _insert(
        db["chat_users"],
        [{**shape, "_id": u, "role": role, "name": f"Name of {u}", "username": u, "search": [u, "name", "of"]}
         for u, role in roles[1:]],
    )  # fmt: skip
    # The busiest organization talks with many members; the rest pick an organization at random.
    pairs = {(m, world.busiest) for m in world.members[: min(300, len(world.members))]}
    while len(pairs) < world.sizes.conversations:
        pairs.add((rng.choice(world.members), rng.choice(world.organizations)))
    conversations, messages = [], []
    for member, organization in pairs:
        started = now - timedelta(days=rng.uniform(0, 365))
        conversation_id = uuid4().hex
        last = None
        for k in range(rng.randint(1, 5)):
            sender, recipient = (member, organization) if k % 2 == 0 else (organization, member)
            at = started + timedelta(minutes=10 * k)
            message = {"_id": _id_at(at, len(messages)), "conversation_id": conversation_id, "sender_id": sender,
                       "recipient_id": recipient, "content": f"Message {k} about the next night", "created_at": at}  # fmt: skip
            messages.append(message)
            last = {"messageId": str(message["_id"]), "senderId": sender, "preview": message["content"], "at": at}
        conversations.append(
            {"_id": conversation_id, "pair": pair_key(member, organization),
             "participants": sorted((member, organization)), "last_message": last,
             "unread": {member: 0, organization: rng.randint(0, 2)}, "last_read": {},
             "created_at": started, "updated_at": last["at"]}
        )  # fmt: skip
    await _insert(db["chat_conversations"], conversations)
    await _insert(db["chat_messages"], messages)
    # The web process summarised the inboxes of an empty database at its start: again, now that data is here.
    await db["chat_inboxes"].delete_many({})
    await chat.backfill_inboxes()
    await chat.backfill_parties()


async def seed_notifications(db, world: World, reviews: list[dict], rng: random.Random, now: datetime) -> None:
    """What the likes, follows and reviews notified, in the notification store's shape, mostly read."""
    hosts = {e["_id"]: (e["creator_id"], e["title"]) for e in world.events}
    users = {u: {"name": f"Name of {u}", "avatar_url": None} for u in world.organizations + world.members}
    await _insert(db["notification_users"], [{"_id": u, **fields} for u, fields in users.items()])
    drafts: list[tuple[datetime, n.Draft]] = []
    for like in world.likes:
        host, title = hosts[like["event_id"]]
        meta = {"actor": n.actor(users, like["user_id"]), "event": n.event_brief(like["event_id"], title)}
        drafts.append((like["created_at"], n.Draft(n.EVENT_LIKED, [host], meta, like["user_id"])))
    for follow in world.follows:
        meta = {"actor": n.actor(users, follow["follower"])}
        drafts.append((follow["created_at"], n.Draft(n.NEW_FOLLOWER, [follow["followed"]], meta, follow["follower"])))
    for review in reviews:
        host, title = hosts[review["event_id"]]
        meta = {"actor": n.actor(users, review["user_id"]), "event": n.event_brief(review["event_id"], title),
                "rating": review["rating"]}  # fmt: skip
        drafts.append((review["created_at"], n.Draft(n.EVENT_REVIEWED, [host], meta, review["user_id"])))
    drafts.sort(key=lambda pair: pair[0])  # ids in time order, as the consumer would have made them
    docs = [
        {"user_id": user_id, "type": draft.type, "metadata": draft.metadata,
         "read": at < now - timedelta(days=3) or rng.random() < 0.5, "created_at": at}
        for at, draft in drafts
        for user_id in draft.targets()
    ]  # fmt: skip
    for i, doc in enumerate(docs):
        doc["_id"] = _id_at(doc["created_at"], i)
    await _insert(db["notification_notifications"], docs)
    # The web process counted the unread ones of an empty database at its start: again, now.
    await db["notification_unread"].delete_many({})
    await NotificationStore(RawData(db)).backfill_unread()


async def seed(uri: str, events: int = 10_000, seed_value: int = 7, *, interactions: bool = True) -> World:
    client = AsyncIOMotorClient(uri, tz_aware=True)
    try:
        rng = random.Random(seed_value)
        now = datetime.now(UTC)
        world = await seed_events(client["eventonight"], Sizes(events), rng, now)
        if interactions:
            db = client["eventonight"]
            await seed_interactions(db, world, rng, now)
            reviews = await seed_reviews(db, world, rng, now)
            await seed_conversations(db, world, rng, now)
            await seed_notifications(db, world, reviews, rng, now)
        return world
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("uri")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--events-only", action="store_true", help="no likes, follows or copies")
    args = parser.parse_args()
    world = asyncio.run(seed(args.uri, args.events, interactions=not args.events_only))
    print(f"seeded {len(world.events)} events, {len(world.organizations)} organizations")


if __name__ == "__main__":
    main()
