"""Hook implementations of the notification plugin (entry point ``notification``)."""

from __future__ import annotations

from eventonight.hooks import Consumer, hookimpl
from eventonight.hooks.http import ANY_OBJECT, BOOLEAN, DATETIME, INTEGER, STRING, fragment_from_routes, obj, page_of
from eventonight_notification.application.fanout import notify
from eventonight_notification.infrastructure.settings import NotificationSettings
from eventonight_notification.infrastructure.store import INDEXES, RETIRED_INDEXES, Store
from eventonight_notification.presentation.handlers import NotificationsApi
from eventonight_notification.presentation.live import Hub

HOOK_API_VERSION = 1
#: Kept as local copies: users' names and avatars, and who follows whom.
COPIED = (
    "user.created",
    "user.updated",
    "user.deleted",
    "interactions.follow.created",
    "interactions.follow.deleted",
)
NAME = "notification"
TRIGGERS = (
    "interactions.follow.created",
    "interactions.like.created",
    "interactions.review.created",
    "event.published",
    "event.cancelled",
    "chat.message.created",
    "ticketing.order.confirmed",
    "ticketing.order.cancelled",
)


def hub(kernel) -> Hub:
    return kernel.plugin_service(NAME, lambda: Hub(kernel))


def api(kernel) -> NotificationsApi:
    settings = kernel.plugin_settings.get(NAME) or NotificationSettings()
    return NotificationsApi(kernel, hub(kernel), settings.pages_kept)


@hookimpl
def eventonight_settings():
    return NotificationSettings


@hookimpl
def eventonight_indexes():
    return INDEXES


@hookimpl
def eventonight_retired_indexes():
    return RETIRED_INDEXES


@hookimpl
def eventonight_routes(kernel):
    return api(kernel).routes()


@hookimpl
def eventonight_openapi(kernel):
    return fragment_from_routes(
        api(kernel).routes(),
        tag="notifications",
        summaries={
            "listing": "The caller's notifications, newest first (query: unread=true)",
            "stream": "Live server-sent events: notification, unread-count, presence; Last-Event-ID resumes; "
            "a bearer header, or for EventSource a single-use ?ticket= (POST /api/notifications/stream-tickets)",
            "stream_ticket": "A single-use ticket (30 s) that opens the stream: no token in a URL",
            "read_one": "Mark one notification read",
            "read_all": "Mark all read",
            "is_online": "Is the user connected to a live stream",
        },
        bodies={},
        paginated={"listing"},
        responses={
            "listing": page_of(
                obj(
                    {
                        "id": STRING,
                        "userId": STRING,
                        "type": STRING,
                        "metadata": ANY_OBJECT,
                        "read": BOOLEAN,
                        "createdAt": DATETIME,
                    }
                )
            ),
            "unread_count": obj({"unread": INTEGER}),
            "stream_ticket": obj({"ticket": STRING, "expiresIn": INTEGER, "streamUrl": STRING}),
            "read_all": obj({"updated": INTEGER}),
            "is_online": obj({"userId": STRING, "online": BOOLEAN}),
        },
        binary={"stream": "text/event-stream"},
        statuses={"read_all": 200, "read_one": 204},
        private={"listing", "unread_count", "stream", "is_online"},
    )


@hookimpl
async def eventonight_startup(kernel):
    # Unread counters for notifications stored before they were kept (once).
    await kernel.transaction(lambda uow: Store(uow).backfill_unread())
    await hub(kernel).start()


@hookimpl
def eventonight_committed(events, kernel):
    # A notification stored by this process goes to its streams at once; the broker's copy follows.
    hub(kernel).committed(events)


@hookimpl
def eventonight_draining(kernel):
    hub(kernel).drain()


@hookimpl
async def eventonight_shutdown(kernel):
    await hub(kernel).stop()


@hookimpl
def eventonight_consumers(kernel):
    async def copies(events, uow):
        s, follows = Store(uow), []
        for event in events:
            p = event.payload
            if event.event_type.startswith("interactions.follow."):
                follows.append((p["followerId"], p["followedId"], event.event_type.endswith("created")))
                continue
            await s.apply_follows(follows)  # in order: a user's deletion comes after their earlier follows
            follows = []
            if event.event_type == "user.deleted":
                await s.forget_user(p["userId"])
            else:
                await s.upsert_user(p["userId"], p.get("name", ""), p.get("avatarUrl"))
        await s.apply_follows(follows)

    async def copies_then_notify(events, uow):
        # One consumer, so one processed-message marker per message instead of one per step.
        await copies([e for e in events if e.event_type in COPIED], uow)
        await notify([(e.event_type, e.payload) for e in events if e.event_type in TRIGGERS], Store(uow), uow)

    # Copies first: a notification sees the follows and names its batch brought.
    return [Consumer("notifications", tuple(dict.fromkeys((*COPIED, *TRIGGERS))), copies_then_notify, batch=True)]
