"""Processed-message markers: one per transaction, found again for any of its messages."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pymongo.errors import DuplicateKeyError

from eventonight.hooks import Consumer, DomainEvent, hookimpl
from eventonight.kernel.processed import KEEP_SECONDS, PROCESSED, AlreadyProcessed


class Counting:
    def __init__(self):
        self.calls: list[str] = []

    @hookimpl
    def eventonight_consumers(self, kernel):
        async def count(event, uow):
            self.calls.append(event.payload["key"])
            await uow.collection("counts").update_one({"_id": event.payload["key"]}, {"$inc": {"n": 1}}, upsert=True)

        return [Consumer("count", ("sample.count.*",), count)]


def _event(key: str) -> DomainEvent:
    return DomainEvent(str(uuid4()), "sample.count.hit", datetime.now(UTC), {"key": key})


async def _counts(kernel) -> dict[str, int]:
    return {d["_id"]: d["n"] async for d in kernel.database.db["counts"].find({})}


async def _markers(kernel) -> list[dict]:
    return [d async for d in kernel.database.db[PROCESSED].find({}, {"_id": 0, "at": 0})]


async def test_a_batch_leaves_one_marker_and_none_of_its_messages_runs_twice(platform):
    plugin = Counting()
    p = await platform(extra_plugins=[("sample", plugin)], consumers=False)
    kernel = p.kernel
    events = [_event(f"k{i}") for i in range(5)]
    await kernel.dispatch_batch("sample", events)
    assert await _markers(kernel) == [{"keys": [f"sample:count:{e.id}" for e in events]}]

    # A later batch holding one of them is refused before any handler runs...
    fresh = _event("fresh")
    plugin.calls.clear()
    with pytest.raises(DuplicateKeyError):
        await kernel.dispatch_batch("sample", [fresh, events[3]])
    assert plugin.calls == []
    # ...and one by one (what the consumer runner does next) skips it.
    await kernel.dispatch("sample", fresh)
    await kernel.dispatch("sample", events[3])
    assert plugin.calls == ["fresh"]
    assert await _counts(kernel) == {"k0": 1, "k1": 1, "k2": 1, "k3": 1, "k4": 1, "fresh": 1}
    assert len(await _markers(kernel)) == 2


async def test_markers_of_the_earlier_shape_still_count(platform):
    plugin = Counting()
    p = await platform(extra_plugins=[("sample", plugin)], consumers=False)
    kernel = p.kernel
    old = _event("old")
    # One marker per message, as processes before this shape wrote them.
    await kernel.database.db[PROCESSED].insert_one({"_id": f"sample:count:{old.id}", "at": datetime.now(UTC)})
    with pytest.raises(AlreadyProcessed):
        await kernel.dispatch_batch("sample", [_event("new"), old])
    await kernel.dispatch("sample", old)
    assert plugin.calls == [] and await _counts(kernel) == {}


async def test_markers_expire_after_the_time_they_are_kept(platform):
    p = await platform(consumers=False)
    indexes = {i["name"]: i async for i in p.kernel.database.db[PROCESSED].list_indexes()}
    assert KEEP_SECONDS == 14 * 24 * 3600
    assert [i.get("expireAfterSeconds") for i in indexes.values() if list(i["key"]) == ["at"]] == [KEEP_SECONDS]
    assert indexes["keys"]["unique"] is True
