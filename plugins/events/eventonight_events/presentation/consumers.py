"""Bus consumers: local copies of users, interests, follows, likes, ticket sales and prices."""

from __future__ import annotations

from eventonight.hooks import Consumer
from eventonight_events.domain import events as de
from eventonight_events.infrastructure.wiring import EventsServices, repos_for

USERS = (de.USER_CREATED, de.USER_UPDATED, de.USER_DELETED, de.USER_INTERESTS_UPDATED)
FOLLOWS = (de.FOLLOW_CREATED, de.FOLLOW_DELETED)


def consumers(services: EventsServices) -> list[Consumer]:
    async def users(event, uow):
        repos, p = repos_for(uow), event.payload
        if event.event_type == de.USER_DELETED:
            await services.commands.user_deleted(repos, p["userId"])
        elif event.event_type == de.USER_INTERESTS_UPDATED:
            await repos.directory.set_interests(p["userId"], list(p.get("interests") or []))
        else:
            await repos.directory.upsert_user(
                p["userId"], p.get("role", "member"), p.get("name", ""), p.get("avatarUrl")
            )

    async def directory(events, uow):
        # Users and follows in one batch consumer, in message order (a user's deletion removes
        # their follows, so it must come after those it followed); the follows between two user
        # messages go in one bulk write, not a write per follow.
        repos, follows = repos_for(uow), []
        for event in events:
            p = event.payload
            if event.event_type in FOLLOWS:
                follows.append((p["followerId"], p["followedId"], event.event_type == de.FOLLOW_CREATED))
                continue
            await repos.directory.apply_follows(follows)
            follows = []
            await users(event, uow)
        await repos.directory.apply_follows(follows)

    async def likes(event, uow):
        repos, p = repos_for(uow), event.payload
        delta = 1 if event.event_type == de.LIKE_CREATED else -1
        await repos.events.add_likes(p["eventId"], delta)
        await repos.directory.add_activity(p["eventId"], delta, event.occurred_at)

    async def tickets(event, uow):
        repos, p = repos_for(uow), event.payload
        if event.event_type == de.ORDER_CONFIRMED:
            count = int(p.get("ticketCount", 1))
        elif event.event_type == de.ORDER_CANCELLED:
            count = -int(p.get("ticketCount", 0))  # the order's tickets that were cancelled
        else:  # a partial refund: the tickets cancelled this time
            count = -int(p.get("cancelledCount", 0))
        if count:
            await repos.events.add_tickets(p["eventId"], count)
            await repos.directory.add_activity(p["eventId"], count, event.occurred_at)

    async def prices(event, uow):
        p = event.payload
        lowest = p.get("lowestPrice")
        await repos_for(uow).events.set_price(
            p["eventId"], float(lowest) if lowest is not None else None, p.get("currency")
        )

    async def posters(event, uow):
        # Uploads made through /api/media directly reach the event this way.
        p = event.payload
        if p.get("kind") != "poster":
            return
        url = p.get("url") if event.event_type == de.MEDIA_STORED else None
        await services.commands.set_poster(p["entityId"], url, repos=repos_for(uow))

    return [
        Consumer("posters", (de.MEDIA_STORED, de.MEDIA_DELETED), posters),
        Consumer("directory", (*USERS, *FOLLOWS), directory, batch=True),
        Consumer("likes", (de.LIKE_CREATED, de.LIKE_DELETED), likes),
        Consumer("tickets", (de.ORDER_CONFIRMED, de.ORDER_CANCELLED, de.ORDER_CHANGED), tickets),
        Consumer("prices", (de.PRICES_CHANGED,), prices),
    ]
