"""HTTP handlers of ``/api/interactions``."""

from __future__ import annotations

from aiohttp import web

from eventonight.hooks.http import (
    Page,
    json_response,
    page_params,
    parse_body,
    parse_query,
    require_owner,
    require_role,
    require_user,
)
from eventonight_interactions.domain.rules import DomainError
from eventonight_interactions.presentation.schemas import (
    FollowBody,
    ParticipationsQuery,
    ReplyBody,
    ReviewBody,
    ReviewEditBody,
    ReviewsQuery,
)

BASE = "/api/interactions"
EVENT_STATUSES = ("DRAFT", "PUBLISHED", "COMPLETED", "CANCELLED")


class InteractionsApi:
    def __init__(self, services) -> None:
        self.s = services

    def routes(self) -> list[web.RouteDef]:
        u, e, o = f"{BASE}/users/{{userId}}", f"{BASE}/events/{{eventId}}", f"{BASE}/organizations/{{organizationId}}"
        return [
            web.post(f"{u}/following", self.follow),
            web.get(f"{u}/following", self.following),
            web.delete(f"{u}/following", self.unfollow_all),
            web.get(f"{u}/following/{{followedId}}", self.is_following),
            web.delete(f"{u}/following/{{followedId}}", self.unfollow),
            web.get(f"{u}/followers", self.followers),
            web.get(u, self.summary),
            web.post(f"{e}/likes", self.like),
            web.get(f"{e}/likes", self.likers),
            web.delete(f"{e}/likes/{{userId}}", self.unlike),
            web.get(f"{u}/likes", self.liked),
            web.get(f"{u}/likes/{{eventId}}", self.has_liked),
            web.get(f"{u}/participations", self.participations),
            web.get(f"{u}/participations/{{eventId}}", self.is_participating),
            web.get(f"{e}/participants", self.participants),
            web.post(f"{e}/reviews", self.review),
            web.get(f"{e}/reviews", self.event_reviews),
            web.put(f"{e}/reviews/{{userId}}", self.edit_review),
            web.delete(f"{e}/reviews/{{userId}}", self.delete_review),
            web.put(f"{e}/reviews/{{userId}}/reply", self.reply),
            web.delete(f"{e}/reviews/{{userId}}/reply", self.delete_reply),
            web.get(f"{u}/reviews", self.user_reviews),
            web.get(f"{u}/reviews/{{eventId}}", self.user_review),
            web.get(f"{o}/reviews", self.organization_reviews),
            web.get(f"{o}/reviews/statistics", self.organization_statistics),
        ]

    @staticmethod
    def _page(result, limit, offset) -> web.Response:
        items, total = result
        return json_response(Page(items, limit=limit, offset=offset, total=total))

    # -- follows ------------------------------------------------------------------------------------
    async def follow(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        body = await parse_body(request, FollowBody)
        return json_response(await self.s.follow(user_id, body.followed_id), status=201)

    async def unfollow_all(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        return json_response({"removed": await self.s.unfollow_all(user_id)})

    async def unfollow(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        await self.s.unfollow(user_id, request.match_info["followedId"])
        return web.Response(status=204)

    async def following(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request)
        return self._page(
            await self.s.follow_page(request.match_info["userId"], "following", limit, offset), limit, offset
        )

    async def followers(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request)
        return self._page(
            await self.s.follow_page(request.match_info["userId"], "followers", limit, offset), limit, offset
        )

    async def is_following(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response({"following": await self.s.is_following(m["userId"], m["followedId"])})

    async def summary(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        followers, n_followers = await self.s.follow_page(user_id, "followers", 20, 0)
        following, n_following = await self.s.follow_page(user_id, "following", 20, 0)
        return json_response(
            {
                "userId": user_id,
                "followersCount": n_followers,
                "followingCount": n_following,
                "followers": Page(followers, limit=20, offset=0, total=n_followers),
                "following": Page(following, limit=20, offset=0, total=n_following),
            }
        )

    # -- likes ---------------------------------------------------------------------------------------
    async def like(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return json_response(await self.s.like(request.match_info["eventId"], caller.user_id), status=201)

    async def unlike(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        await self.s.unlike(request.match_info["eventId"], user_id)
        return web.Response(status=204)

    async def likers(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request)
        return self._page(await self.s.likers(request.match_info["eventId"], limit, offset), limit, offset)

    async def liked(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request)
        return self._page(await self.s.liked_events(request.match_info["userId"], limit, offset), limit, offset)

    async def has_liked(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response({"liked": await self.s.has_liked(m["eventId"], m["userId"])})

    # -- participations ------------------------------------------------------------------------------
    async def participations(self, request: web.Request) -> web.Response:
        q = parse_query(request, ParticipationsQuery)
        statuses = tuple(s.strip() for s in (q.status or "").split(",") if s.strip())
        unknown = set(statuses) - set(EVENT_STATUSES)
        if unknown:
            raise DomainError(f"status takes {', '.join(EVENT_STATUSES)}, comma-separated", "status")
        found = await self.s.participations(
            request.match_info["userId"], q.limit, q.offset, organization=q.organization, reviewed=q.reviewed,
            statuses=statuses, title=q.title, sort=q.sort, descending=q.order == "desc",
        )  # fmt: skip
        return self._page(found, q.limit, q.offset)

    async def participants(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request)
        return self._page(await self.s.participants(request.match_info["eventId"], limit, offset), limit, offset)

    async def is_participating(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response(
            {
                "participating": await self.s.is_participating(m["userId"], m["eventId"]),
                "hasReviewed": await self.s.has_reviewed(m["userId"], m["eventId"]),
            }
        )

    # -- reviews --------------------------------------------------------------------------------------
    async def review(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        body = await parse_body(request, ReviewBody)
        review = await self.s.review(
            request.match_info["eventId"], caller.user_id, body.rating, body.title, body.comment
        )
        return json_response(review, status=201)

    async def edit_review(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        body = await parse_body(request, ReviewEditBody)
        changes = {k: v for k, v in body.model_dump().items() if k in body.model_fields_set and v is not None}
        if not changes:
            raise DomainError("nothing to change: give rating, title or comment")
        return json_response(await self.s.edit_review(request.match_info["eventId"], user_id, changes))

    async def delete_review(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        await self.s.delete_review(request.match_info["eventId"], user_id)
        return web.Response(status=204)

    async def reply(self, request: web.Request) -> web.Response:
        caller = await require_role(request, "organization")
        body = await parse_body(request, ReplyBody)
        m = request.match_info
        return json_response(await self.s.reply(m["eventId"], m["userId"], caller.user_id, body.text))

    async def delete_reply(self, request: web.Request) -> web.Response:
        caller = await require_role(request, "organization")
        m = request.match_info
        await self.s.reply(m["eventId"], m["userId"], caller.user_id, None)
        return web.Response(status=204)

    async def _reviews(self, request: web.Request, query: dict) -> web.Response:
        q = parse_query(request, ReviewsQuery)
        found = await self.s.reviews(query, q.limit, q.offset, search=q.search, rating=q.rating, role=q.role)
        return self._page(found, q.limit, q.offset)

    async def event_reviews(self, request: web.Request) -> web.Response:
        return await self._reviews(request, {"event_id": request.match_info["eventId"]})

    async def user_reviews(self, request: web.Request) -> web.Response:
        return await self._reviews(request, {"user_id": request.match_info["userId"]})

    async def user_review(self, request: web.Request) -> web.Response:
        m = request.match_info
        return json_response(await self.s.get_review(m["eventId"], m["userId"]))

    async def organization_reviews(self, request: web.Request) -> web.Response:
        return await self._reviews(request, {"hosts": request.match_info["organizationId"]})

    async def organization_statistics(self, request: web.Request) -> web.Response:
        return json_response(await self.s.organization_statistics(request.match_info["organizationId"]))
