"""Inbox pages read from the kept summaries (total, recent activity) equal the plain sorted query."""

import asyncio

from eventonight_chat.infrastructure.store import COUNTED, RING, SHARDS, Store
from eventonight_chat.plugin import services


async def test_inbox_pages_and_totals_equal_the_plain_query_through_replies_concurrency_and_a_backfill(platform):
    assert (SHARDS, RING) == (4, 32)  # docs/performance.md
    p = await platform(consumers=False)
    chat, read = services(p.kernel), Store(p.kernel.read)
    await read.upsert_user("club", "organization", "Club", "club", None)
    members = [f"m{i:02d}" for i in range(RING + 13)]
    for member in members:
        await read.upsert_user(member, "member", f"Member {member}", member, None)
    for member in members[:20]:
        await chat.send(member, "club", "hello")
    # Many members at once (their summaries are written concurrently), then replies that bring
    # older conversations back to the top, so recent activity repeats conversations.
    await asyncio.gather(*(chat.send(member, "club", "hi") for member in members[20:]))
    for member in members[3:40:4]:
        conversation = await chat.between(member, "club", "club")
        await chat.reply(conversation["id"], "club", "thanks")
        await chat.reply(conversation["id"], member, "welcome")

    conversations = p.kernel.read.collection("chat_conversations")
    names = {"club": "Club", **{member: f"Member {member}" for member in members}}

    async def same_as_plain(user_id: str) -> None:
        order = [("updated_at", -1), ("_id", 1)]
        plain = [d["_id"] async for d in conversations.find({"participants": user_id}).sort(order)]
        for limit, offset in [(20, 0), (1, 0), (10, 5), (RING, 0), (20, RING - 20), (20, RING), (20, 40), (5, 44)]:
            items, total = await chat.inbox(user_id, limit, offset)
            assert total == len(plain)
            assert [i["id"] for i in items] == plain[offset : offset + limit], (user_id, limit, offset)
            # Each item shows its other party (looked up for the whole page at once).
            parties = [(i["otherParty"]["userId"], i["otherParty"]["name"]) for i in items]
            assert all(other != user_id and name == names[other] for other, name in parties)

    await same_as_plain("club")
    await same_as_plain(members[7])
    assert (await chat.inbox("club", 20, 0))[1] == len(members)

    # Conversations stored before the summaries were kept are summarised once at start.
    inboxes = p.kernel.read.collection("chat_inboxes")
    await inboxes.delete_many({})
    assert await read.backfill_inboxes() is True
    assert await inboxes.find_one({"_id": COUNTED})
    assert await read.backfill_inboxes() is False, "once"
    await same_as_plain("club")
    await same_as_plain(members[7])
