"""The events plugin's copies of users and follows, kept from bus messages taken as a batch."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from eventonight.hooks import DomainEvent


def _message(event_type: str, payload: dict) -> DomainEvent:
    return DomainEvent(str(uuid4()), event_type, datetime.now(UTC), payload)


async def test_follows_and_user_messages_in_one_batch_apply_in_message_order(platform):
    p = await platform(relay=False, consumers=False)
    batch = [
        _message("interactions.follow.created", {"followerId": "ann", "followedId": "club"}),
        _message("interactions.follow.created", {"followerId": "bob", "followedId": "club"}),
        _message("interactions.follow.deleted", {"followerId": "bob", "followedId": "club"}),
        _message("interactions.follow.created", {"followerId": "cat", "followedId": "club"}),
        # Cat's account goes after her follow: the follow must go with it, not come back after.
        _message("user.deleted", {"userId": "cat"}),
        _message("interactions.follow.created", {"followerId": "bob", "followedId": "bar"}),
    ]
    await p.kernel.dispatch_batch("events", batch)
    follows = p.kernel.read.collection("events_follows").find({})
    assert {(d["follower"], d["followed"]) async for d in follows} == {("ann", "club"), ("bob", "bar")}
    # Redelivered: refused whole as a batch (its markers exist), then skipped one by one.
    with pytest.raises(Exception):  # noqa: B017 - the storage's duplicate-key error, whichever engine
        await p.kernel.dispatch_batch("events", batch)
    for message in batch:
        await p.kernel.dispatch("events", message)
    follows = p.kernel.read.collection("events_follows").find({})
    assert {(d["follower"], d["followed"]) async for d in follows} == {("ann", "club"), ("bob", "bar")}
