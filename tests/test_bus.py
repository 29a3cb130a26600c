"""Bus consumers: end-to-end delivery, redelivery de-duplication, dead letters, embedded transport."""

import asyncio
import json
import time
from datetime import UTC, datetime
from uuid import uuid4

from kombu import Exchange, Queue

from eventonight.hooks import Consumer, hookimpl
from eventonight.kernel.bus.broadcast import BroadcastListener
from eventonight.kernel.bus.consumers import ATTEMPTS_HEADER, ConsumerRunner
from eventonight.kernel.bus.topology import connection_for, pattern_matches
from eventonight.kernel.embedded_mongo import free_port
from eventonight.kernel.http.app import RUNTIME
from eventonight.kernel.testing import wait_until
from eventonight.settings import Settings


class Counting:
    """A plugin whose consumer counts per envelope id in the consumer's transaction."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def eventonight_consumers(self, kernel):
        async def count(event, uow):
            self.calls.append(event.id)
            if event.payload.get("poison"):
                raise ValueError("this message can never be processed")
            await uow.collection("counts").update_one({"_id": event.payload["key"]}, {"$inc": {"n": 1}}, upsert=True)

        return [Consumer("count", ("sample.count.*",), count)]


def _envelope(key: str, **payload) -> dict:
    return {
        "id": str(uuid4()),
        "eventType": "sample.count.hit",
        "occurredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "payload": {"key": key, **payload},
    }


def _publish_raw(settings, *bodies) -> None:
    exchange = Exchange(settings.exchange, type="topic", durable=True)
    with connection_for(settings.broker_url) as connection:
        producer = connection.Producer()
        for body in bodies:
            headers = {}
            if isinstance(body, tuple):  # (envelope, headers)
                body, headers = body
            if isinstance(body, dict):
                producer.publish(
                    body, exchange=exchange, routing_key=body["eventType"], serializer="json", headers=headers
                )
            else:
                producer.publish(body, exchange=exchange, routing_key="sample.count.hit", content_type="text/plain")


async def _count(kernel, key):
    doc = await kernel.database.db["counts"].find_one({"_id": key})
    return doc["n"] if doc else 0


def _dead_letters(settings, plugin="sample"):
    bodies = []
    with connection_for(settings.broker_url) as connection:
        queue = Queue(f"{settings.queue_prefix}.{plugin}.dead-letter", durable=True)(connection.channel())
        while (message := queue.get(no_ack=True)) is not None:
            body = message.body if isinstance(message.body, bytes) else message.body.encode()
            bodies.append((body, message.headers))
    return bodies


def test_topic_patterns():
    assert pattern_matches("user.*", "user.created")
    assert not pattern_matches("user.*", "user.profile.updated")
    assert pattern_matches("user.#", "user.profile.updated")
    assert pattern_matches("user.#", "user")
    assert pattern_matches("#", "anything.at.all")
    assert pattern_matches("#.deleted", "user.deleted") and pattern_matches("#.deleted", "deleted")
    assert not pattern_matches("event.*", "user.created")


async def test_recorded_event_reaches_the_consumer(platform):
    plugin = Counting()
    p = await platform(extra_plugins=[("sample", plugin)])
    async with p.kernel.uow() as uow:
        await uow.record("sample.count.hit", {"key": "a"})
    await wait_until(lambda: _count(p.kernel, "a"))
    assert await _count(p.kernel, "a") == 1


async def test_redelivered_message_has_no_second_effect(platform, settings):
    plugin = Counting()
    p = await platform(extra_plugins=[("sample", plugin)])
    duplicate = _envelope("dup")
    sentinel = _envelope("sentinel")
    _publish_raw(settings, duplicate, duplicate, duplicate, sentinel)
    await wait_until(lambda: _count(p.kernel, "sentinel"))
    # One queue, handled in order: once the sentinel is counted every duplicate was seen.
    assert await _count(p.kernel, "dup") == 1
    assert plugin.calls.count(duplicate["id"]) == 1


async def test_poison_message_is_dead_lettered_and_does_not_block_the_queue(platform, settings):
    plugin = Counting()
    p = await platform(extra_plugins=[("sample", plugin)])
    poison = _envelope("bad", poison=True)
    _publish_raw(settings, poison, b"\xff not json", _envelope("after"))
    await wait_until(lambda: _count(p.kernel, "after"))
    await wait_until(lambda: plugin.calls.count(poison["id"]) >= settings.consumer_max_attempts)

    letters = []

    def collect():
        letters.extend(_dead_letters(settings))
        return len(letters) >= 2

    await wait_until(collect)
    # Its own attempts, plus one inside a batch when it arrived together with `after`.
    assert plugin.calls.count(poison["id"]) in (settings.consumer_max_attempts, settings.consumer_max_attempts + 1)
    assert await _count(p.kernel, "bad") == 0
    bodies = {(json.loads(b)["id"] if b.startswith(b"{") else b): h for b, h in letters}
    assert poison["id"] in bodies
    assert bodies[poison["id"]]["x-eventonight-attempts"] == settings.consumer_max_attempts
    assert "can never be processed" in bodies[poison["id"]]["x-eventonight-error"]
    assert b"\xff not json" in bodies


async def test_embedded_in_memory_bus_delivers_in_one_process(platform, settings):
    plugin = Counting()
    embedded = Settings(**{**settings.model_dump(), "broker_url": None})
    p = await platform(extra_plugins=[("sample", plugin)], settings_override=embedded)
    for _ in range(3):
        async with p.kernel.uow() as uow:
            await uow.record("sample.count.hit", {"key": "mem"})
    await wait_until(lambda: _three(p.kernel))
    ready = await (await p.client.get("/ready")).json()
    assert ready["checks"]["broker"] == "ok"


async def _three(kernel):
    return await _count(kernel, "mem") == 3


class Batching:
    """A batch consumer that holds its first call until ``gate`` opens, so messages pile up."""

    def __init__(self):
        self.gate = asyncio.Event()
        self.batches: list[list[str]] = []

    @hookimpl
    def eventonight_consumers(self, kernel):
        async def count(events, uow):
            self.batches.append([e.payload["key"] for e in events])
            await self.gate.wait()
            if any(e.payload.get("poison") for e in events):
                raise ValueError("this message can never be processed")
            for event in events:
                await uow.collection("counts").update_one(
                    {"_id": event.payload["key"]}, {"$inc": {"n": 1}}, upsert=True
                )

        return [Consumer("count", ("sample.count.*",), count, batch=True)]


def _ready_in_queue(settings, plugin="sample") -> int:
    with connection_for(settings.broker_url) as connection:
        return connection.default_channel.queue_declare(f"{settings.queue_prefix}.{plugin}", passive=True).message_count


def _consumers_on_queue(settings, plugin="sample") -> int:
    with connection_for(settings.broker_url) as connection:
        queue = connection.default_channel.queue_declare(f"{settings.queue_prefix}.{plugin}", passive=True)
        return queue.consumer_count


async def _pile_up(plugin, settings, *envelopes):
    """Publish a first message, then ``envelopes`` while it is held; release once all were delivered."""
    _publish_raw(settings, _envelope("first"))
    await wait_until(lambda: plugin.batches)
    _publish_raw(settings, *envelopes)
    await wait_until(lambda: _ready_in_queue(settings) == 0)  # all delivered, none handled
    plugin.gate.set()


async def test_waiting_messages_reach_a_batch_consumer_together_in_order(platform, settings):
    plugin = Batching()
    p = await platform(extra_plugins=[("sample", plugin)])
    keys = [f"k{i}" for i in range(10)]
    await _pile_up(plugin, settings, *(_envelope(k) for k in keys))
    await wait_until(lambda: _count(p.kernel, "k9"))
    assert plugin.batches == [["first"], keys]
    assert [await _count(p.kernel, k) for k in keys] == [1] * 10


async def test_a_batch_is_at_most_the_prefetch_and_twice_as_many_wait_delivered(platform, settings):
    # consumer_prefetch is the largest batch; the broker delivers up to twice that unacknowledged,
    # so the next batch is already here when one ends (and each batch is acknowledged at once).
    plugin = Batching()
    p = await platform(
        extra_plugins=[("sample", plugin)], settings_override=settings.model_copy(update={"consumer_prefetch": 4})
    )
    keys = [f"k{i}" for i in range(14)]
    _publish_raw(settings, _envelope("first"))
    await wait_until(lambda: plugin.batches)
    _publish_raw(settings, *(_envelope(k) for k in keys))
    # "first" is held by its handler: 7 more are delivered (a window of 8), the other 7 wait.
    await wait_until(lambda: _ready_in_queue(settings) == 7)
    await asyncio.sleep(0.3)  # a bound on something not happening: no further delivery
    assert _ready_in_queue(settings) == 7, "no more than twice the prefetch unacknowledged"
    plugin.gate.set()
    await wait_until(lambda: _count(p.kernel, "k13"))
    assert plugin.batches[0] == ["first"]
    assert all(1 <= len(batch) <= 4 for batch in plugin.batches[1:]), plugin.batches
    assert [k for batch in plugin.batches[1:] for k in batch] == keys, "in order, each once"
    assert [await _count(p.kernel, k) for k in keys] == [1] * 14
    await p.client.close()  # consumers stop: what they left unacknowledged goes back to the queue
    await wait_until(lambda: _consumers_on_queue(settings) == 0)  # the broker has seen the channel go
    assert _ready_in_queue(settings) == 0, "every message of every batch was acknowledged"


class Holding:
    """A batch consumer that holds the call holding a given key until that key's gate opens."""

    def __init__(self, *held: str):
        self.gates = {key: asyncio.Event() for key in held}
        self.batches: list[list[str]] = []

    @hookimpl
    def eventonight_consumers(self, kernel):
        async def count(events, uow):
            keys = [e.payload["key"] for e in events]
            self.batches.append(keys)
            for key in keys:
                if key in self.gates:
                    await self.gates[key].wait()
            for key in keys:
                await uow.collection("counts").update_one({"_id": key}, {"$inc": {"n": 1}}, upsert=True)

        return [Consumer("count", ("sample.count.*",), count, batch=True)]


