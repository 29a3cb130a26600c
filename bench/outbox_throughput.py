"""Outbox relay: throughput against direct kombu publishing, and commit-to-consumer latency.

Run by hand: ``.venv/bin/python bench/outbox_throughput.py``; needs RabbitMQ at
127.0.0.1:5672 (or EVENTONIGHT_BENCH_BROKER_URL). Targets: relay throughput at
least 0.5x direct publishing of the same messages with confirms (kombu's publish,
each message confirmed: what a plugin without the outbox would write); p99
commit->consumer latency under 100 ms at 200 events/s. Also printed: the relay
beside its own publisher without the outbox (confirms awaited per batch), which
is what reading and deleting the records costs.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from datetime import UTC, datetime
from uuid import uuid4

from _common import BusTap, start_mongo
from kombu import Exchange

from eventonight.kernel.bus.publisher import Publisher
from eventonight.kernel.bus.topology import connection_for
from eventonight.kernel.db import OUTBOX, Database
from eventonight.kernel.outbox import OutboxRelay

BROKER = os.environ.get("EVENTONIGHT_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
N = 5000


def envelope(i: int) -> dict:
    return {
        "id": str(uuid4()),
        "eventType": "bench.thing.happened",
        "occurredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "payload": {"seq": i, "title": "Warehouse techno night", "city": "Berlin"},
    }


def direct_publish(exchange_name: str) -> float:
    """What a plugin without an outbox would write: kombu's publish, each message confirmed."""
    envelopes = [envelope(i) for i in range(N)]
    ex = Exchange(exchange_name, type="topic", durable=True)
    with connection_for(BROKER) as connection:  # confirm_publish: each publish waits for its confirm
        producer = connection.Producer(serializer="json")
        ex(producer.channel).declare()
        for e in envelopes[:50]:  # connect and warm up
            producer.publish(e, exchange=ex, routing_key=e["eventType"], delivery_mode=2, message_id=e["id"])
        start = time.perf_counter()
        for e in envelopes:
            producer.publish(e, exchange=ex, routing_key=e["eventType"], delivery_mode=2, message_id=e["id"])
        elapsed = time.perf_counter() - start
    return N / elapsed


def direct_pipelined(exchange_name: str) -> float:
    """The relay's own publisher (confirms awaited per batch) without the outbox: the outbox's own cost."""
    publisher = Publisher(BROKER, exchange_name)
    envelopes = [envelope(i) for i in range(N)]
    publisher._publish_sync(envelopes[:50])  # connect and warm up
    start = time.perf_counter()
    publisher._publish_sync(envelopes)
    elapsed = time.perf_counter() - start
    publisher._reset()
    return N / elapsed


async def relay_publish(database: Database, exchange_name: str) -> float:
    records = [envelope(i) for i in range(N)]
    docs = [
        {"eventId": r["id"], "eventType": r["eventType"], "occurredAt": datetime.now(UTC), "payload": r["payload"]}
        for r in records
    ]
    await database.db[OUTBOX].delete_many({})
    await database.db[OUTBOX].insert_many(docs)
    publisher = Publisher(BROKER, exchange_name)
    relay = OutboxRelay(database, publisher)
    assert await relay.lease.acquire()
    start = time.perf_counter()
    sent = await relay.drain()
    elapsed = time.perf_counter() - start
    assert sent == N and await database.db[OUTBOX].count_documents({}) == 0
    await relay.lease.release()  # let the next phase's relay take over at once
    publisher.close()
    return N / elapsed


async def latency(database: Database, exchange_name: str, rate: int = 200, seconds: int = 10) -> list[float]:
    received: dict[int, float] = {}
    receiver = BusTap(
        BROKER, exchange_name, "bench.#", lambda body: received.__setitem__(body["payload"]["seq"], time.time())
    )
    receiver.start()
    receiver.ready.wait(10)
    publisher = Publisher(BROKER, exchange_name)
    relay = OutboxRelay(database, publisher, poll_seconds=0.25)
    task = asyncio.create_task(relay.run())
    committed: dict[int, float] = {}
    start = time.perf_counter()
    for i in range(rate * seconds):
        async with database.uow() as uow:
            await uow.record("bench.thing.happened", {"seq": i})
        committed[i] = time.time()
        # Pace the producer at `rate` events per second.
        delay = start + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    deadline = time.monotonic() + 30
    while len(received) < len(committed) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    relay.stop()
    task.cancel()
    receiver.stop.set()
    publisher.close()
    missing = len(committed) - len(received)
    if missing:
        raise SystemExit(f"{missing} events never arrived")
    return [(received[i] - committed[i]) * 1000 for i in committed]


async def main() -> None:
    mongo = start_mongo()
    database = Database(mongo.uri, "bench_outbox")
    await database.ensure_indexes([])
    exchange_name = f"eventonight.bench.{uuid4().hex[:8]}"
    try:
        direct = direct_publish(exchange_name)
        pipelined = direct_pipelined(exchange_name)
        relayed = await relay_publish(database, exchange_name)
        print(f"direct kombu publish, each confirmed : {direct:8.0f} msg/s")
        print(f"direct, the relay's publisher        : {pipelined:8.0f} msg/s (confirms awaited per batch)")
        print(f"outbox relay, committed->confirmed   : {relayed:8.0f} msg/s")
        ratio = relayed / direct
        print(f"relay / direct: {ratio:.2f}x (target >= 0.50x) {'OK' if ratio >= 0.5 else 'MISSED'}; "
              f"relay / its publisher alone: {relayed / pipelined:.2f}x")  # fmt: skip
        samples = sorted(await latency(database, exchange_name))
        p50 = statistics.median(samples)
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(
            f"commit -> consumer at 200 events/s: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
            f"(target p99 < 100 ms) {'OK' if p99 < 100 else 'MISSED'}"
        )
    finally:
        await database.close()
        mongo.stop()


if __name__ == "__main__":
    asyncio.run(main())
