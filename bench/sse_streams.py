"""Notifications over SSE: N open streams on one process, notifications to random connected users.

Run by hand: ``.venv/bin/python bench/sse_streams.py [streams] [rate] [seconds]`` (default 5000 200 10).
Needs RabbitMQ at 127.0.0.1:5672. One `eventonight serve` process (web, relay, consumers) on
embedded SecantusDB. Notifications are caused the real way: `interactions.follow.created`
messages on the broker -> the notification consumer stores them (commit) -> outbox relay ->
the process's broadcast queue -> the user's stream. Latency is measured from the
notification's `createdAt` (set in the committing transaction) to the frame's arrival.
Targets: p99 < 250 ms at 5,000 streams and 200 notifications/s; < 20 KB per idle stream.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from uuid import uuid4

import aiohttp
from _common import HERE, free_port, start_mongo, wait_http
from kombu import Exchange

from eventonight.kernel.auth.keys import KeyStore
from eventonight.kernel.auth.tokens import TokenService
from eventonight.kernel.bus.topology import connection_for
from eventonight.kernel.db import Database

BROKER = os.environ.get("EVENTONIGHT_BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def main(streams: int, rate: int, seconds: int) -> None:
    mongo = start_mongo()
    port = free_port()
    exchange = f"eventonight.bench.{uuid4().hex[:8]}"
    env = {
        **os.environ,
        "EVENTONIGHT_MONGODB_URI": mongo.uri,
        "EVENTONIGHT_BROKER_URL": BROKER,
        "EVENTONIGHT_EXCHANGE": exchange,
        "EVENTONIGHT_QUEUE_PREFIX": f"bench.{uuid4().hex[:8]}",
        "EVENTONIGHT_PORT": str(port),
        "EVENTONIGHT_LOG_LEVEL": "WARNING",
        "EVENTONIGHT_ACCESS_TOKEN_TTL_SECONDS": "3600",
    }
    server = subprocess.Popen(
        [str(HERE.parent / ".venv" / "bin" / "eventonight"), "serve"], env=env, stdout=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    received: dict[str, float] = {}
    try:
        wait_http(f"{base}/health")
        database = Database(mongo.uri, "eventonight")
        keys = KeyStore(database, token_ttl_seconds=3600)
        await keys.load()  # the server's persisted key set
        tokens = TokenService(keys, issuer="eventonight", audience="eventonight", access_ttl_seconds=3600)
        users = [uuid4().hex for _ in range(streams)]
        idle_before = rss_kb(server.pid)

        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=None)) as http:
            ready = 0

            async def listen(user_id: str) -> None:
                nonlocal ready
                headers = {"Authorization": f"Bearer {tokens.issue_access_token(user_id, 'member')}"}
                async with http.get(f"{base}/api/notifications/stream", headers=headers) as response:
                    event = None
                    async for raw in response.content:
                        line = raw.decode().rstrip("\r\n")
                        if line.startswith("event:"):
                            event = line[6:].strip()
                            if event == "unread-count" and user_id not in seen:
                                seen.add(user_id)
                                ready += 1
                        elif line.startswith("data:") and event == "notification":
                            data = json.loads(line[5:])
                            created = datetime.fromisoformat(data["createdAt"].replace("Z", "+00:00")).timestamp()
                            received[data["id"]] = time.time() - created

            seen: set[str] = set()
            tasks = []
            for i, user_id in enumerate(users):
                tasks.append(asyncio.create_task(listen(user_id)))
                if i % 200 == 199:
                    await asyncio.sleep(0.05)  # open gradually
            deadline = time.monotonic() + 120
            while ready < streams and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            idle_after = rss_kb(server.pid)
            print(
                f"{ready} streams open; server RSS {idle_before} KB -> {idle_after} KB: "
                f"{(idle_after - idle_before) / max(ready, 1):.1f} KB per idle stream (target < 20 KB)"
            )

            total = rate * seconds
            cpu_start = cpu_seconds(server.pid)
            start = time.monotonic()
            ex = Exchange(exchange, type="topic", durable=True)
            with connection_for(BROKER) as connection:
                producer = connection.Producer(serializer="json")
                for i in range(total):
                    envelope = {
                        "id": str(uuid4()),
                        "eventType": "interactions.follow.created",
                        "occurredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                        "payload": {"followerId": f"fan-{i}", "followedId": random.choice(users)},
                    }
                    producer.publish(
                        envelope, exchange=ex, routing_key="interactions.follow.created", delivery_mode=2, declare=[ex]
                    )
                    delay = start + (i + 1) / rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
            wait_end = time.monotonic() + 60
            while len(received) < total and time.monotonic() < wait_end:
                await asyncio.sleep(0.1)
            cpu = cpu_seconds(server.pid) - cpu_start
            elapsed = time.monotonic() - start
            for task in tasks:
                task.cancel()
        latencies = sorted(v * 1000 for v in received.values())
        if not latencies:
            sys.exit("no notification arrived")
        p50 = statistics.median(latencies)
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(
            f"{len(latencies)}/{total} notifications delivered at {rate}/s to {ready} streams: "
            f"commit->frame p50 {p50:.0f} ms, p99 {p99:.0f} ms (target p99 < 250 ms)"
        )
        print(f"server CPU {cpu:.1f} s over {elapsed:.1f} s ({100 * cpu / elapsed:.0f}% of one core)")
        database.close()
    finally:
        server.terminate()
        server.wait(30)
        mongo.stop()


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]]
    asyncio.run(main(*(args + [5000, 200, 10][len(args) :])))
