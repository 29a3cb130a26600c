"""Bus consumers: end-to-end delivery, redelivery de-duplication, dead letters, embedded transport."""

import json
from datetime import UTC, datetime
from uuid import uuid4

from kombu import Exchange, Queue

from eventonight.hooks import Consumer, hookimpl
from eventonight.kernel.bus.topology import connection_for, pattern_matches
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
            await uow.collection("counts").update_one(
                {"_id": event.payload["key"]}, {"$inc": {"n": 1}}, upsert=True, session=uow.session
            )

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
            if isinstance(body, dict):
                producer.publish(body, exchange=exchange, routing_key=body["eventType"], serializer="json")
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
    assert plugin.calls.count(poison["id"]) == settings.consumer_max_attempts
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
