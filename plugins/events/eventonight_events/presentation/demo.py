"""Demo events, created through the plugin's own commands (not raw inserts)."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from eventonight_events.application.commands import EventInput
from eventonight_events.domain.model import DRAFT, PUBLISHED, Location

CITIES = [
    ("Berlin", "DE", 52.5200, 13.4050),
    ("Paris", "FR", 48.8566, 2.3522),
    ("London", "GB", 51.5072, -0.1276),
    ("Barcelona", "ES", 41.3874, 2.1686),
    ("Amsterdam", "NL", 52.3676, 4.9041),
    ("Lisbon", "PT", 38.7223, -9.1393),
    ("Rome", "IT", 41.9028, 12.4964),
]
KINDS = [
    ("Warehouse Techno Night", ["club-night", "techno", "warehouse", "underground"]),
    ("Rooftop House Sessions", ["dj-set", "house", "rooftop", "dance"]),
    ("Late Jazz in the Cellar", ["concert", "jazz", "basement", "chill"]),
    ("Indie Live Showcase", ["live-music", "indie", "bar"]),
    ("Open-Air Disco Picnic", ["party", "disco", "open-air", "family", "free"]),
    ("Hip-Hop Block Party", ["party", "hip-hop", "club", "dance"]),
    ("Latin Night", ["club-night", "latin", "reggaeton", "dance"]),
    ("Comedy & Cocktails", ["comedy", "bar", "fancy"]),
    ("Drum & Bass Boat Party", ["party", "drum-and-bass", "boat"]),
    ("Soul Sunday", ["live-music", "soul", "funk", "chill"]),
]
COUNT = 60
WAIT_STEP_SECONDS = 0.2


async def seed(kernel, services) -> list[str]:
    if await kernel.read.collection("events_demo").find_one({"_id": "seeded"}):
        return ["demo events already present"]
    organizations: list[str] = []
    # Organizations reach this plugin as user.created messages: give the bus a moment.
    for _ in range(100):
        organizations = [d["_id"] async for d in kernel.read.collection("events_users").find({"role": "organization"})]
        if organizations:
            break
        await asyncio.sleep(WAIT_STEP_SECONDS)
    if not organizations:
        return ["no organizations known yet: run `eventonight seed` again once the users plugin created some"]
    rng = random.Random(42)
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    for i in range(COUNT):
        city, country, lat, lon = CITIES[i % len(CITIES)]
        title, tags = KINDS[i % len(KINDS)]
        creator = organizations[i % len(organizations)]
        others = [o for o in organizations if o != creator]
        data = EventInput(
            title=f"{title} — {city}",
            description=f"{title} in {city}. Doors open at 21:00; expect {', '.join(tags)}.",
            date=start + timedelta(days=rng.randint(0, 90), hours=rng.choice([19, 20, 21, 22, 23])),
            location=Location(
                name=f"{city} venue {i % 5 + 1}",
                country=country,
                city=city,
                address=f"{i + 1} Example Street",
                postcode=f"{10000 + i}",
                lat=lat + rng.uniform(-0.05, 0.05),
                lon=lon + rng.uniform(-0.05, 0.05),
            ),
            tags=tags,
            collaborators=others[:1] if i % 4 == 0 and others else [],
        )
        await services.commands.create(creator, DRAFT if i % 10 == 9 else PUBLISHED, data)
    await kernel.transaction(
        lambda uow: uow.collection("events_demo").insert_one({"_id": "seeded", "at": datetime.now(UTC)})
    )
    return [f"{COUNT} demo events across {len(CITIES)} cities ({COUNT // 10} of them drafts)"]
