"""Demo data: a free and a paid ticket type for each published demo event, and two paid demo orders.

The paid orders go the whole way a buyer's would: order, checkout session at
the demo provider, the pay page's "Pay" button (an HTTP form post), the signed
webhook, the re-fetch. So they are only made against the bundled fake (never
against a real Stripe account), and only once the platform answers over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import aiohttp

WAIT_STEP_SECONDS = 0.2
WAIT_STEPS = 150
#: Polls without a new event before the copies count as complete (a second).
STABLE_STEPS = 5
#: Demo members who buy a paid ticket, and how long to wait for the platform to answer.
PAYING_MEMBERS = ("alice", "bob")
PLATFORM_WAIT_SECONDS = 60
PAID_TYPE = {"name": "Supporter", "price_minor": 1500, "currency": "EUR", "capacity": 50, "max_per_order": 4}
FREE_TYPE = {"name": "Entry", "price_minor": 0, "currency": "EUR", "capacity": 200, "max_per_order": 4}
log = logging.getLogger("eventonight.ticketing.demo")
_TASKS: dict[int, asyncio.Task] = {}


async def seed(kernel, services) -> list[str]:
    """Idempotent: events that have ticket types already are left alone; paid orders have fixed keys."""
    # The events plugin's demo events reach this plugin as event.* messages: wait until they stop coming.
    events, unchanged = [], 0
    for _ in range(WAIT_STEPS):
        found = await kernel.read.collection("ticketing_events").find({"status": "PUBLISHED"}).to_list(None)
        unchanged = unchanged + 1 if found and len(found) == len(events) else 0
        events = found
        if unchanged >= STABLE_STEPS:
            break
        await asyncio.sleep(WAIT_STEP_SECONDS)
    if not events:
        return ["no published events known yet: run `eventonight seed` again once the events plugin made some"]
    created = 0
    for event in events:
        if await kernel.read.collection("ticketing_ticket_types").find_one({"event_id": event["_id"]}):
            continue
        await services.types.create(event["_id"], event["host_ids"][0], dict(FREE_TYPE))
        await services.types.create(event["_id"], event["host_ids"][0], dict(PAID_TYPE))
        created += 1
    lines = [f"ticket types for {created} demo events: free 'Entry' and paid 'Supporter' (15.00 EUR)"]
    if services.fake is None:
        return [*lines, "no paid demo orders: a real payment provider is configured"]
    task = asyncio.get_running_loop().create_task(_paid_orders(kernel, services, events[0]["_id"]))
    _TASKS[id(services)] = task
    return [*lines, f"paid demo orders for {', '.join(PAYING_MEMBERS)} go through the demo checkout "
                    "once the platform answers"]  # fmt: skip


async def stop(services) -> None:
    task = _TASKS.pop(id(services), None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _paid_orders(kernel, services, event_id: str) -> None:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
            if not await _answers(http, services.public_base + "/health"):
                log.warning("paid demo orders skipped: the platform did not answer at %s", services.public_base)
                return
            paid_type = await kernel.read.collection("ticketing_ticket_types").find_one(
                {"event_id": event_id, "price_minor": {"$gt": 0}}
            )
            for username in PAYING_MEMBERS:
                buyer = await _user(kernel, username)
                if buyer is None or paid_type is None:
                    log.warning("paid demo order of %s skipped: account or paid ticket type not known", username)
                    continue
                order, _ = await services.orders.place(
                    buyer["_id"], event_id, [(paid_type["_id"], 1)], f"demo-paid-{username}"
                )
                if order["status"] != "PENDING":
                    continue  # paid by an earlier run
                checkout = await services.checkout.session_for(order)
                async with http.post(checkout["checkoutUrl"], data={"action": "pay"}, allow_redirects=False):
                    pass
                log.info("demo order of %s paid through the demo checkout", username)
    except asyncio.CancelledError:
        raise
    except Exception:  # demo data is a convenience: never take the platform down for it
        log.exception("paid demo orders failed")


async def _user(kernel, username: str):
    """The demo account as this plugin knows it (from user.created, which may still be on its way)."""
    for _ in range(WAIT_STEPS):
        found = await kernel.read.collection("ticketing_users").find_one({"username": username})
        if found is not None:
            return found
        await asyncio.sleep(WAIT_STEP_SECONDS)
    return None


async def _answers(http: aiohttp.ClientSession, url: str) -> bool:
    for _ in range(int(PLATFORM_WAIT_SECONDS / 0.5)):
        try:
            async with http.get(url) as response:
                if response.status == 200:
                    return True
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.5)
    return False
