"""Ticketing sell-off: many concurrent buyers on one ticket type, K=1 shard vs K=auto in the same run.

Run by hand: ``.venv/bin/python bench/ticketing_selloff.py [buyers] [capacity]`` (default 5,000
buyers, 1,000 tickets). For each shard setting it starts one ``eventonight serve`` on an
embedded SecantusDB, registers an organization, publishes an event with one ticket type, then
lets the buyers (each wanting 1-4 tickets; refused ``sold_out`` for more than one, a buyer
retries once with one; ``busy`` is retried after its Retry-After) order through the HTTP API,
16 requests in flight. The tickets cost 25.00 EUR: every order is PENDING with a checkout
session at the bundled Stripe fake, which runs in this process on a free port (the provider is
another machine in real life); every holder pays there at once, and the fake posts the signed
webhook that makes the platform fetch the session again and confirm the order.

Prints: oversold (must be 0), sold after settling (must equal the capacity), PENDING orders left
(must be 0), the shard invariant, time to sell out (first request until every ticket is held),
holds per minute, time until every ticket is confirmed and confirmed tickets per minute, p50/p99
of ``POST /orders``, the share of 409 busy; then K=auto / K=1 as a ratio.
"""

from __future__ import annotations

import asyncio
import json
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aiohttp
from _common import free_port, start_eventonight, start_mongo, wait_http
from aiohttp import web
from eventonight_ticketing.fakestripe import FakeStripe
from pymongo import MongoClient

IN_FLIGHT = 16
CHEAP_ARGON2 = {"users_argon2_time_cost": "1", "users_argon2_memory_kib": "1024", "users_argon2_parallelism": "1"}


async def register(session, base: str, username: str, role: str) -> str:
    body = {"username": username, "email": f"{username}@bench.example", "password": "bench password 1", "role": role}
    async with session.post(f"{base}/api/users/register", json=body) as response:
        assert response.status == 201, await response.text()
        return (await response.json())["accessToken"]


async def setup(session, base: str, capacity: int) -> tuple[str, str, list[str]]:
    org = {"Authorization": f"Bearer {await register(session, base, 'benchorg', 'organization')}"}
    date = (datetime.now(UTC) + timedelta(days=30)).isoformat().replace("+00:00", "Z")
    event_body = {"title": "Sell-off", "date": date, "location": {"city": "Berlin", "lat": 52.5, "lon": 13.4},
                  "tags": ["techno"], "status": "PUBLISHED"}  # fmt: skip
    async with session.post(f"{base}/api/events", json=event_body, headers=org) as response:
        event_id = (await response.json())["id"]
    type_body = {"name": "Standard", "priceMinor": 2500, "currency": "EUR", "capacity": capacity, "maxPerOrder": 4}
    for _ in range(300):  # the event reaches ticketing over the bus
        async with session.post(
            f"{base}/api/ticketing/events/{event_id}/ticket-types", json=type_body, headers=org
        ) as r:
            if r.status == 201:
                type_id = (await r.json())["id"]
                break
        await asyncio.sleep(0.1)
    buyers = [await register(session, base, f"buyer{i}", "member") for i in range(8)]
    return event_id, type_id, buyers


async def sell(base: str, buyers: int, capacity: int, fake: FakeStripe, mongo_uri: str, database: str) -> dict:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as session:
        event_id, type_id, tokens = await setup(session, base, capacity)
        rng = random.Random(5)
        latencies: list[float] = []
        counts = {"201": 0, "sold_out": 0, "busy": 0, "other": 0}
        sold = 0
        sold_out_at: float | None = None
        gate = asyncio.Semaphore(IN_FLIGHT)

        async def post(token: str, quantity: int) -> int:
            body = {"eventId": event_id, "lines": [{"typeId": type_id, "quantity": quantity}]}
            headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": uuid4().hex}
            while True:
                async with gate:
                    started = time.perf_counter()
                    async with session.post(f"{base}/api/ticketing/orders", json=body, headers=headers) as response:
                        latencies.append(time.perf_counter() - started)
                        text = await response.text()
                if response.status == 409 and "fast" in text:  # busy: Retry-After 1
                    counts["busy"] += 1
                    await asyncio.sleep(1)
                    continue
                if response.status == 201:  # the holder pays at once; the fake's webhook confirms
                    fake.pay(json.loads(text)["checkoutUrl"].rsplit("/", 1)[-1])
                return response.status

        async def buyer(i: int) -> None:
            nonlocal sold, sold_out_at
            token, quantity = tokens[i % len(tokens)], rng.randint(1, 4)
            status = await post(token, quantity)
            if status == 409 and quantity > 1:
                counts["sold_out"] += 1
                quantity, status = 1, await post(token, 1)
            if status == 201:
                counts["201"] += 1
                sold += quantity
                if sold >= capacity and sold_out_at is None:
                    sold_out_at = time.perf_counter()
            elif status == 409:
                counts["sold_out"] += 1
            else:
                counts["other"] += 1

        first = time.perf_counter()
        await asyncio.gather(*(buyer(i) for i in range(buyers)))
        finished = time.perf_counter()
        confirmed_at = await settled(mongo_uri, database, type_id, capacity)
        refused = [d["status"] for d in fake.deliveries if d["status"] != 200]
        for d in [d for d in fake.deliveries if d["status"] != 200][:3]:
            print("webhook refused:", d["status"], d["answer"], flush=True)
    seconds = (sold_out_at or finished) - first
    confirming = confirmed_at - first
    return {
        "event_id": event_id,
        "type_id": type_id,
        "held_by_answers": sold,
        "seconds": seconds,
        "holds_per_minute": sold / seconds * 60,
        "confirm_seconds": confirming,
        "per_minute": capacity / confirming * 60,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": statistics.quantiles(latencies, n=100)[98] * 1000,
        "busy_share": counts["busy"] / max(len(latencies), 1),
        "counts": counts,
        "webhooks": len(fake.deliveries),
        "webhooks_refused": {str(s): refused.count(s) for s in set(refused)},
    }


