"""Local copies of users and events; participations from ticketing; cascades on deletion."""

from __future__ import annotations

from datetime import datetime

from eventonight.hooks import Consumer
from eventonight_interactions.domain import events as de
from eventonight_interactions.domain.rules import KnownEvent
from eventonight_interactions.infrastructure.store import Store


def _date(value) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def consumers(kernel) -> list[Consumer]:
    def store(uow) -> Store:
        return Store(uow)

    async def users(event, uow):
        p = event.payload
        if event.event_type == de.USER_DELETED:
            # Every like and follow that goes is announced, in this transaction: the counters other
            # plugins keep of them (an event's likes, popularity, follower copies) stay exact.
            likes, follows = await store(uow).removals_of_user(p["userId"])
            removed = [
                *((de.LIKE_DELETED, {"eventId": e, "userId": p["userId"], "eventCreatorId": c}) for e, c in likes),
                *((de.FOLLOW_DELETED, {"followerId": a, "followedId": b}) for a, b in follows),
            ]
            if removed:
                await uow.record_many(removed)
            await store(uow).forget_user(p["userId"])
        else:
            await store(uow).upsert_user(p["userId"], p.get("role", "member"), p.get("name", ""), p.get("avatarUrl"))

    async def events(event, uow):
        p = event.payload
        if event.event_type == de.EVENT_DELETED:
            await store(uow).forget_event(p["eventId"])
            return
        known = KnownEvent(
            p["eventId"],
            p.get("title") or "",
            _date(p.get("date")),
            p["creatorId"],
            list(p.get("collaboratorIds") or []),
            p["status"],
        )
        await store(uow).upsert_event(known)

    async def orders(event, uow):
        p = event.payload
        if event.event_type == de.ORDER_CONFIRMED:
            await store(uow).add_order(p["userId"], p["eventId"], p["orderId"], event.occurred_at)
        else:
            await store(uow).remove_order(p["userId"], p["eventId"], p["orderId"])

    return [
        Consumer("users", (de.USER_CREATED, de.USER_UPDATED, de.USER_DELETED), users),
        Consumer("events", (*de.EVENT_TYPES, de.EVENT_DELETED), events),
        Consumer("orders", (de.ORDER_CONFIRMED, de.ORDER_CANCELLED), orders),
    ]
