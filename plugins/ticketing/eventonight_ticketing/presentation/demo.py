"""Demo data: a free entry ticket for each published demo event, so a newcomer can get one."""

from __future__ import annotations

import asyncio

WAIT_STEP_SECONDS = 0.2
WAIT_STEPS = 150
#: Polls without a new event before the copies count as complete (a second).
STABLE_STEPS = 5


async def seed(kernel, services) -> list[str]:
    """Idempotent: events that have ticket types already are left alone."""
    # The events plugin's demo events reach this plugin as event.* messages: wait until they stop coming.
    events, unchanged = [], 0
    for _ in range(WAIT_STEPS):
        found = await kernel.read.collection("ticketing_events").find({"status": "PUBLISHED"}).to_list(None)
        unchanged = unchanged + 1 if found and len(found) == len(events) else 0
        events = found
        if unchanged >= STABLE_STEPS:
            break
        await asyncio.sleep(WAIT_STEP_SECONDS)
    created = 0
    for event in events:
        if await kernel.read.collection("ticketing_ticket_types").find_one({"event_id": event["_id"]}):
            continue
        fields = {"name": "Entry", "price_minor": 0, "currency": "EUR", "capacity": 200, "max_per_order": 4}
        await services.types.create(event["_id"], event["host_ids"][0], fields)
        created += 1
    if not events:
        return ["no published events known yet: run `eventonight seed` again once the events plugin made some"]
    return [f"free entry tickets for {created} demo events (POST /api/ticketing/orders with an Idempotency-Key)"]