async def settled(mongo_uri: str, database: str, type_id: str, capacity: int, timeout: float = 600) -> float:
    """When every ticket of the type is sold (confirmed by a webhook), polled off the event loop."""

    def sold() -> int:
        with MongoClient(mongo_uri) as client:
            shards = client[database]["ticketing_inventory"].find({"type_id": type_id}, {"sold": 1})
            return sum(s["sold"] for s in shards)

    deadline = time.perf_counter() + timeout
    while await asyncio.to_thread(sold) < capacity:
        if time.perf_counter() > deadline:
            break
        await asyncio.sleep(0.1)
    return time.perf_counter()


def check(mongo_uri: str, database: str, result: dict, capacity: int) -> dict:
    with MongoClient(mongo_uri) as client:
        db = client[database]
        shards = list(db["ticketing_inventory"].find({"type_id": result["type_id"]}))
        tickets = db["ticketing_tickets"].count_documents({"type_id": result["type_id"]})
        pending = db["ticketing_orders"].count_documents({"status": "PENDING"})
    sold = sum(s["sold"] for s in shards)
    invariant = all(s["available"] + s["sold"] + sum(h["qty"] for h in s["holds"].values()) == s["capacity"]
                    for s in shards)  # fmt: skip
    holds = sum(len(s["holds"]) for s in shards)
    return {"shards": len(shards), "sold": sold, "tickets": tickets, "oversold": max(0, sold - capacity),
            "invariant": invariant, "holds_left": holds, "pending": pending}  # fmt: skip


async def with_fake(base: str, buyers: int, capacity: int, fake: FakeStripe, mongo_uri: str, database: str):
    runner = web.AppRunner(fake.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", int(fake.public_url.rsplit(":", 1)[-1])).start()
    try:
        return await sell(base, buyers, capacity, fake, mongo_uri, database)
    finally:
        await runner.cleanup()


def run(shards: int | None, buyers: int, capacity: int) -> dict:
    mongo = start_mongo()
    port, fake_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    secret = "whsec_bench_" + uuid4().hex
    fake = FakeStripe(secret, webhook_url=base + "/api/ticketing/webhooks/stripe",
                      public_url=f"http://127.0.0.1:{fake_port}")  # fmt: skip
    fake.webhook_attempts = 30  # Stripe keeps retrying for days; a busy platform must not lose a payment here
    database = f"selloff_{uuid4().hex[:6]}"
    env = {
        "database": database, **CHEAP_ARGON2, "log_level": "WARNING", "public_url": base,
        "ticketing_stripe_secret_key": "sk_test_bench", "ticketing_stripe_webhook_secrets": json.dumps([secret]),
        "ticketing_stripe_api_base": fake.public_url,
        # The 5,000 buyers share 8 accounts: lift the per-buyer cap on unpaid orders.
        "ticketing_max_pending_orders": "1000000",
    }  # fmt: skip
    if shards:
        env["ticketing_inventory_shards"] = str(shards)
    server = start_eventonight("serve", mongo.uri, port, **env)
    try:
        wait_http(f"{base}/health")
        result = asyncio.run(with_fake(base, buyers, capacity, fake, mongo.uri, database))
        result |= check(mongo.uri, database, result, capacity)
    finally:
        server.terminate()
        server.wait(20)
        mongo.stop()
    return result


def main() -> None:
    buyers = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    capacity = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000
    results = {}
    for label, shards in (("K=1", 1), ("K=auto", None)):
        r = results[label] = run(shards, buyers, capacity)
        print(
            f"{label:7} shards {r['shards']:2}  sold {r['sold']}/{capacity} (tickets {r['tickets']}, oversold "
            f"{r['oversold']}, invariant {'ok' if r['invariant'] else 'BROKEN'}, holds left {r['holds_left']})  "
            f"PENDING left {r['pending']}  held out in {r['seconds']:.1f} s = {r['holds_per_minute']:,.0f} holds/min  "
            f"all confirmed in {r['confirm_seconds']:.1f} s = {r['per_minute']:,.0f} confirmed tickets/min  "
            f"POST /orders p50 {r['p50_ms']:.0f} ms p99 {r['p99_ms']:.0f} ms  busy {r['busy_share']:.1%}  {r['counts']}  webhooks {r['webhooks']} "
            f"(not accepted at first: {r['webhooks_refused']})",
            flush=True,
        )
    ratio = results["K=auto"]["per_minute"] / results["K=1"]["per_minute"]
    print(f"tickets/min, K=auto / K=1: {ratio:.2f}x")


if __name__ == "__main__":
    main()
