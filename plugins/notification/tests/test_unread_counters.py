"""Kept unread counters always equal a count of the unread notifications, whatever changes them."""

import asyncio
import random

from bson import ObjectId
from eventonight_notification.application.fanout import notify
from eventonight_notification.infrastructure.store import COUNTED, Store

USERS = ["ann", "bob", "cy", "dee"]


def _follows(rng: random.Random, n: int) -> list[tuple[str, dict]]:
    # Each follow notifies the followed user; a batch holds some users several times.
    return [
        ("interactions.follow.created", {"followerId": f"fan{i}", "followedId": rng.choice(USERS)}) for i in range(n)
    ]


async def _check(kernel) -> None:
    store, notifications = Store(kernel.read), kernel.read.collection("notification_notifications")
    for user_id in USERS:
        counted = await notifications.count_documents({"user_id": user_id, "read": False})
        assert await store.unread_count(user_id) == counted, user_id


async def test_counters_follow_new_read_all_read_and_forgotten_notifications(platform, bus_tap):
    tap = await bus_tap("notification.#")
    p = await platform(consumers=False)
    kernel, rng = p.kernel, random.Random(4)

    async def batch(n: int) -> None:
        async def work(uow):
            await notify(_follows(rng, n), Store(uow), uow)

        await kernel.transaction(work)

    # Every notification.created carries the count right after its own notification.
    await batch(1)  # a user's first notification (no counter yet)
    await batch(12)
    await batch(30)
    await _check(kernel)
    published = await tap.wait_for("notification.created", count=43)
    assert len(published) == 43
    seen: dict[str, int] = {}
    for user_id, count in [(m["payload"]["userId"], m["payload"]["unreadCount"]) for m in published]:
        seen[user_id] = seen.get(user_id, 0) + 1
        assert count == seen[user_id], "the count as it stood after that notification"

    notifications = kernel.read.collection("notification_notifications")
    some = await notifications.find({"user_id": "ann"}).to_list(None)
    for doc in some[:3] + some[:1]:  # the first one twice: read already the second time
        assert await kernel.transaction(lambda uow, d=doc: Store(uow).mark_read("ann", d["_id"]))
    assert not await kernel.transaction(lambda uow: Store(uow).mark_read("bob", some[3]["_id"])), "not bob's"
    assert not await kernel.transaction(lambda uow: Store(uow).mark_read("ann", ObjectId()))
    await _check(kernel)
    await kernel.transaction(lambda uow: Store(uow).mark_all_read("bob"))
    await _check(kernel)
    await batch(20)  # after all were read
    await _check(kernel)
    await kernel.transaction(lambda uow: Store(uow).forget_user("cy"))
    await _check(kernel)


async def test_counters_are_counted_once_for_notifications_stored_before_them(platform):
    p = await platform(consumers=False)
    kernel = p.kernel
    older = [
        {"user_id": u, "type": "new_follower", "metadata": {}, "read": i % 4 == 0} for i, u in enumerate(USERS * 9)
    ]
    await kernel.read.collection("notification_notifications").insert_many(older)
    counters = kernel.read.collection("notification_unread")
    await counters.delete_many({})  # as before the counters were kept (the startup counted nothing yet)
    assert await kernel.transaction(lambda uow: Store(uow).backfill_unread()) is True
    await _check(kernel)
    assert await counters.find_one({"_id": COUNTED})
    await counters.update_one({"_id": "bob"}, {"$inc": {"n": 100}})
    assert await kernel.transaction(lambda uow: Store(uow).backfill_unread()) is False, "once"
    assert await Store(kernel.read).unread_count("bob") > 100


async def test_processes_starting_together_count_once(platform):
    p = await platform(consumers=False)
    kernel = p.kernel
    await kernel.read.collection("notification_notifications").insert_many(
        [{"user_id": u, "type": "new_follower", "metadata": {}, "read": False} for u in USERS * 3]
    )
    await kernel.read.collection("notification_unread").delete_many({})
    done = await asyncio.gather(*(kernel.transaction(lambda uow: Store(uow).backfill_unread()) for _ in range(3)))
    assert sorted(done) == [False, False, True]
    await _check(kernel)


async def test_batches_for_the_same_new_user_at_once_both_count(platform):
    p = await platform(consumers=False)
    kernel = p.kernel
    await asyncio.gather(*(kernel.transaction(lambda uow, k=k: Store(uow).add_unread({"eve": k})) for k in (1, 2, 4)))
    assert await Store(kernel.read).unread_count("eve") == 7