async def test_the_next_batch_is_received_while_one_is_handled(platform, settings):
    plugin = Holding("p", "a")
    p = await platform(extra_plugins=[("sample", plugin)])
    (runner,) = [r for r in p.client.app[RUNTIME].consumer_runners if r.plugin == "sample"]
    _publish_raw(settings, _envelope("p"))
    await wait_until(lambda: plugin.batches == [["p"]])
    _publish_raw(settings, _envelope("a"), _envelope("b"))
    await wait_until(lambda: _ready_in_queue(settings) == 0)
    plugin.gates["p"].set()
    await wait_until(lambda: len(plugin.batches) == 2)
    assert plugin.batches[1] == ["a", "b"]
    # While [a, b] is held, what arrives is already taken off the connection.
    _publish_raw(settings, *(_envelope(f"c{i}") for i in range(3)))
    await wait_until(lambda: len(runner.pending) == 3)
    plugin.gates["a"].set()
    await wait_until(lambda: _count(p.kernel, "c2"))
    assert plugin.batches == [["p"], ["a", "b"], ["c0", "c1", "c2"]]
    assert [await _count(p.kernel, k) for k in ("p", "a", "b", "c0", "c1", "c2")] == [1] * 6


async def test_a_redelivery_inside_a_batch_has_no_second_effect(platform, settings):
    plugin = Batching()
    plugin.gate.set()
    p = await platform(extra_plugins=[("sample", plugin)])
    seen = _envelope("seen")
    _publish_raw(settings, seen)
    await wait_until(lambda: _count(p.kernel, "seen"))
    plugin.gate.clear()
    plugin.batches.clear()
    await _pile_up(plugin, settings, seen, _envelope("fresh"), seen)
    await wait_until(lambda: _count(p.kernel, "fresh"))
    # The batch hit the processed marker of `seen` before any handler ran; one by one skipped it.
    assert plugin.batches[1:] == [["fresh"]]
    assert await _count(p.kernel, "seen") == 1 and await _count(p.kernel, "fresh") == 1


