"""Transactional outbox and relay against real MongoDB-protocol storage and real RabbitMQ."""

import asyncio
import json
from datetime import datetime

import pytest
from bson import ObjectId
from kombu import Exchange, Queue

from eventonight.hooks import hookimpl
from eventonight.kernel.bus.publisher import Refused
from eventonight.kernel.bus.topology import connection_for
from eventonight.kernel.db import OUTBOX, OUTBOX_BUNDLE
from eventonight.kernel.leases import LEASES, Lease
from eventonight.kernel.outbox import RANGE_DELETE_MIN, OutboxRelay, in_chunks, size_of
from eventonight.kernel.testing import wait_until
from eventonight.settings import Settings


async def _record(kernel, n: int, start: int = 0, event_type: str = "sample.item.created"):
    for i in range(start, start + n):

        async def work(uow, i=i):
            await uow.collection("items").insert_one({"seq": i})
            await uow.record(event_type, {"seq": i})

        await kernel.transaction(work)  # re-run on write conflicts with the other writer or the relay


async def _unsent(kernel) -> int:
    return await kernel.database.db[OUTBOX].count_documents({})  # the outbox holds only unsent records


async def test_recorded_event_reaches_the_exchange_as_the_documented_envelope(platform, bus_tap):
    tap = await bus_tap("sample.item.created")
    p = await platform()
    await _record(p.kernel, 1)
    [envelope] = await tap.wait_for("sample.item.created")
    assert set(envelope) == {"id", "eventType", "occurredAt", "payload"}
    assert envelope["payload"] == {"seq": 0}
    assert envelope["occurredAt"].endswith("Z")
    assert datetime.fromisoformat(envelope["occurredAt"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0
    await wait_until(lambda: _all_sent(p.kernel))


async def _all_sent(kernel) -> bool:
    return await _unsent(kernel) == 0


async def test_aborted_transaction_leaves_neither_state_nor_outbox_record(platform, bus_tap):
    tap = await bus_tap("#")
    p = await platform()
    with pytest.raises(RuntimeError):
        async with p.kernel.uow() as uow:
            await uow.collection("items").insert_one({"seq": 1})
            await uow.record("sample.item.created", {"seq": 1})
            raise RuntimeError("business rule failed after the writes")
    db = p.kernel.database.db
    assert await db["items"].count_documents({}) == 0
    assert await db[OUTBOX].count_documents({}) == 0
    # A committed one afterwards is the only thing that ever reaches the broker.
    await _record(p.kernel, 1, start=2)
    messages = await tap.wait_for("sample.item.created")
    assert [m["payload"]["seq"] for m in messages] == [2]


async def test_relay_rides_out_a_broker_outage_and_loses_nothing(platform, settings, private_rabbit):
    settings = Settings(**{**settings.model_dump(), "broker_url": private_rabbit.url})
    # A durable queue survives the broker's restart, so it sees everything the relay confirmed.
    exchange = Exchange(settings.exchange, type="topic", durable=True)
    queue = Queue(f"{settings.queue_prefix}.audit", exchange, routing_key="sample.#", durable=True)
    with connection_for(private_rabbit.url) as connection:
        queue(connection.channel()).declare()

    p = await platform(settings_override=settings)
    await _record(p.kernel, 20)
    await wait_until(lambda: _all_sent(p.kernel))

    private_rabbit.stop_app()
    try:
        await _record(p.kernel, 30, start=20)  # commits keep working while the broker is away
        assert await _unsent(p.kernel) == 30
    finally:
        private_rabbit.start_app()
    await wait_until(lambda: _all_sent(p.kernel), timeout=30)

    received = []
    with connection_for(private_rabbit.url) as connection:
        bound = queue(connection.channel())
        while (message := bound.get(no_ack=True)) is not None:
            received.append(json.loads(message.body))
        bound.delete()
    ids = [m["id"] for m in received]
    assert len(set(ids)) == len(ids) == 50
    assert [m["payload"]["seq"] for m in received] == list(range(50)), "published in record order"


async def test_two_relays_never_publish_a_record_twice(platform, bus_tap):
    tap = await bus_tap("sample.#")
    first = await platform()
    second = await platform()  # a second process on the same database and broker

    await asyncio.gather(_record(first.kernel, 150), _record(second.kernel, 150, start=150))
    await wait_until(lambda: _all_sent(first.kernel), timeout=30)
    await _record(first.kernel, 1, start=1000, event_type="sample.sentinel")
    await tap.wait_for("sample.sentinel")
    ids = [m["id"] for m in tap.of_type("sample.item.created")]
    assert len(ids) == 300
    assert len(set(ids)) == 300
    assert sorted(m["payload"]["seq"] for m in tap.of_type("sample.item.created")) == list(range(300))


async def test_the_next_drain_starts_before_the_last_delete_ends_and_sends_nothing_twice(platform, bus_tap):
    """The running relay does not wait for its deletes: the records being deleted stay out of the next read."""
    tap = await bus_tap("sample.#")
    p = await platform(relay=False)
    relay = OutboxRelay(p.kernel.database, p.kernel.publisher)
    assert await relay.lease.acquire()
    await _record(p.kernel, 40)
    assert await relay.drain(wait_for_deletes=False) == 40
    # At once, while the delete of those 40 has not even started: none of them is read again.
    assert await relay.drain(wait_for_deletes=False) == 0
    await _record(p.kernel, 5, start=40)
    assert await relay.drain() == 5  # this one waits for every delete still running
    assert await _all_sent(p.kernel)
    await _record(p.kernel, 1, start=1000, event_type="sample.sentinel")
    assert await relay.drain() == 1
    await tap.wait_for("sample.sentinel")
    assert sorted(m["payload"]["seq"] for m in tap.of_type("sample.item.created")) == list(range(45))


async def test_a_stopped_relay_has_finished_its_deletes(platform):
    """Stopping waits for the deletes still running: nothing sent stays behind to be sent twice."""
    p = await platform(relay=False)
    seen = []

    async def stop_once_all_are_confirmed(event):
        seen.append(event)
        if len(seen) == 30:
            relay.stop()  # before this drain has even started deleting them

    relay = OutboxRelay(p.kernel.database, p.kernel.publisher, observer=stop_once_all_are_confirmed)
    await _record(p.kernel, 30)
    await relay.run()
    assert len(seen) == 30
    assert await _all_sent(p.kernel)


async def test_a_relay_cancelled_just_as_a_commit_wakes_it_is_cancelled(platform):
    """The relay's wait between drains ends by a commit, its poll, or a cancellation, whichever
    comes first, and a cancellation is never lost: with ``asyncio.wait_for`` (Python 3.11) a
    cancellation arriving in the same turn of the loop as the wake-up was swallowed, and a relay
    being stopped polled on."""
    p = await platform(relay=False)
    relay = OutboxRelay(p.kernel.database, p.kernel.publisher, poll_seconds=60)
    waiting = asyncio.ensure_future(relay._sleep(60))
    await asyncio.sleep(0)  # waiting for a wake-up
    relay._wake.set()  # what a commit does, and the stop's cancellation in the same turn of the loop
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert waiting.cancelled()


class Observer:
    def __init__(self):
        self.seen = []

    @hookimpl
    async def eventonight_domain_event(self, event, kernel):
        self.seen.append((event.event_type, event.payload["seq"]))


async def test_domain_event_observer_sees_every_recorded_event_in_order(platform):
    observer = Observer()
    p = await platform(extra_plugins=[("observer", observer)])
    await _record(p.kernel, 5)
    await wait_until(lambda: len(observer.seen) >= 5)
    assert observer.seen == [("sample.item.created", i) for i in range(5)]


def _between(low: ObjectId, high: ObjectId) -> ObjectId:
    """An ObjectId sorting strictly between two others: a record another process committed late."""
    middle = (int(str(low), 16) + int(str(high), 16)) // 2
    assert int(str(low), 16) < middle < int(str(high), 16)
    return ObjectId(f"{middle:024x}")


@pytest.mark.parametrize("size", [RANGE_DELETE_MIN - 1, RANGE_DELETE_MIN, 300])
async def test_deleting_sent_records_never_deletes_an_unsent_one_between_them(platform, size):
    p = await platform(relay=False)
    outbox = p.kernel.database.db[OUTBOX]
    relay = OutboxRelay(p.kernel.database, p.kernel.publisher)
    await _record(p.kernel, size)
    sent = await outbox.find({}).sort("_id", 1).to_list(None)
    assert len(sent) == size
    # Committed after the relay read its batch, with an _id inside the batch's range.
    late = _between(sent[size // 2 - 1]["_id"], sent[size // 2]["_id"])
    await outbox.insert_one({"_id": late, "eventId": "late", "eventType": "sample.late", "payload": {}})
    await relay.delete_sent(sent)
    assert [doc["_id"] for doc in await outbox.find({}).to_list(None)] == [late]
    # Without a stranger in the range, everything sent goes and nothing else does.
    await _record(p.kernel, size, start=size)
    again = await outbox.find({"_id": {"$ne": late}}).sort("_id", 1).to_list(None)
    await relay.delete_sent(again[:-1])
    assert {doc["_id"] for doc in await outbox.find({}).to_list(None)} == {late, again[-1]["_id"]}


async def test_a_held_lease_is_renewed_once_a_third_of_its_term_has_passed(platform):
    p = await platform(relay=False)
    leases = p.kernel.database.db[LEASES]
    lease = Lease(p.kernel.database, "test-keep", seconds=1.5)
    assert await lease.keep()
    first = (await leases.find_one({"_id": "test-keep"}))["expiresAt"]
    assert await lease.keep()  # within a third of the term: no write
    assert (await leases.find_one({"_id": "test-keep"}))["expiresAt"] == first
    await asyncio.sleep(0.6)  # the term's first third has passed
    assert await lease.keep()
    assert (await leases.find_one({"_id": "test-keep"}))["expiresAt"] > first
    # Another owner cannot take it while it is kept, and takes it once it lapses.
    other = Lease(p.kernel.database, "test-keep", seconds=1.5)
    assert not await other.keep()
    await asyncio.sleep(1.6)  # lapsed: nobody renewed it for a whole term
    assert await other.keep()
    assert not await lease.acquire()


async def _record_together(kernel, seqs, event_type: str = "sample.item.created"):
    async def work(uow):
        await uow.record_many([(event_type, {"seq": i}) for i in seqs])

    await kernel.transaction(work)


async def test_one_transactions_events_share_outbox_documents_and_go_out_in_order(platform, bus_tap, settings):
    tap = await bus_tap("sample.#")
    enabled = settings.model_copy(update={"metrics_enabled": True})
    p = await platform(relay=False, settings_override=enabled)
    outbox = p.kernel.database.db[OUTBOX]
    await _record(p.kernel, 1)
    await _record_together(p.kernel, range(1, 151))
    await _record(p.kernel, 1, start=151)
    docs = await outbox.find({}).sort("_id", 1).to_list(None)
    assert [len(d["entries"]) if "entries" in d else 1 for d in docs] == [1, OUTBOX_BUNDLE, OUTBOX_BUNDLE, 22, 1]
    assert [d["n"] for d in docs if "entries" in d] == [OUTBOX_BUNDLE, OUTBOX_BUNDLE, 22]
    scraped = await (await p.client.get("/metrics")).text()
    assert "eventonight_outbox_backlog 152.0" in scraped, "the backlog counts events, not documents"
    # Reads end once a batch's events are reached, chunks hold whole bundles.
    relay = OutboxRelay(p.kernel.database, p.kernel.publisher, batch_size=100, chunk_size=50)
    assert await relay.lease.acquire()
    batch, last = await relay._read(None)
    assert [size_of(r) for r in batch] == [1, OUTBOX_BUNDLE, OUTBOX_BUNDLE], "a read stops once 100 events are in"
    assert last == batch[-1]["_id"], "and says where the next one starts"
    assert [[size_of(r) for r in chunk] for chunk in in_chunks(batch, 50)] == [[1], [OUTBOX_BUNDLE], [OUTBOX_BUNDLE]]
    assert await relay.drain() == 152
    messages = await tap.wait_for("sample.item.created", 152)
    assert [m["payload"]["seq"] for m in messages] == list(range(152))
    assert len({m["id"] for m in messages}) == 152
    assert await _unsent(p.kernel) == 0


async def test_a_bundle_the_broker_confirmed_in_part_stays_and_is_sent_again_whole(platform, bus_tap, bounded_queue):
    tap = await bus_tap("sample.#")
    p = await platform(relay=False)
    await _record_together(p.kernel, range(30))
    relay = OutboxRelay(p.kernel.database, p.kernel.publisher)
    assert await relay.lease.acquire()
    with pytest.raises(Refused):
        await relay.drain()  # the bounded queue took ten; the broker refused the rest
    assert await _unsent(p.kernel) == 1, "the bundle is still there"
    bounded_queue.delete()
    assert await relay.drain() == 30
    assert await _unsent(p.kernel) == 0
    # The tap's own queue took every message both times (only the bounded queue refused some).
    await tap.wait_for("sample.item.created", 60)
    messages = tap.of_type("sample.item.created")
    assert [m["payload"]["seq"] for m in messages] == list(range(30)) * 2, "in order, and again whole"
    assert [m["id"] for m in messages[:30]] == [m["id"] for m in messages[30:]], "the same ids: consumers de-duplicate"
