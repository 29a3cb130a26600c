"""Chat use cases: send, list, search, read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from bson.errors import InvalidId

from eventonight.hooks.kept import KeptPages
from eventonight_chat.domain.rules import (
    MESSAGE_CREATED,
    DomainError,
    NotFound,
    check_may_open,
    clean_content,
    pair_key,
    preview,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _party(users: dict, user_id: str) -> dict:
    user = users.get(user_id)
    if user is None or user.get("deleted"):
        return {
            "userId": user_id,
            "name": "Deleted user",
            "username": None,
            "avatarUrl": None,
            "role": None,
            "deleted": True,
        }
    return {
        "userId": user_id,
        "name": user.get("name") or user.get("username"),
        "username": user.get("username"),
        "avatarUrl": user.get("avatar_url"),
        "role": user.get("role"),
        "deleted": False,
    }


class Chat:
    def __init__(self, transaction, direct, pages: KeptPages | None = None) -> None:
        self.transaction = transaction
        self.direct = direct
        self.pages = pages if pages is not None else KeptPages(0)

    async def send(self, sender_id: str, recipient_id: str, content: str) -> dict:
        text = clean_content(content)
        if sender_id == recipient_id:
            raise DomainError("you cannot message yourself", "recipientId")

        async def work(store, uow):
            sender = await store.user(sender_id)
            recipient = await store.user(recipient_id)
            if sender is None:
                raise NotFound("your account is not known to chat yet; try again in a moment")
            pair = pair_key(sender_id, recipient_id)
            conversation = await store.conversation_by_pair(pair)
            recipient_role = None if recipient is None or recipient.get("deleted") else recipient["role"]
            check_may_open(sender["role"], recipient_role, conversation is not None)
            now, new = _now(), conversation is None
            if new:
                conversation = {
                    "_id": uuid4().hex,
                    "pair": pair,
                    "participants": sorted((sender_id, recipient_id)),
                    "last_message": None,
                    "unread": {sender_id: 0, recipient_id: 0},
                    "last_read": {},
                    "created_at": now,
                    "updated_at": now,
                }
                await store.insert_conversation(conversation, [sender, recipient])
            return await self._post(store, uow, conversation, sender_id, recipient_id, text, now, new=new)

        return await self.transaction(work)

    async def reply(self, conversation_id: str, sender_id: str, content: str) -> dict:
        text = clean_content(content)

        async def work(store, uow):
            conversation = await self._own(store, conversation_id, sender_id)
            recipient_id = next(p for p in conversation["participants"] if p != sender_id)
            recipient = await store.user(recipient_id)
            if recipient is None or recipient.get("deleted"):
                raise DomainError("the other party has deleted their account", "conversationId")
            return await self._post(store, uow, conversation, sender_id, recipient_id, text, _now())

        return await self.transaction(work)

    async def _post(self, store, uow, conversation, sender_id, recipient_id, text, now, new=False) -> dict:
        message = {
            "conversation_id": conversation["_id"],
            "sender_id": sender_id,
            "recipient_id": recipient_id,
            "content": text,
            "created_at": now,
        }
        message_id = await store.insert_message(message)
        last = {"messageId": message_id, "senderId": sender_id, "preview": preview(text), "at": now}
        # One transaction: the message, the conversation's preview and unread counter, the outbox record.
        await store.on_message(conversation, last, recipient_id, now, new=new)
        await uow.record(
            MESSAGE_CREATED,
            {
                "conversationId": conversation["_id"],
                "messageId": message_id,
                "senderId": sender_id,
                "recipientId": recipient_id,
                "preview": preview(text),
            },
        )
        return {
            "conversationId": conversation["_id"],
            "message": {"id": message_id, "senderId": sender_id, "content": text, "createdAt": now, "read": False},
        }

    async def _own(self, store, conversation_id: str, user_id: str) -> dict:
        conversation = await store.conversation(conversation_id)
        if conversation is None or user_id not in conversation["participants"]:
            raise NotFound("conversation not found")  # the same answer for strangers: ids leak nothing
        return conversation

    @staticmethod
    def _other(conversation: dict, viewer: str) -> str:
        return next(p for p in conversation["participants"] if p != viewer)

    @classmethod
    def _unkept(cls, conversations: list[dict], viewer: str) -> list[str]:
        """Other parties not kept on their conversation (stored before parties were, not backfilled yet)."""
        others = [(c, cls._other(c, viewer)) for c in conversations]
        return [o for c, o in others if o not in c.get("parties", {})]

    async def _render(self, store, conversation: dict, viewer: str, users: dict | None = None) -> dict:
        other = self._other(conversation, viewer)
        kept = conversation.get("parties", {})
        if users is None:
            users = await store.users(self._unkept([conversation], viewer))
        return {
            "id": conversation["_id"],
            "otherParty": _party(kept if other in kept else users, other),
            "lastMessage": conversation.get("last_message"),
            "unreadCount": int(conversation.get("unread", {}).get(viewer, 0)),
            "createdAt": conversation["created_at"],
            "updatedAt": conversation["updated_at"],
        }

    async def inbox(self, user_id: str, limit: int, offset: int, search: str | None = None):
        async def work(store, _):
            if search is not None:
                docs, total = await store.conversations_with(user_id, await store.users_matching(search), limit, offset)
                return await self._render_all(store, docs, user_id), total
            summary, key = await store.inbox_summary(user_id), (user_id, limit, offset)
            kept = self.pages.get(key, summary.version) if summary.version else None
            if kept is None:
                kept = await self._render_all(store, await store.inbox(user_id, limit, offset, summary), user_id)
                if summary.version:  # no summaries yet: nothing to tell a later change by
                    self.pages.put(key, summary.version, kept)
            return kept, summary.total

        return await self.direct(work)

    async def _render_all(self, store, docs: list[dict], viewer: str) -> list[dict]:
        # Parties are kept on conversations; any that is not is read for the whole page at once.
        users = await store.users(self._unkept(docs, viewer))
        return [await self._render(store, d, viewer, users) for d in docs]

    async def new_contacts(self, user_id: str, query: str, limit: int = 10) -> list[dict]:
        """Organizations matching ``query`` the user has no conversation with yet (anyone may write
        to an organization): a search finds whom to write to, not only whom one wrote to."""

        async def work(store, _):
            found = [d for d in await store.organizations_matching(query, limit + 50) if d["_id"] != user_id]
            known = await store.partners_of(user_id, [d["_id"] for d in found])
            users = {d["_id"]: d for d in found}
            return [_party(users, d["_id"]) for d in found if d["_id"] not in known][:limit]

        return await self.direct(work)

    async def messages_between(
        self, a: str, b: str, viewer: str, limit: int, before: str | None, offset: int = 0
    ) -> dict[str, Any]:
        """The messages of the conversation between ``a`` and ``b``, for either of them, in one call."""
        conversation = await self.between(a, b, viewer)
        return {"conversation": conversation,
                **await self.read_messages(conversation["id"], viewer, limit, before, offset)}  # fmt: skip

    async def conversation(self, conversation_id: str, user_id: str) -> dict:
        async def work(store, _):
            return await self._render(store, await self._own(store, conversation_id, user_id), user_id)

        return await self.direct(work)

    async def between(self, a: str, b: str, viewer: str) -> dict:
        if viewer not in (a, b):
            raise NotFound("conversation not found")

        async def work(store, _):
            conversation = await store.conversation_by_pair(pair_key(a, b))
            if conversation is None:
                raise NotFound("conversation not found")
            return await self._render(store, conversation, viewer)

        return await self.direct(work)

    async def read_messages(
        self, conversation_id: str, user_id: str, limit: int, before: str | None, offset: int = 0
    ) -> dict[str, Any]:
        """A page of messages, newest first (``before`` a message id, and/or ``offset``). Reading
        changes nothing: marking read is ``mark_read`` (a prefetch or a second tab must not)."""

        async def work(store, _):
            conversation = await self._own(store, conversation_id, user_id)
            try:
                messages = await store.messages(conversation_id, limit + 1, before, offset)
            except InvalidId as exc:
                raise DomainError("before must be a message id", "before") from exc
            has_more = len(messages) > limit
            messages = messages[:limit]
            total = await store.count_messages(conversation_id)
            return {"items": [self._message(m, conversation) for m in messages], "limit": limit, "offset": offset,
                    "total": total, "hasMore": has_more,
                    "nextBefore": str(messages[-1]["_id"]) if has_more else None}  # fmt: skip

        return await self.direct(work)

    @staticmethod
    def _message(message: dict, conversation: dict) -> dict:
        read_up_to = conversation.get("last_read", {}).get(message["recipient_id"])
        return {
            "id": str(message["_id"]),
            "senderId": message["sender_id"],
            "content": message["content"],
            "createdAt": message["created_at"],
            "read": read_up_to is not None and str(message["_id"]) <= read_up_to,
        }

    async def mark_read(self, conversation_id: str, user_id: str) -> None:
        async def work(store, _):
            conversation = await self._own(store, conversation_id, user_id)
            last = conversation.get("last_message") or {}
            await store.mark_read(conversation_id, user_id, last.get("messageId"))

        await self.transaction(work)

    async def unread_total(self, user_id: str) -> int:
        return await self.direct(lambda store, _: store.unread_total(user_id))
