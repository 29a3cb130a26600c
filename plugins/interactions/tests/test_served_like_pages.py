"""Pages of likes and follows a web process keeps: served while the counters of what they list and
the copies they show keep their version, and equal to a fresh read after every change."""

from datetime import UTC, datetime, timedelta

from eventonight_interactions.application.services import Interactions
from eventonight_interactions.domain.rules import KnownEvent
from eventonight_interactions.infrastructure.settings import InteractionsSettings
from eventonight_interactions.infrastructure.store import Store
from eventonight_interactions.plugin import services

PAGES = [(20, 0), (2, 0), (2, 1), (5, 3)]


def _event(event_id: str, title: str) -> KnownEvent:
    return KnownEvent(event_id, title, datetime.now(UTC) + timedelta(days=3), "club", [], "PUBLISHED")


async def test_kept_pages_are_served_until_something_they_show_changes(platform):
    p = await platform(consumers=False)
    kernel = p.kernel
    served, fresh = services(kernel), Interactions(*kernel.runners(Store))  # the second keeps nothing
    assert served.pages.size == 1000

    async def write(change) -> None:  # as the plugin's consumers write the copies
        await kernel.transaction(lambda uow: change(Store(uow)))

    def pages(interactions: Interactions):
        return {
            "likers of e1": lambda limit, offset: interactions.likers("e1", limit, offset),
            "likers of e2": lambda limit, offset: interactions.likers("e2", limit, offset),
            "liked by u0": lambda limit, offset: interactions.liked_events("u0", limit, offset),
            "liked by u1": lambda limit, offset: interactions.liked_events("u1", limit, offset),
            "followers of club": lambda limit, offset: interactions.follow_page("club", "followers", limit, offset),
            "following of u0": lambda limit, offset: interactions.follow_page("u0", "following", limit, offset),
        }

    async def all_current() -> None:
        kept, plain = pages(served), pages(fresh)
        for name in kept:
            for limit, offset in PAGES:
                assert await kept[name](limit, offset) == await plain[name](limit, offset), (name, limit, offset)

    for i in range(4):
        await write(lambda s, i=i: s.upsert_user(f"u{i}", "member", f"User {i}", None))
    await write(lambda s: s.upsert_user("club", "organization", "Club", None))
    await write(lambda s: s.upsert_event(_event("e1", "Night 1")))
    await write(lambda s: s.upsert_event(_event("e2", "Night 2")))
    for i in range(3):
        await served.like("e1", f"u{i}")
        await served.follow(f"u{i}", "club")
    await served.like("e2", "u0")
    await all_current()
    await all_current()  # served from what the process kept

    # Behind the plugin's back (no version moves): the kept pages are what is served.
    await kernel.read.collection("interactions_users").update_one({"_id": "u0"}, {"$set": {"name": "Edited"}})
    assert [i["name"] for i in (await served.likers("e1", 20, 0))[0]].count("Edited") == 0
    assert [i["name"] for i in (await fresh.likers("e1", 20, 0))[0]].count("Edited") == 1

    # Every change through the plugin shows: a rename, a new like, an unlike, an event's new title,
    # a follow and an unfollow, a like by a user whose copy comes after it, deletions.
    await write(lambda s: s.upsert_user("u1", "member", "Renamed", "https://img.example/u1.png"))
    await all_current()
    await served.like("e2", "u1")
    await all_current()
    await served.unlike("e1", "u2")
    await all_current()
    await write(lambda s: s.upsert_event(_event("e2", "Night 2, moved")))
    await all_current()
    await served.follow("u0", "u1")
    await served.unfollow("u2", "club")
    await all_current()
    await served.like("e1", "u9")  # no copy of u9 yet: shown without a name
    await all_current()
    await write(lambda s: s.upsert_user("u9", "member", "Late", None))
    await all_current()
    assert "Late" in [i["name"] for i in (await served.likers("e1", 20, 0))[0]]
    await write(lambda s: s.forget_user("u0"))
    await all_current()
    await write(lambda s: s.forget_event("e2"))
    await all_current()
    # The event again, liked as before its deletion: its counters are new, their versions too.
    await write(lambda s: s.upsert_event(_event("e2", "Night 2")))
    await served.like("e2", "u1")
    await all_current()
    assert [i["userId"] for i in (await served.likers("e2", 20, 0))[0]] == ["u1"]


async def test_pages_kept_per_process_default_to_1000_and_are_set_by_the_environment(platform, monkeypatch):
    assert InteractionsSettings().pages_kept == 1000  # README.md
    monkeypatch.setenv("EVENTONIGHT_INTERACTIONS_PAGES_KEPT", "0")
    p = await platform(consumers=False)
    interactions = services(p.kernel)
    await p.kernel.transaction(lambda uow: Store(uow).upsert_event(_event("e1", "Night 1")))
    await interactions.like("e1", "u0")
    assert (await interactions.likers("e1", 20, 0))[1] == 1
    # Keeping none, a change behind the plugin's back shows at once.
    await p.kernel.read.collection("interactions_likes").delete_many({})
    assert (await interactions.likers("e1", 20, 0))[0] == []
    assert interactions.pages.size == 0 and len(interactions.pages) == 0


async def test_counters_counted_afresh_give_their_pages_a_new_version(platform):
    """Counting again from the documents (a start on data older than the counters) makes shard
    documents anew: their versions start at a random number, not where the old ones started."""
    p = await platform(consumers=False)
    kernel, at = p.kernel, datetime.now(UTC)
    served, likes = services(kernel), kernel.read.collection("interactions_likes")
    counters = kernel.read.collection("interactions_counters")

    async def like_behind_the_back(user_id: str) -> None:
        await likes.insert_one({"_id": f"e1:{user_id}", "event_id": "e1", "user_id": user_id, "created_at": at})
        await counters.delete_many({})
        assert await Store(kernel.read).backfill_counters()

    await like_behind_the_back("u0")
    assert [i["userId"] for i in (await served.likers("e1", 20, 0))[0]] == ["u0"]
    await like_behind_the_back("u1")  # the same shard, at the same count of writes, made again
    assert sorted(i["userId"] for i in (await served.likers("e1", 20, 0))[0]) == ["u0", "u1"]
