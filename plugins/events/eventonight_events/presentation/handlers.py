"""HTTP handlers of ``/api/events``."""

from __future__ import annotations

from aiohttp import web

from eventonight.hooks import MissingPlugin
from eventonight.hooks.http import (
    Page,
    current_user,
    json_response,
    page_params,
    parse_body,
    parse_query,
    require_role,
    require_user,
)
from eventonight_events.application.commands import EventInput
from eventonight_events.application.queries import SearchParams
from eventonight_events.domain.model import DomainError, Event, Location
from eventonight_events.presentation.schemas import CreateEventBody, EventFields, SearchQuery, UpdateEventBody


def event_view(event: Event) -> dict:
    return {
        "id": event.id,
        "title": event.title,
        "description": event.description,
        "date": event.date,
        "location": vars(event.location) if event.location else None,
        "tags": event.tags,
        "creatorId": event.creator_id,
        "collaborators": event.collaborator_ids,
        "posterUrl": event.poster_url,
        "status": event.status,
        "likes": event.likes,
        "ticketsSold": event.tickets_sold,
        "lowestPrice": event.lowest_price,
        "currency": event.currency,
        "createdAt": event.created_at,
        "updatedAt": event.updated_at,
        "publishedAt": event.published_at,
    }


def to_input(body: EventFields) -> EventInput:
    given = body.model_fields_set
    data = EventInput()
    for name in ("title", "description", "date", "tags", "collaborators"):
        if name in given:
            setattr(data, name, getattr(body, name))
    if "location" in given:
        data.location = Location(**body.location.model_dump()) if body.location else None
    return data


class EventsApi:
    def __init__(self, kernel, services) -> None:
        self.kernel = kernel
        self.services = services

    @property
    def commands(self):
        return self.services.commands

    @property
    def queries(self):
        return self.services.queries

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/events", self.create),
            web.get("/api/events", self.search),
            web.get("/api/events/search", self.search),
            web.get("/api/events/tags", self.tags),
            web.get("/api/events/tags/{category}", self.tags),
            web.get("/api/events/feed/{kind}", self.feed),
            web.get("/api/events/{eventId}", self.get),
            web.put("/api/events/{eventId}", self.update),
            web.delete("/api/events/{eventId}", self.delete),
            web.post("/api/events/{eventId}/publish", self.publish),
            web.post("/api/events/{eventId}/cancel", self.cancel),
            web.post("/api/events/{eventId}/poster", self.upload_poster),
            web.delete("/api/events/{eventId}/poster", self.delete_poster),
        ]

    async def create(self, request: web.Request) -> web.Response:
        caller = await require_role(request, "organization")
        body = await parse_body(request, CreateEventBody)
        event = await self.commands.create(caller.user_id, body.status, to_input(body))
        return json_response(event_view(event), status=201)

    async def get(self, request: web.Request) -> web.Response:
        caller = await current_user(request)
        event = await self.queries.get(request.match_info["eventId"], caller.user_id if caller else None)
        return json_response(event_view(event))

    async def update(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        body = await parse_body(request, UpdateEventBody)
        return await self._run(self.commands.update(request.match_info["eventId"], caller.user_id, to_input(body)))

    async def publish(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return await self._run(self.commands.publish(request.match_info["eventId"], caller.user_id))

    async def cancel(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return await self._run(self.commands.cancel(request.match_info["eventId"], caller.user_id))

    async def delete(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        await self.commands.delete(request.match_info["eventId"], caller.user_id)
        return web.Response(status=204)

    async def _run(self, command) -> web.Response:
        event = await command
        return json_response(event_view(event))

    async def search(self, request: web.Request) -> web.Response:
        query = parse_query(request, SearchQuery)
        caller = await current_user(request)
        try:
            near = query.near_point()
        except ValueError as exc:
            raise DomainError(str(exc), field="near") from exc
        params = SearchParams(
            q=query.q,
            tags=[t for t in (s.strip() for s in query.tags.split(",")) if t],
            all_tags=query.tags_mode == "all",
            date_from=query.date_from,
            date_to=query.date_to,
            organization=query.organization,
            city=query.city,
            venue=query.venue,
            near=near,
            min_price=query.min_price,
            max_price=query.max_price,
            status=tuple(s.strip() for s in query.status.split(",") if s.strip()) if query.status else None,
            sort=query.sort,
            descending=query.order == "desc",
            limit=query.limit,
            offset=query.offset,
        )
        events, total = await self.queries.search(params, caller.user_id if caller else None)
        return json_response(Page([event_view(e) for e in events], limit=query.limit, offset=query.offset, total=total))

    async def feed(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request)
        caller = await current_user(request)
        events, total = await self.queries.feed(
            request.match_info["kind"], caller.user_id if caller else None, limit, offset
        )
        return json_response(Page([event_view(e) for e in events], limit=limit, offset=offset, total=total))

    async def tags(self, request: web.Request) -> web.Response:
        catalogue = self.queries.tags(request.match_info.get("category"))
        return json_response(
            {"categories": [{"category": c, "tags": tags} for c, tags in catalogue.items()]},
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def upload_poster(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        event_id = request.match_info["eventId"]
        await self.commands.check_member(event_id, caller.user_id)
        stored = await self.kernel.hooks.first("media_store_image", kind="poster", entity_id=event_id, request=request)
        if stored is None:
            raise MissingPlugin("poster upload needs the media plugin, which is not installed")
        return await self._run(self.commands.set_poster(event_id, stored["url"]))

    async def delete_poster(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        event_id = request.match_info["eventId"]
        await self.commands.check_member(event_id, caller.user_id)
        if await self.kernel.hooks.first("media_delete_image", kind="poster", entity_id=event_id) is None:
            raise MissingPlugin("posters need the media plugin, which is not installed")
        await self.commands.set_poster(event_id, None)
        return web.Response(status=204)
