"""The local copy of who follows whom ends as the last change of each pair said, whatever the batch."""

from uuid import uuid4

from eventonight_notification.infrastructure.store import Store

from eventonight.hooks.types import DomainEvent


def _follow(follower: str, followed: str, present: bool = True) -> DomainEvent:
    kind = "created" if present else "deleted"
    return DomainEvent(
        id=str(uuid4()),
        event_type=f"interactions.follow.{kind}",
        occurred_at="2026-11-27T00:00:00Z",
        payload={"followerId": follower, "followedId": followed},
    )


async def _copied(kernel) -> list[tuple[str, str]]:
    cursor = kernel.read.collection("notification_follows").find({})
    return sorted([(d["follower"], d["followed"]) async for d in cursor])


async def test_a_batch_leaves_each_pair_as_its_last_change_said(platform):
    p = await platform(consumers=False)
    kernel = p.kernel
    await kernel.dispatch_batch(
        "notification",
        [
            _follow("ann", "bob"),
            _follow("ann", "cy"),
            _follow("ann", "bob", present=False),  # created and deleted in one batch: gone
            _follow("ann", "dee", present=False),  # deleted before it existed: nothing to do
            _follow("ann", "dee"),
            _follow("ann", "eve"),
            _follow("ann", "eve", present=False),
            _follow("ann", "eve"),  # back again
            _follow("bob", "cy"),
            _follow("bob", "cy"),  # twice (two messages): one copy
        ],
    )
    assert await _copied(kernel) == [("ann", "cy"), ("ann", "dee"), ("ann", "eve"), ("bob", "cy")]

    # Pairs already copied: kept once, removed, or left absent.
    await kernel.dispatch_batch(
        "notification",
        [
            _follow("ann", "cy"),
            _follow("ann", "dee", present=False),
            _follow("ann", "bob", present=False),
            _follow("cy", "ann"),
        ],
    )
    assert await _copied(kernel) == [("ann", "cy"), ("ann", "eve"), ("bob", "cy"), ("cy", "ann")]
    # A later event of the followed user reaches exactly its current followers.
    assert sorted(await Store(kernel.read).followers_of(["cy"])) == ["ann", "bob"]
