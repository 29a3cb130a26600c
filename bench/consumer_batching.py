"""Consumer batching: one transaction per message vs one per batch, on the notification plugin.

Run by hand: ``.venv/bin/python bench/consumer_batching.py [messages]`` (default 600).
Follow events (`interactions.follow.created`) go through the notification plugin's
consumers exactly as the kernel's consumer runner hands them over, without the broker
in between: ``Kernel.dispatch`` one message at a time (the baseline, and the fallback
path) and ``Kernel.dispatch_batch`` with batches of 16 and 64 (``consumer_prefetch``).
Embedded SecantusDB; client and database CPU per message are reported too.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from uuid import uuid4

from _common import BENCH_KEK, start_mongo

from eventonight.hooks import DomainEvent
from eventonight.kernel import Kernel
from eventonight.settings import Settings


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def follows(n: int, users: list[str]) -> list[DomainEvent]:
    return [
        DomainEvent.from_envelope(
            {
                "id": str(uuid4()),
                "eventType": "interactions.follow.created",
                "occurredAt": "2026-11-24T10:00:00Z",
                "payload": {"followerId": f"fan-{uuid4().hex[:8]}", "followedId": users[i % len(users)]},
            }
        )
        for i in range(n)
    ]


async def main(messages: int) -> None:
    mongo = start_mongo()
    settings = Settings(
        mongodb_uri=mongo.uri, database="bench_batching", broker_url=None, key_encryption_keys=[BENCH_KEK]
    )
    kernel = Kernel(settings)
    await kernel.start()
    users = [uuid4().hex for _ in range(500)]
    try:
        for event in follows(20, users):  # warm-up: indexes, connections
            await kernel.dispatch("notification", event)
        rates = {}
        for batch in (1, 16, 64):
            events = follows(messages, users)
            db_cpu, own_cpu, start = cpu_seconds(mongo.process.pid), time.process_time(), time.perf_counter()
            for i in range(0, messages, batch):
                if batch == 1:
                    await kernel.dispatch("notification", events[i])
                else:
                    await kernel.dispatch_batch("notification", events[i : i + batch])
            elapsed = time.perf_counter() - start
            rates[batch] = messages / elapsed
            db_ms = 1000 * (cpu_seconds(mongo.process.pid) - db_cpu) / messages
            own_ms = 1000 * (time.process_time() - own_cpu) / messages
            print(
                f"batch {batch:3d}: {rates[batch]:7.0f} messages/s ({rates[batch] / rates[1]:.1f}x one by one); "
                f"CPU per message: database {db_ms:.2f} ms, consumer process {own_ms:.2f} ms"
            )
        stored = await kernel.read.collection("notification_notifications").count_documents({})
        expected = 20 + 3 * messages
        print(f"notifications stored: {stored} (expected {expected}) {'OK' if stored == expected else 'WRONG'}")
    finally:
        await kernel.stop()
        mongo.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 600))
