"""Use cases of the interactions plugin: commands record domain events; queries enrich with local copies."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from eventonight.hooks.kept import KeptPages
from eventonight_interactions.domain import events as de
from eventonight_interactions.domain.rules import (
    DomainError,
    Forbidden,
    KnownEvent,
    NotFound,
    check_follow,
    check_likeable,
    check_rating,
    check_reviewable,
    statistics,
)

Work = Callable[[Any], Awaitable[Any]]  # work(store, uow) in a transaction; work(store, kernel.read) outside


def _now() -> datetime:
    return datetime.now(UTC)


def _party(users: dict[str, dict], user_id: str | None) -> dict:
    user = users.get(user_id) if user_id else None
    if user is None:
        return {"userId": user_id, "name": "Deleted user" if user_id is None else None, "avatarUrl": None}
    return {"userId": user_id, "name": user.get("name"), "avatarUrl": user.get("avatar_url"), "role": user.get("role")}


def _event_brief(events: dict[str, dict], event_id: str) -> dict:
    event = events.get(event_id) or {}
    return {"eventId": event_id, "title": event.get("title"), "date": event.get("date"), "status": event.get("status")}


class Interactions:
    def __init__(
        self,
        transaction: Callable[[Work], Awaitable[Any]],
        direct: Callable[[Work], Awaitable[Any]],
        pages: KeptPages | None = None,
    ) -> None:
        self.transaction = transaction
        self.direct = direct
        #: Pages of likes and follows served again while their counters' version holds.
        self.pages = pages if pages is not None else KeptPages(0)

    async def _kept_page(self, kind: str, counter: str, copies: str, limit: int, offset: int, read):
        """The page ``read(store, counted)`` renders, kept with the version of ``counter``'s shards
        and of the ``copies`` it shows, read (one read) before the page."""

        async def work(store, _):
            counted = await store.counted(counter, copies)
            key = (kind, counter, limit, offset)
            if (page := self.pages.get(key, counted.version)) is not None:
                return page
            page = await read(store, counted)
            self.pages.put(key, counted.version, page)
            return page

        return await self.direct(work)

    # -- follows ----------------------------------------------------------------------------------
    async def follow(self, follower: str, followed: str) -> dict:
        check_follow(follower, followed)

        async def work(store, uow):
            if not await store.user_exists(followed):
                raise NotFound("user not found")
            now = _now()
            await store.add_follow(follower, followed, now)
            await uow.record(de.FOLLOW_CREATED, {"followerId": follower, "followedId": followed})
            return {"followerId": follower, "followedId": followed, "createdAt": now}

        return await self.transaction(work)

    async def unfollow(self, follower: str, followed: str) -> None:
        async def work(store, uow):
            if not await store.remove_follow(follower, followed):
                raise NotFound("not following this user")
            await uow.record(de.FOLLOW_DELETED, {"followerId": follower, "followedId": followed})

        await self.transaction(work)

    async def is_following(self, follower: str, followed: str) -> bool:
        return await self.direct(lambda store, _: store.is_following(follower, followed))

    async def follow_page(self, user_id: str, direction: str, limit: int, offset: int):
        async def read(store, counted):
            pages = store.following if direction == "following" else store.followers
            docs, total = await pages(user_id, limit, offset, counted)
            other = "followed" if direction == "following" else "follower"
            users = await store.users([d[other] for d in docs])
            return [{**_party(users, d[other]), "since": d["created_at"]} for d in docs], total

        return await self._kept_page(direction, f"user:{user_id}", "users", limit, offset, read)

    # -- likes ----------------------------------------------------------------------------------
    async def like(self, event_id: str, user_id: str) -> dict:
        async def work(store, uow):
            event = check_likeable(await store.event(event_id))
            now = _now()
            await store.add_like(event_id, user_id, now)
            await uow.record(
                de.LIKE_CREATED,
                {"eventId": event_id, "userId": user_id, "eventCreatorId": event.creator_id, "eventTitle": event.title},
            )
            return {"eventId": event_id, "userId": user_id, "createdAt": now}

        return await self.transaction(work)

    async def unlike(self, event_id: str, user_id: str) -> None:
        async def work(store, uow):
            if not await store.remove_like(event_id, user_id):
                raise NotFound("this user has not liked this event")
            event = await store.event(event_id)
            await uow.record(
                de.LIKE_DELETED,
                {"eventId": event_id, "userId": user_id, "eventCreatorId": event.creator_id if event else None},
            )

        await self.transaction(work)

    async def has_liked(self, event_id: str, user_id: str) -> bool:
        return await self.direct(lambda store, _: store.has_liked(event_id, user_id))

    async def likers(self, event_id: str, limit: int, offset: int):
        async def read(store, counted):
            docs, total = await store.likes_of_event(event_id, limit, offset, counted)
            users = await store.users([d["user_id"] for d in docs])
            return [{**_party(users, d["user_id"]), "likedAt": d["created_at"]} for d in docs], total

        return await self._kept_page("likers", f"event:{event_id}", "users", limit, offset, read)

    async def liked_events(self, user_id: str, limit: int, offset: int):
        async def read(store, counted):
            docs, total = await store.likes_of_user(user_id, limit, offset, counted)
            events = await store.events([d["event_id"] for d in docs])
            return [{**_event_brief(events, d["event_id"]), "likedAt": d["created_at"]} for d in docs], total

        return await self._kept_page("liked", f"user:{user_id}", "events", limit, offset, read)

    # -- participations -----------------------------------------------------------------------------
    async def participations(
        self,
        user_id: str,
        limit: int,
        offset: int,
        *,
        organization: str | None = None,
        reviewed: bool | None = None,
        statuses: tuple[str, ...] = (),
        title: str | None = None,
        sort: str = "date",
        descending: bool = False,
    ):
        """The events a user holds tickets for, filtered by host, reviewed or not, event status and
        title, sorted by event date, by when the user got in (``since``) or by title."""

        async def work(store, _):
            docs = await store.all_participations_of_user(user_id)
            events = await store.events([d["event_id"] for d in docs])
            reviewed_ids = await store.reviewed_events(user_id)
            wanted = title.casefold() if title else None
            rows = []
            for d in docs:
                event = events.get(d["event_id"]) or {}
                if organization and organization not in (event.get("hosts") or []):
                    continue
                if statuses and event.get("status") not in statuses:
                    continue
                if wanted and wanted not in (event.get("title") or "").casefold():
                    continue
                has_reviewed = d["event_id"] in reviewed_ids
                if reviewed is not None and has_reviewed != reviewed:
                    continue
                rows.append(
                    {**_event_brief(events, d["event_id"]), "since": d["created_at"], "hasReviewed": has_reviewed}
                )
            keys = {  # an event the copies do not know yet (no date) sorts last
                "date": lambda r: (r["date"] is None, r["date"].timestamp() if r["date"] else 0, r["eventId"]),
                "since": lambda r: (r["since"].timestamp(), r["eventId"]),
                "title": lambda r: ((r["title"] or "").casefold(), r["eventId"]),
            }
            rows.sort(key=keys[sort], reverse=descending)
            return rows[offset : offset + limit], len(rows)

        return await self.direct(work)

    async def has_reviewed(self, user_id: str, event_id: str) -> bool:
        return await self.direct(lambda store, _: store.has_reviewed(user_id, event_id))

    async def unfollow_all(self, follower: str) -> int:
        """Drop every follow of ``follower``, each announced (counters elsewhere follow)."""

        async def work(store, uow):
            followed = await store.remove_follows_of(follower)
            if followed:
                await uow.record_many(
                    [(de.FOLLOW_DELETED, {"followerId": follower, "followedId": f}) for f in followed]
                )
            return len(followed)

        return await self.transaction(work)

    async def participants(self, event_id: str, limit: int, offset: int):
        async def work(store, _):
            docs, total = await store.participants_of_event(event_id, limit, offset)
            users = await store.users([d["user_id"] for d in docs])
            return [{**_party(users, d["user_id"]), "since": d["created_at"]} for d in docs], total

        return await self.direct(work)

    async def is_participating(self, user_id: str, event_id: str) -> bool:
        return await self.direct(lambda store, _: store.is_participating(user_id, event_id))

    # -- reviews ----------------------------------------------------------------------------------
    def _review_payload(self, review: dict, event: KnownEvent | None) -> dict:
        return {
            "eventId": review["event_id"],
            "userId": review["user_id"],
            "rating": review["rating"],
            "title": review["title"],
            "eventCreatorId": event.creator_id if event else None,
            "collaboratorIds": event.collaborator_ids if event else [],
            "eventTitle": event.title if event else None,
        }

    async def review(self, event_id: str, user_id: str, rating: int, title: str, comment: str) -> dict:
        check_rating(rating)

        async def work(store, uow):
            event = check_reviewable(
                await store.event(event_id), await store.is_participating(user_id, event_id), _now()
            )
            now = _now()
            doc = {
                "_id": f"{event_id}:{user_id}",
                "event_id": event_id,
                "user_id": user_id,
                "rating": rating,
                "title": title,
                "comment": comment,
                "hosts": event.hosts,
                "reviewer_role": (await store.users([user_id])).get(user_id, {}).get("role", "member"),
                "reply": None,
                "created_at": now,
                "updated_at": now,
            }
            await store.add_review(doc)
            await uow.record(de.REVIEW_CREATED, self._review_payload(doc, event))
            return await self._view(store, doc)

        return await self.transaction(work)

    async def edit_review(self, event_id: str, user_id: str, changes: dict) -> dict:
        if "rating" in changes:
            check_rating(changes["rating"])

        async def work(store, uow):
            review = await store.review(event_id, user_id)
            if review is None:
                raise NotFound("review not found")
            fields = {**changes, "updated_at": _now()}
            await store.update_review(event_id, user_id, fields)
            review.update(fields)
            await uow.record(de.REVIEW_UPDATED, self._review_payload(review, await store.event(event_id)))
            return await self._view(store, review)

        return await self.transaction(work)

    async def delete_review(self, event_id: str, user_id: str) -> None:
        async def work(store, uow):
            review = await store.review(event_id, user_id)
            if review is None or not await store.delete_review(event_id, user_id):
                raise NotFound("review not found")
            await uow.record(de.REVIEW_DELETED, self._review_payload(review, await store.event(event_id)))

        await self.transaction(work)

    async def reply(self, event_id: str, user_id: str, organization_id: str, text: str | None) -> dict | None:
        """Set (text) or remove (None) the event creator's reply to a review."""

        async def work(store, uow):
            review = await store.review(event_id, user_id)
            if review is None:
                raise NotFound("review not found")
            event = await store.event(event_id)
            if event is None or event.creator_id != organization_id:
                raise Forbidden("only the event's creator may reply to its reviews")
            if text is None and review.get("reply") is None:
                raise NotFound("this review has no reply")
            reply = {"text": text, "organizationId": organization_id, "at": _now()} if text is not None else None
            await store.update_review(event_id, user_id, {"reply": reply})
            review["reply"] = reply
            return await self._view(store, review)

        return await self.transaction(work)

    async def get_review(self, event_id: str, user_id: str) -> dict:
        async def work(store, _):
            review = await store.review(event_id, user_id)
            if review is None:
                raise NotFound("review not found")
            return await self._view(store, review)

        return await self.direct(work)

    async def reviews(
        self,
        query: dict,
        limit: int,
        offset: int,
        *,
        search: str | None = None,
        rating: int | None = None,
        role: str | None = None,
    ):
        """A page of reviews matching ``query`` and, when given, words of their title or comment
        (case ignored), a rating and the reviewer's role."""
        query = dict(query)
        if rating is not None:
            query["rating"] = rating
        if role is not None:
            query["reviewer_role"] = role
        words = [re.escape(w) for w in (search or "").split()][:10]
        if words:
            query["$and"] = [
                {"$or": [{"title": {"$regex": w, "$options": "i"}}, {"comment": {"$regex": w, "$options": "i"}}]}
                for w in words
            ]

        async def work(store, _):
            docs, total = await store.reviews(query, limit, offset)
            users = await store.users([d["user_id"] for d in docs if d["user_id"]])
            events = await store.events([d["event_id"] for d in docs])
            return [self._render(d, users, events) for d in docs], total

        return await self.direct(work)

    async def organization_statistics(self, organization_id: str) -> dict:
        counts = await self.direct(lambda store, _: store.rating_counts(organization_id))
        return {"organizationId": organization_id, **statistics(counts)}

    async def _view(self, store, review: dict) -> dict:
        users = await store.users([review["user_id"]] if review["user_id"] else [])
        events = await store.events([review["event_id"]])
        return self._render(review, users, events)

    @staticmethod
    def _render(review: dict, users: dict, events: dict) -> dict:
        return {
            "event": _event_brief(events, review["event_id"]),
            "author": _party(users, review["user_id"]),
            "rating": review["rating"],
            "title": review["title"],
            "comment": review["comment"],
            "reply": review.get("reply"),
            "createdAt": review["created_at"],
            "updatedAt": review["updated_at"],
        }


__all__ = ["DomainError", "Interactions"]