async def test_a_poison_message_in_a_batch_is_dead_lettered_alone(platform, settings):
    plugin = Batching()
    p = await platform(extra_plugins=[("sample", plugin)])
    poison = _envelope("bad", poison=True)
    await _pile_up(plugin, settings, _envelope("before"), poison, _envelope("after"))
    await wait_until(lambda: _count(p.kernel, "after"))
    await wait_until(lambda: sum(b.count("bad") for b in plugin.batches) >= settings.consumer_max_attempts + 1)
    letters = []

    def collect():
        letters.extend(_dead_letters(settings))
        return bool(letters)

    await wait_until(collect)
    assert [json.loads(body)["id"] for body, _ in letters] == [poison["id"]]
    assert plugin.batches[1] == ["before", "bad", "after"]  # tried together once, undone
    assert [await _count(p.kernel, k) for k in ("before", "bad", "after")] == [1, 0, 1]


async def test_a_retried_message_gets_its_own_transaction_even_when_its_count_stayed_at_zero(platform, settings):
    """A conflict's retry carries attempts 0 (contention never counts), yet it failed before: it is not batched."""
    plugin = Batching()
    p = await platform(extra_plugins=[("sample", plugin)])
    retried = (_envelope("retried"), {ATTEMPTS_HEADER: 0})
    await _pile_up(plugin, settings, _envelope("before"), retried, _envelope("after"))
    await wait_until(lambda: _count(p.kernel, "after"))
    assert plugin.batches == [["first"], ["before"], ["retried"], ["after"]]


