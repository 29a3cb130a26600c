"""Hook implementations of the badges plugin (entry point ``badges``).

It implements a hook another plugin defines (``users_public_profile``), defines
one of its own (``badges_for_event``), consumes domain events, keeps its own
collection with an index, records ``badges.awarded`` in the outbox and serves
``GET /api/badges/users/{userId}``. It imports only ``eventonight.hooks``.
"""

from __future__ import annotations

from aiohttp import web
from pymongo import IndexModel

from eventonight.hooks import Consumer, hookimpl
from eventonight.hooks.http import json_response
from eventonight_badges import hookspecs

HOOK_API_VERSION = 1
AWARDS = "badges_awards"
AWARDED = "badges.awarded"
# Likes of events earn a badge of our own; other plugins add theirs through badges_for_event.
FAN_LIKES = "interactions.like.created"


async def badges_of(data, user_id: str) -> list[str]:
    return [d["badge"] async for d in data.collection(AWARDS).find({"userId": user_id}).sort("badge", 1)]


@hookimpl
def eventonight_hookspecs():
    return hookspecs


@hookimpl
def eventonight_indexes():
    return {AWARDS: [IndexModel([("userId", 1), ("badge", 1)], unique=True, name="one_badge_per_user")]}


@hookimpl
def badges_for_event(event_type, payload):
    if event_type == FAN_LIKES:
        return [(payload["userId"], "fan")]
    return None


@hookimpl
def eventonight_consumers(kernel):
    async def award(event, uow):
        results = kernel.hooks.call_robust("badges_for_event", event_type=event.event_type, payload=event.payload)
        for user_id, badge in [pair for r in results for pair in r.value or []]:
            # Once per user: checked in the transaction; the unique index guards against a race.
            if await uow.collection(AWARDS).find_one({"userId": user_id, "badge": badge}):
                continue
            await uow.collection(AWARDS).insert_one({"userId": user_id, "badge": badge, "at": event.occurred_at})
            await uow.record(AWARDED, {"userId": user_id, "badge": badge})

    return [Consumer("award", ("user.*", "interactions.#"), award)]


@hookimpl
def eventonight_routes(kernel):
    async def list_badges(request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        return json_response({"userId": user_id, "badges": await badges_of(kernel.read, user_id)})

    return [web.get("/api/badges/users/{userId}", list_badges)]


@hookimpl(optionalhook=True)
async def users_public_profile(kernel, user_id):
    badges = await badges_of(kernel.read, user_id)
    return {"badges": badges} if badges else None
