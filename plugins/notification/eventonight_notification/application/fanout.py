"""Turning domain events into stored notifications (runs inside the bus consumer's transaction)."""

from __future__ import annotations

from datetime import UTC, datetime

from eventonight_notification.domain import notifications as n
from eventonight_notification.infrastructure.store import Store, view


async def drafts_for(event_type: str, p: dict, store: Store) -> list[n.Draft]:
    """The notifications a domain event causes, with what a client needs to render them."""
    if event_type == "interactions.follow.created":
        users = await store.users([p["followerId"]])
        return [n.Draft(n.NEW_FOLLOWER, [p["followedId"]], {"actor": n.actor(users, p["followerId"])}, p["followerId"])]
    if event_type == "interactions.like.created":
        users = await store.users([p["userId"]])
        meta = {"actor": n.actor(users, p["userId"]), "event": n.event_brief(p["eventId"], p.get("eventTitle"))}
        return [n.Draft(n.EVENT_LIKED, [p.get("eventCreatorId")], meta, p["userId"])]
    if event_type == "interactions.review.created":
        users = await store.users([p["userId"]])
        meta = {
            "actor": n.actor(users, p["userId"]),
            "event": n.event_brief(p["eventId"], p.get("eventTitle")),
            "rating": p.get("rating"),
        }
        hosts = [p.get("eventCreatorId"), *(p.get("collaboratorIds") or [])]
        return [n.Draft(n.EVENT_REVIEWED, hosts, meta, p["userId"])]
    if event_type == "event.published":
        hosts = [p["creatorId"], *(p.get("collaboratorIds") or [])]
        users = await store.users([p["creatorId"]])
        meta = {
            "actor": n.actor(users, p["creatorId"]),
            "event": n.event_brief(p["eventId"], p.get("title"), p.get("date")),
        }
        # Followers of any host, and the co-hosts themselves.
        recipients = await store.followers_of(hosts) + list(p.get("collaboratorIds") or [])
        return [n.Draft(n.EVENT_PUBLISHED, recipients, meta, p["creatorId"])]
    if event_type == "chat.message.created":
        users = await store.users([p["senderId"]])
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


async def notify(event_type: str, payload: dict, store: Store, uow) -> int:
    """Store the notifications and record one ``notification.created`` per recipient for the live streams."""
    now = datetime.now(UTC)
    docs = [
        {"user_id": user_id, "type": draft.type, "metadata": draft.metadata, "read": False, "created_at": now}
        for draft in await drafts_for(event_type, payload, store)
        for user_id in draft.targets()
    ]
    await store.insert(docs)
    for doc in docs:
        unread = await store.unread_count(doc["user_id"])
        await uow.record(
            n.NOTIFICATION_CREATED, {"userId": doc["user_id"], "notification": view(doc), "unreadCount": unread}
        )
    return len(docs)
