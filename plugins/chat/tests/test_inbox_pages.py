"""Inbox pages read from the kept summaries (total, recent activity) equal the plain sorted query."""

import asyncio

from eventonight_chat.application.chat import Chat
from eventonight_chat.infrastructure.settings import ChatSettings
from eventonight_chat.infrastructure.store import COUNTED, RING, SHARDS, Store
from eventonight_chat.plugin import services

from eventonight.hooks.kept import KeptPages


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


async def test_a_kept_inbox_page_is_served_until_something_it_shows_changes(platform):
    """Each web process keeps rendered pages while the user's summaries keep their version."""
    p = await platform(consumers=False)
    chat, read = services(p.kernel), Store(p.kernel.read)
    uncached = Chat(*p.kernel.runners(Store), KeptPages(0))
    for user, role in [("alice", "member"), ("bob", "member"), ("carol", "member"), ("club", "organization")]:
        await read.upsert_user(user, role, user.title(), user, None)
    await chat.send("alice", "club", "hello")
    await chat.send("bob", "club", "hi there")

    async def shown(user: str = "club") -> list[tuple]:
        items, total = await chat.inbox(user, 20, 0)
        fresh, fresh_total = await uncached.inbox(user, 20, 0)
        assert (items, total) == (fresh, fresh_total), "a kept page is the page the database gives"
        return [(i["otherParty"]["name"], i["lastMessage"]["preview"], i["unreadCount"]) for i in items]

    assert await shown() == [("Bob", "hi there", 1), ("Alice", "hello", 1)]
    assert len(chat.pages) == 1
    # Served from memory: a change made behind the plugin's back (no summary written) is not seen.
    conversations = p.kernel.read.collection("chat_conversations")
    await conversations.update_one({"participants": "bob"}, {"$set": {"last_message.preview": "edited"}})
    assert (await chat.inbox("club", 20, 0))[0][0]["lastMessage"]["preview"] == "hi there"
    assert (await uncached.inbox("club", 20, 0))[0][0]["lastMessage"]["preview"] == "edited"
    assert len(uncached.pages) == 0, "0 keeps none"

    # Everything the plugin changes on a page is shown at once.
    conversation = (await chat.inbox("club", 20, 0))[0][0]["id"]
    await chat.mark_read(conversation, "club")  # the reader's own unread count
    assert await shown() == [("Bob", "edited", 0), ("Alice", "hello", 1)]
    alice = (await chat.between("club", "alice", "club"))["id"]
    await chat.reply(alice, "alice", "still there?")  # a message
    assert await shown() == [("Alice", "still there?", 2), ("Bob", "edited", 0)]
    assert await shown("alice") == [("Club", "still there?", 0)]
    await p.kernel.transaction(lambda uow: Store(uow).upsert_user("alice", "member", "Alice B", "alice", None))
    assert await shown() == [("Alice B", "still there?", 2), ("Bob", "edited", 0)]  # the other party renamed
    await p.kernel.transaction(lambda uow: Store(uow).upsert_user("club", "organization", "The Club", "club", None))
    assert await shown("alice") == [("The Club", "still there?", 0)]
    await p.kernel.transaction(lambda uow: Store(uow).mark_deleted("bob"))  # the other party deleted
    assert await shown() == [("Alice B", "still there?", 2), ("Deleted user", "edited", 0)]
    await chat.send("carol", "club", "new here")  # a new conversation
    assert await shown() == [("Carol", "new here", 1), ("Alice B", "still there?", 2), ("Deleted user", "edited", 0)]
    assert (await chat.inbox("club", 20, 0))[1] == 3


async def test_pages_kept_per_process_default_to_1000_and_are_set_by_the_environment(platform, monkeypatch):
    assert ChatSettings().inbox_pages_kept == 1000  # README.md
    monkeypatch.setenv("EVENTONIGHT_CHAT_INBOX_PAGES_KEPT", "0")
    p = await platform(consumers=False)
    chat, read = services(p.kernel), Store(p.kernel.read)
    await read.upsert_user("alice", "member", "Alice", "alice", None)
    await read.upsert_user("club", "organization", "Club", "club", None)
    await chat.send("alice", "club", "hello")
    assert len((await chat.inbox("club", 20, 0))[0]) == 1
    assert chat.pages.size == 0 and len(chat.pages) == 0
