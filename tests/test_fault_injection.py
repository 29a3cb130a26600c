"""Fault injection against a RabbitMQ node of the test's own (issue 14).

Relays and workers run as processes of their own (tests/faults/node.py) so they can be
killed with SIGKILL at the worst moment. Every test commits numbered records through the
outbox and counts their effects: each record has exactly one, whatever happened.
"""

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Exchange, Queue

from eventonight.kernel.bus.topology import connection_for
from eventonight.kernel.db import OUTBOX
from eventonight.kernel.testing import wait_until

NODE = Path(__file__).parent / "faults" / "node.py"
EFFECTS = "fault_effects"


class Node:
    """A relay or worker process; ``kill()`` is SIGKILL: no cleanup, no goodbye."""

    def __init__(self, role: str, settings, log: Path, delay: float = 0.0) -> None:
        self.role = role
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, str(NODE), role, settings.model_dump_json(), str(delay)],
            stdout=subprocess.PIPE,
            stderr=self.log,
        )

    async def ready(self, timeout: float = 60) -> "Node":
        line = await asyncio.wait_for(asyncio.to_thread(self.process.stdout.readline), timeout)
        assert line.strip() == b"ready", f"{self.role} did not start: {line!r}"
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@pytest.fixture
def nodes(tmp_path):
    started: list[Node] = []

    async def start(role, settings, delay=0.0) -> Node:
        node = Node(role, settings, tmp_path / f"{role}.log", delay)
        started.append(node)
        return await node.ready()

    yield start
    for node in started:
        node.stop()


@pytest.fixture
async def faulty(platform, settings, private_rabbit):
    """Settings on the private node, and a platform process that only commits (no relay, no consumers)."""
    chosen = settings.model_copy(
        update={"broker_url": private_rabbit.url, "consumer_prefetch": 16, "relay_batch_size": 100}
    )
    p = await platform(settings_override=chosen, relay=False, consumers=False, scheduler=False)
    return chosen, p.kernel


async def _commit(kernel, start: int, count: int) -> None:
    for seq in range(start, start + count):

        async def work(uow, seq=seq):
            await uow.collection("fault_records").insert_one({"_id": seq})
            await uow.record("fault.thing", {"seq": seq})

        await kernel.transaction(work)


async def _effects(kernel) -> dict[int, int]:
    counts: dict[int, int] = {}
    async for doc in kernel.database.db[EFFECTS].find({}, {"seq": 1}):
        counts[doc["seq"]] = counts.get(doc["seq"], 0) + 1
    return counts


async def _exactly_once(kernel, committed: int, timeout: float) -> None:
    async def all_applied() -> bool:
        return len(await _effects(kernel)) == committed

    try:
        await wait_until(all_applied, timeout=timeout, interval=0.25)
    finally:
        effects = await _effects(kernel)
        missing = sorted(set(range(committed)) - set(effects))
        doubled = sorted(seq for seq, n in effects.items() if n > 1)
        assert await kernel.database.db["fault_records"].count_documents({}) == committed
        assert not missing, f"{len(missing)} committed records had no effect: {missing[:10]}"
        assert not doubled, f"{len(doubled)} records took effect twice: {doubled[:10]}"


def _tap(settings) -> Queue:
    """A durable queue of our own on the exchange: what the relays really published."""
    exchange = Exchange(settings.exchange, type="topic", durable=True)
    queue = Queue(f"{settings.queue_prefix}.tap", exchange, routing_key="fault.#", durable=True)
    with connection_for(settings.broker_url) as connection:
        queue(connection.channel()).declare()
    return queue


def _drain(settings, queue: Queue) -> list[str]:
    ids = []
    with connection_for(settings.broker_url) as connection:
        bound = queue(connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            ids.append(json.loads(message.body)["id"])
        bound.delete()
    return ids


def _depth(settings, name: str) -> int:
    with connection_for(settings.broker_url) as connection:
        return connection.channel().queue_declare(queue=name, passive=True).message_count


async def test_the_broker_down_for_a_while_under_load_loses_nothing(faulty, nodes, private_rabbit):
    settings, kernel = faulty
    await nodes("worker", settings, delay=0.002)
    await nodes("relay", settings)
    committed = 0

    async def load(seconds: float) -> None:
        nonlocal committed
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await _commit(kernel, committed, 10)
            committed += 10

    await load(1.5)
    private_rabbit.stop_app()
    try:
        await load(3)  # commits go on while the broker is away
    finally:
        private_rabbit.start_app()
    await load(1.5)
    assert committed >= 100
    await _exactly_once(kernel, committed, timeout=90)


async def test_a_relay_killed_mid_drain_loses_nothing_and_its_duplicates_are_absorbed(faulty, nodes):
    settings, kernel = faulty
    committed = 3000
    await nodes("worker", settings)
    tap = _tap(settings)
    await _commit(kernel, 0, committed)
    relay = await nodes("relay", settings)

    async def draining() -> bool:
        return await kernel.database.db[OUTBOX].count_documents({}) < committed

    await wait_until(draining, timeout=30, interval=0.01)
    relay.kill()
    left = await kernel.database.db[OUTBOX].count_documents({})
    assert 0 < left < committed, "killed while the outbox was half drained"
    await nodes("relay", settings)  # takes over once the dead relay's lease has lapsed
    await _exactly_once(kernel, committed, timeout=90)
    published = _drain(settings, tap)
    assert len(set(published)) == committed, "every record reached the broker"
    # Records the dead relay had published but not yet marked went out again: at least once,
    # and the consumers' processed markers absorbed the copies (no effect above is doubled).
    assert len(published) >= committed


async def test_a_worker_killed_mid_batch_loses_nothing_and_applies_nothing_twice(faulty, nodes):
    settings, kernel = faulty
    committed = 400
    # Slow effects make each batch (16 messages, one transaction) last about 0.3 s: the kill lands inside one.
    worker = await nodes("worker", settings, delay=0.02)
    await nodes("relay", settings)
    await _commit(kernel, 0, committed)

    async def some_applied() -> bool:
        return len(await _effects(kernel)) >= 50

    await wait_until(some_applied, timeout=60, interval=0.05)
    worker.kill()
    assert len(await _effects(kernel)) < committed, "killed before the work was done"
    # The dead worker's open transaction keeps its locks until the database gives up on it
    # (60 s, MongoDB's transaction lifetime); its messages come back to the next worker.
    await nodes("worker", settings)
    await _exactly_once(kernel, committed, timeout=150)


async def test_a_backlog_larger_than_the_prefetch_is_all_processed_at_consumer_start(faulty, nodes):
    settings, kernel = faulty
    committed = settings.consumer_prefetch * 20
    first = await nodes("worker", settings)  # declares the plugin's queue, then goes away
    first.stop()
    await nodes("relay", settings)
    await _commit(kernel, 0, committed)
    queue = f"{settings.queue_prefix}.faults"
    await wait_until(lambda: _depth(settings, queue) == committed, timeout=60, interval=0.2)
    await nodes("worker", settings)
    await _exactly_once(kernel, committed, timeout=60)
    assert _depth(settings, queue) == 0
