"""Conversations keep their parties (name, avatar…) for the inbox, and no rename is left behind."""

import asyncio

from eventonight_chat.application.chat import Chat
from eventonight_chat.infrastructure.store import PARTIES_KEPT, Store
from eventonight_chat.plugin import services


class Gate:
    """Holds the first transaction that reaches it until the test lets it go."""

    def __init__(self) -> None:
        self.reached, self.go, self.used = asyncio.Event(), asyncio.Event(), False

    async def hold(self) -> None:
        if not self.used:
            self.used = True
            self.reached.set()
            await self.go.wait()


def rename(kernel, name: str):
    # What the chat consumer does with a user.updated event, in its own transaction.
    return kernel.transaction(lambda uow: Store(uow).upsert_user("club", "organization", name, "club", None))


async def names_shown(kernel, chat: Chat) -> tuple[str, str]:
    items, _ = await chat.inbox("alice", 20, 0)
    kept = await kernel.read.collection("chat_conversations").find_one({"participants": "alice"})
    return items[0]["otherParty"]["name"], kept["parties"]["club"]["name"]


async def two_users(kernel) -> None:
    store = Store(kernel.read)
    await store.upsert_user("alice", "member", "Alice", "alice", None)
    await store.upsert_user("club", "organization", "Club", "club", None)


async def test_the_inbox_shows_parties_kept_on_conversations_through_renames_and_deletion(platform):
    p = await platform(consumers=False)
    await two_users(p.kernel)
    chat = services(p.kernel)
    await chat.send("alice", "club", "hello")
    assert await names_shown(p.kernel, chat) == ("Club", "Club")
    await rename(p.kernel, "Club Nights")
    assert await names_shown(p.kernel, chat) == ("Club Nights", "Club Nights")
    conversation = (await chat.inbox("alice", 20, 0))[0][0]
    assert (await chat.conversation(conversation["id"], "alice"))["otherParty"]["name"] == "Club Nights"
    await p.kernel.transaction(lambda uow: Store(uow).mark_deleted("alice"))
    shown = (await chat.inbox("club", 20, 0))[0][0]["otherParty"]
    assert (shown["name"], shown["deleted"], shown["username"]) == ("Deleted user", True, None)


async def test_a_conversation_created_while_its_party_is_renamed_shows_the_new_name(platform):
    """The new conversation read the old name; the rename, committed before it, could not see it."""
    p = await platform(consumers=False)
    await two_users(p.kernel)
    gate = Gate()

    class HeldAfterReadingTheClub(Store):
        async def user(self, user_id):
            found = await super().user(user_id)
            if user_id == "club":
                await gate.hold()
            return found

    chat = Chat(*p.kernel.runners(HeldAfterReadingTheClub))
    sending = asyncio.create_task(chat.send("alice", "club", "hello"))
    await gate.reached.wait()
    await rename(p.kernel, "Club Nights")
    gate.go.set()
    await sending
    assert await names_shown(p.kernel, chat) == ("Club Nights", "Club Nights")


async def test_a_rename_running_while_a_conversation_is_created_reaches_it(platform):
    """The rename's update of the conversations began before the new one committed."""
    p = await platform(consumers=False)
    await two_users(p.kernel)
    gate = Gate()

    class HeldBeforeTheConversations(Store):
        async def _set_party(self, user_id, shown):
            await gate.hold()
            await super()._set_party(user_id, shown)

    renaming = asyncio.create_task(
        p.kernel.transaction(
            lambda uow: HeldBeforeTheConversations(uow).upsert_user("club", "organization", "Club Nights", "club", None)
        )
    )
    await gate.reached.wait()
    chat = services(p.kernel)
    await chat.send("alice", "club", "hello")  # reads the committed name: the rename is not yet
    gate.go.set()
    await renaming
    assert await names_shown(p.kernel, chat) == ("Club Nights", "Club Nights")


async def test_conversations_stored_before_parties_were_kept_get_them_once_without_undoing_a_rename(platform):
    p = await platform(consumers=False)
    await two_users(p.kernel)
    await Store(p.kernel.read).upsert_user("bob", "member", "Bob", "bob", None)
    chat = services(p.kernel)
    await chat.send("alice", "club", "hello")
    await chat.send("bob", "club", "hi")
    conversations = p.kernel.read.collection("chat_conversations")
    inboxes = p.kernel.read.collection("chat_inboxes")
    # As the previous version stored them: no parties, no marker.
    await conversations.update_many({}, {"$unset": {"parties": ""}})
    await inboxes.delete_one({"_id": PARTIES_KEPT})
    # Shown from the users meanwhile.
    assert {i["otherParty"]["name"] for i in (await chat.inbox("club", 20, 0))[0]} == {"Alice", "Bob"}
    # One conversation keeps one of its parties already (a rename reached it): the other is filled.
    await conversations.update_one({"participants": "alice"}, {"$set": {"parties.alice": {"name": "Alice A."}}})
    gate = Gate()

    class HeldAfterReadingUsers(Store):
        async def users(self, ids):
            found = await super().users(ids)
            await gate.hold()
            return found

    backfilling = asyncio.create_task(HeldAfterReadingUsers(p.kernel.read).backfill_parties())
    await gate.reached.wait()
    await p.kernel.transaction(lambda uow: Store(uow).upsert_user("bob", "member", "Bobby", "bob", None))
    gate.go.set()
    assert await backfilling is True
    assert await Store(p.kernel.read).backfill_parties() is False, "once"
    # Two processes starting together both backfill; neither fails on the other's marker.
    await inboxes.delete_one({"_id": PARTIES_KEPT})
    assert await asyncio.gather(*(Store(p.kernel.read).backfill_parties() for _ in range(2))) == [True, True]
    kept = {d["participants"][0]: d["parties"] async for d in conversations.find({})}
    assert kept["alice"]["alice"]["name"] == "Alice A." and kept["alice"]["club"]["name"] == "Club"
    # What the backfill read of Bob before his rename did not undo the rename.
    assert kept["bob"]["bob"]["name"] == "Bobby" and kept["bob"]["club"]["name"] == "Club"
    assert {i["otherParty"]["name"] for i in (await chat.inbox("club", 20, 0))[0]} == {"Alice A.", "Bobby"}