async def test_consumers_asked_to_stop_while_the_broker_is_unreachable_stop(settings, caplog):
    """kombu alone reconnects forever without looking at the stop flag: a process whose broker is
    down (or never came up) could not stop its consumer threads, and each kept retrying for good."""
    nowhere = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    loop = asyncio.get_running_loop()

    async def ignore(*args):
        return None

    runner = ConsumerRunner(
        url=nowhere, exchange_name=settings.exchange, prefix=settings.queue_prefix, plugin="sample",
        patterns=["sample.#"], dispatch=ignore, loop=loop,
    )  # fmt: skip
    listener = BroadcastListener(
        url=nowhere, exchange_name=settings.exchange, patterns=["sample.#"], callback=ignore, loop=loop
    )
    threads = [runner._thread, listener._thread]
    runner.start()
    listener.start()
    # Each has failed once and is in kombu's wait before its next attempt.
    caplog.set_level("WARNING")
    await wait_until(lambda: {"consumer", "listener"} <= _retrying(caplog), timeout=20)
    assert all(thread.is_alive() for thread in threads), "they keep retrying while nobody asks them to stop"
    assert not runner.ready.is_set() and not listener.ready.is_set()
    started = time.monotonic()
    await asyncio.gather(asyncio.to_thread(runner.stop), asyncio.to_thread(listener.stop))
    assert not any(thread.is_alive() for thread in threads)
    assert time.monotonic() - started < 5, "within about a second of being asked, not after the join gave up"


def _retrying(caplog) -> set[str]:
    """Which of the consumer runner and the broadcast listener logged a failed connection."""
    found = set()
    for record in caplog.records:
        if record.name == "kombu.mixins":
            found.add("listener")
        elif "broker connection of sample lost" in record.getMessage():
            found.add("consumer")
    return found
