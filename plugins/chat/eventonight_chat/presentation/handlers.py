"""HTTP handlers of ``/api/chat``: every ``{userId}`` route is the owner's only."""

from __future__ import annotations

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from eventonight.hooks.http import Page, json_response, page_params, parse_body, require_owner, require_user
from eventonight_chat.domain.rules import DomainError

BASE = "/api/chat"


class FirstMessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    recipient_id: str = Field(alias="recipientId", min_length=1, max_length=100)
    content: str = Field(max_length=10_000)


class MessageBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(max_length=10_000)


class ChatApi:
    def __init__(self, services) -> None:
        self.chat = services

    def routes(self) -> list[web.RouteDef]:
        u = f"{BASE}/users/{{userId}}"
        c = f"{u}/conversations/{{conversationId}}"
        return [
            web.post(f"{u}/conversations", self.start),
            web.get(f"{u}/conversations", self.inbox),
            web.get(f"{u}/conversations/search", self.search),
            web.get(c, self.conversation),
            web.get(f"{c}/messages", self.messages),
            web.post(f"{c}/messages", self.send),
            web.patch(f"{c}/read", self.read),
            web.get(f"{u}/unread/count", self.unread),
            web.get(f"{BASE}/conversations/{{organizationId}}/{{otherUserId}}", self.between),
            web.get(f"{BASE}/conversations/{{organizationId}}/{{otherUserId}}/messages", self.between_messages),
        ]

    async def _owner(self, request: web.Request) -> str:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        return user_id

    async def start(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        body = await parse_body(request, FirstMessageBody)
        return json_response(await self.chat.send(user_id, body.recipient_id, body.content), status=201)

    async def send(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        body = await parse_body(request, MessageBody)
        return json_response(
            await self.chat.reply(request.match_info["conversationId"], user_id, body.content), status=201
        )

    async def inbox(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        limit, offset = page_params(request)
        items, total = await self.chat.inbox(user_id, limit, offset)
        return json_response(Page(items, limit=limit, offset=offset, total=total))

    async def search(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        limit, offset = page_params(request)
        query = request.query.get("q", "").strip()
        if not 1 <= len(query) <= 100:
            raise DomainError("q must be 1-100 characters")
        items, total = await self.chat.inbox(user_id, limit, offset, search=query)
        contacts = await self.chat.new_contacts(user_id, query) if offset == 0 else []
        return json_response({**Page(items, limit=limit, offset=offset, total=total), "newContacts": contacts})

    async def conversation(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        return json_response(await self.chat.conversation(request.match_info["conversationId"], user_id))

    async def messages(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        limit, offset = page_params(request, default=30)
        before = request.query.get("before") or None
        return json_response(
            await self.chat.read_messages(request.match_info["conversationId"], user_id, limit, before, offset)
        )

    async def read(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        await self.chat.mark_read(request.match_info["conversationId"], user_id)
        return web.Response(status=204)

    async def unread(self, request: web.Request) -> web.Response:
        user_id = await self._owner(request)
        return json_response({"unread": await self.chat.unread_total(user_id)})

    async def between_messages(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        m = request.match_info
        limit, offset = page_params(request, default=30)
        before = request.query.get("before") or None
        return json_response(
            await self.chat.messages_between(
                m["organizationId"], m["otherUserId"], caller.user_id, limit, before, offset
            )
        )

    async def between(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        m = request.match_info
        return json_response(await self.chat.between(m["organizationId"], m["otherUserId"], caller.user_id))
