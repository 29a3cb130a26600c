"""Pages of notifications read from a kept checkpoint equal the plain sorted query and count."""

import os
import struct
from datetime import UTC, datetime, timedelta

from bson import ObjectId
from eventonight_notification.infrastructure import pages
from eventonight_notification.infrastructure.pages import Pages
from eventonight_notification.infrastructure.store import Store


def _id_at(at: datetime) -> ObjectId:
    return ObjectId(struct.pack(">I", int(at.timestamp())) + os.urandom(8))


def _docs(user_id: str, start: datetime, count: int, step: timedelta) -> list[dict]:
    return [
        {"_id": _id_at(start + i * step), "user_id": user_id, "type": "user.followed", "metadata": {},
         "read": i % 3 == 0, "created_at": start + i * step}
        for i in range(count)
    ]  # fmt: skip


async def test_pages_from_the_checkpoint_equal_the_plain_query_as_notifications_arrive(platform):
    p = await platform(consumers=False)
    db = p.kernel.read
    notifications, checkpoints = db.collection("notification_notifications"), db.collection("notification_checkpoints")
    now = datetime.now(UTC)
    # 450 settled and 10 not yet settled for "a"; another user's interleaved.
    await notifications.insert_many(_docs("a", now - timedelta(days=30), 450, timedelta(minutes=60)))
    await notifications.insert_many(_docs("a", now - timedelta(minutes=2), 10, timedelta(seconds=5)))
    await notifications.insert_many(_docs("b", now - timedelta(days=30), 300, timedelta(minutes=90)))

    # One reader remembers the checkpoints it saw (as a web process does), one starts afresh each time.
    remembering = pages.Pages()

    async def same_as_plain(user_id: str, at: datetime) -> None:
        plain = [d["_id"] async for d in notifications.find({"user_id": user_id}).sort("_id", -1)]
        for limit, offset in [(20, 0), (1, 0), (20, 5), (20, 10), (50, 30), (20, 395), (20, 400), (30, 440), (20, 455),
                              (20, 590), (100, 700), (20, 10_000)]:  # fmt: skip
            for reader in (remembering, pages.Pages()):
                docs, total = await reader.newest_first(notifications, checkpoints, user_id, limit, offset, at)
                assert total == len(plain)
                assert [d["_id"] for d in docs] == plain[offset : offset + limit], (limit, offset)

    await same_as_plain("a", now)
    kept = await checkpoints.find_one({"_id": "a"})
    assert kept["n"] == 450, "only the settled ones are counted into the checkpoint"
    assert len(kept["marks"]) == pages.MARKS
    plain = [d["_id"] async for d in notifications.find({"user_id": "a"}).sort("_id", -1)]
    assert kept["upto"] == plain[10] and kept["marks"][0] == plain[10 + pages.MARK_EVERY - 1]

    # Fewer than REFRESH_AFTER arrive: pages read them after the checkpoint, which stays.
    await notifications.insert_many(_docs("a", now, 50, timedelta(seconds=1)))
    await same_as_plain("a", now + timedelta(minutes=1))
    assert await checkpoints.find_one({"_id": "a"}) == kept

    # More arrive and time passes: a page read moves the checkpoint forward, pages stay equal.
    await notifications.insert_many(_docs("a", now + timedelta(minutes=1), 120, timedelta(seconds=1)))
    later = now + timedelta(hours=1)
    await same_as_plain("a", later)
    moved = await checkpoints.find_one({"_id": "a"})
    assert moved["n"] == 630 and moved["upto"] > kept["upto"]
    await same_as_plain("b", later)

    # A user with no notifications at all, and the unread-only page (not from the checkpoint).
    assert await remembering.newest_first(notifications, checkpoints, "nobody", 20, 0, later) == ([], 0)
    store = Store(db)
    unread, total = await store.page("b", True, 20, 0)
    plain_unread = [d["_id"] async for d in notifications.find({"user_id": "b", "read": False}).sort("_id", -1)]
    assert total == len(plain_unread) and [d["_id"] for d in unread] == plain_unread[:20]


async def test_a_deleted_user_leaves_no_checkpoint(platform):
    p = await platform(consumers=False)
    db = p.kernel.read
    now = datetime.now(UTC)
    await db.collection("notification_notifications").insert_many(
        _docs("a", now - timedelta(days=2), 30, timedelta(hours=1))
    )
    store, remembering = Store(db), Pages()
    assert (await store.page("a", False, 20, 0, remembering))[1] == 30
    assert await db.collection("notification_checkpoints").find_one({"_id": "a"})
    await store.forget_user("a")
    assert await db.collection("notification_checkpoints").find_one({"_id": "a"}) is None
    assert await store.page("a", False, 20, 0) == ([], 0)
    assert await store.page("a", False, 20, 0, remembering) == ([], 0), "what a process remembered no longer counts"


async def test_the_documented_numbers_and_what_a_process_remembers(platform):
    # docs/performance.md: marks every 20th of the newest 400, moved after 100, settled after 5 minutes,
    # the last 1,000 checkpoints remembered per process.
    assert (pages.MARK_EVERY, pages.MARKS, pages.REFRESH_AFTER) == (20, 20, 100)
    assert pages.SETTLED == timedelta(minutes=5) and Pages().kept == 1000
    p = await platform(consumers=False)
    db = p.kernel.read
    notifications, checkpoints = db.collection("notification_notifications"), db.collection("notification_checkpoints")
    old = datetime.now(UTC) - timedelta(days=1)
    reader = Pages(kept=2)
    for user_id in ("a", "b", "c"):
        await notifications.insert_many(_docs(user_id, old, 25, timedelta(minutes=1)))
        assert (await reader.newest_first(notifications, checkpoints, user_id, 10, 0))[1] == 25
    # "a" was forgotten (the oldest of three): its page reads the stored checkpoint again.
    await checkpoints.delete_one({"_id": "a"})
    await checkpoints.delete_one({"_id": "c"})
    await notifications.insert_one(_docs("a", old, 1, timedelta(0))[0])
    assert (await reader.newest_first(notifications, checkpoints, "a", 10, 0))[1] == 26, "counted afresh"
    assert await checkpoints.find_one({"_id": "a"}), "and stored again"
    # "c" is remembered: its stored checkpoint is not needed for its page.
    assert (await reader.newest_first(notifications, checkpoints, "c", 10, 0))[1] == 25
    assert await checkpoints.find_one({"_id": "c"}) is None
