"""Hook implementations of the chat plugin (entry point ``chat``)."""

from __future__ import annotations

from eventonight.hooks import Consumer, hookimpl
from eventonight.hooks.http import fragment_from_routes
from eventonight.hooks.kept import KeptPages
from eventonight_chat.application.chat import Chat
from eventonight_chat.infrastructure.settings import ChatSettings
from eventonight_chat.infrastructure.store import INDEXES, Store
from eventonight_chat.presentation.handlers import ChatApi, FirstMessageBody, MessageBody

HOOK_API_VERSION = 1
NAME = "chat"


def services(kernel) -> Chat:
    def build() -> Chat:
        settings = kernel.plugin_settings.get(NAME) or ChatSettings()
        return Chat(*kernel.runners(Store), KeptPages(settings.inbox_pages_kept))

    return kernel.plugin_service(NAME, build)


@hookimpl
def eventonight_settings():
    return ChatSettings


@hookimpl
def eventonight_indexes():
    return INDEXES


@hookimpl
async def eventonight_startup(kernel):
    # Conversations stored before their participants' inbox summaries (and parties) were kept.
    await Store(kernel.read).backfill_inboxes()
    await Store(kernel.read).backfill_parties()


@hookimpl
def eventonight_routes(kernel):
    return ChatApi(services(kernel)).routes()


@hookimpl
def eventonight_openapi(kernel):
    from eventonight_chat.presentation import openapi

    return fragment_from_routes(
        ChatApi(services(kernel)).routes(),
        tag="chat",
        summaries={
            "start": "First message to a recipient (creates the conversation or appends to it)",
            "inbox": "The user's conversations, newest activity first",
            "messages": "Messages newest first (limit, offset, before=<messageId>); reading changes nothing: "
            "PATCH …/read marks them read",
            "between": "The conversation between an organization and a user, for either of them",
            "between_messages": "That conversation with a page of its messages (limit, offset, before), in one call",
            "search": "Conversations by the other party's name or username (query: q), and newContacts: "
            "organizations matching q not written to yet",
        },
        bodies={"start": FirstMessageBody, "send": MessageBody},
        paginated={"inbox", "search", "messages", "between_messages"},
        responses=openapi.RESPONSES,
        private=openapi.PRIVATE,
        statuses={"read": 204},
        schemas=openapi.SCHEMAS,
    )


@hookimpl
def eventonight_consumers(kernel):
    async def users(event, uow):
        store, p = Store(uow), event.payload
        if event.event_type == "user.deleted":
            await store.mark_deleted(p["userId"])  # messages stay; the party shows as a deleted user
        else:
            await store.upsert_user(
                p["userId"], p.get("role", "member"), p.get("name", ""), p.get("username", ""), p.get("avatarUrl")
            )

    return [Consumer("users", ("user.created", "user.updated", "user.deleted"), users)]
