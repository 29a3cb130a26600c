"""Turning domain events into stored notifications (runs inside the bus consumer's transaction)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from eventonight_notification.domain import notifications as n
from eventonight_notification.infrastructure.store import Store, view

#: Who acted, per event type: their local copy gives a notification its name and avatar.
ACTOR_FIELDS = {
    "interactions.follow.created": "followerId",
    "interactions.like.created": "userId",
    "interactions.review.created": "userId",
    "event.published": "creatorId",
    "chat.message.created": "senderId",
}


async def drafts_for(event_type: str, p: dict, store: Store, users: dict[str, dict]) -> list[n.Draft]:
    """The notifications a domain event causes, with what a client needs to render them.

    ``users`` holds the local copies of the actors (see :data:`ACTOR_FIELDS`).
    """
    if event_type == "interactions.follow.created":
        return [n.Draft(n.NEW_FOLLOWER, [p["followedId"]], {"actor": n.actor(users, p["followerId"])}, p["followerId"])]
    if event_type == "interactions.like.created":
        meta = {"actor": n.actor(users, p["userId"]), "event": n.event_brief(p["eventId"], p.get("eventTitle"))}
        return [n.Draft(n.EVENT_LIKED, [p.get("eventCreatorId")], meta, p["userId"])]
    if event_type == "interactions.review.created":
        meta = {
            "actor": n.actor(users, p["userId"]),
            "event": n.event_brief(p["eventId"], p.get("eventTitle")),
            "rating": p.get("rating"),
        }
        hosts = [p.get("eventCreatorId"), *(p.get("collaboratorIds") or [])]
        return [n.Draft(n.EVENT_REVIEWED, hosts, meta, p["userId"])]
    if event_type == "event.published":
        hosts = [p["creatorId"], *(p.get("collaboratorIds") or [])]
        meta = {
            "actor": n.actor(users, p["creatorId"]),
            "event": n.event_brief(p["eventId"], p.get("title"), p.get("date")),
        }
        # Followers of any host, and the co-hosts themselves.
        recipients = await store.followers_of(hosts) + list(p.get("collaboratorIds") or [])
        return [n.Draft(n.EVENT_PUBLISHED, recipients, meta, p["creatorId"])]
    if event_type == "chat.message.created":
        meta = {
            "actor": n.actor(users, p["senderId"]),
            "conversationId": p["conversationId"],
            "messageId": p["messageId"],
            "preview": p.get("preview"),
        }
        return [n.Draft(n.CHAT_MESSAGE, [p["recipientId"]], meta, p["senderId"])]
    if event_type == "ticketing.order.confirmed":
        await store.add_holder(p["eventId"], p["userId"], p["orderId"])
        meta = {
            "event": n.event_brief(p["eventId"], p.get("eventTitle")),
            "orderId": p["orderId"],
            "ticketCount": p.get("ticketCount"),
        }
        return [n.Draft(n.TICKET_CONFIRMED, [p["userId"]], meta)]
    if event_type == "ticketing.order.cancelled":
        await store.remove_holder_order(p["eventId"], p["userId"], p["orderId"])
        return []
    if event_type == "event.cancelled":
        meta = {"event": n.event_brief(p["eventId"], p.get("title"), p.get("date"))}
        return [n.Draft(n.EVENT_CANCELLED, await store.holders(p["eventId"]), meta, p.get("creatorId"))]
    return []


async def notify(events: list[tuple[str, dict]], store: Store, uow) -> int:
    """Store the notifications ``events`` cause and record one ``notification.created`` per recipient.

    Built for a batch of events in one transaction: one read of the actors, one insert,
    one read and one update of the unread counters and one outbox write, whatever the batch size.
    """
    now = datetime.now(UTC)
    # As stored (BSON keeps milliseconds): the live frame shows the time the listing will.
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    actors = {p.get(ACTOR_FIELDS[t]) for t, p in events if t in ACTOR_FIELDS}
    users = await store.users([a for a in actors if isinstance(a, str) and a])
    docs = [
        {"user_id": user_id, "type": draft.type, "metadata": draft.metadata, "read": False, "created_at": now}
        for event_type, payload in events
        for draft in await drafts_for(event_type, payload, store, users)
        for user_id in draft.targets()
    ]
    if not docs:
        return 0
    await store.insert(docs)
    later = Counter(doc["user_id"] for doc in docs)
    unread = await store.add_unread(dict(later))
    # Each record carries the count as it stood right after its own notification.
    records = []
    for doc in docs:
        later[doc["user_id"]] -= 1
        count = unread.get(doc["user_id"], 0) - later[doc["user_id"]]
        records.append(
            (n.NOTIFICATION_CREATED, {"userId": doc["user_id"], "notification": view(doc), "unreadCount": count})
        )
    await uow.record_many(records)
    return len(docs)
