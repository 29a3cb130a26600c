"""The events plugin's part of the OpenAPI document."""

from __future__ import annotations

from eventonight.hooks.http import components_for, error_responses, json_body, multipart_file_body
from eventonight_events.presentation.schemas import CreateEventBody, UpdateEventBody

TAG = "events"
EVENT_ID = {"name": "eventId", "in": "path", "required": True, "schema": {"type": "string"}}
SECURED = [{"bearer": []}]


def _json(ref: str, status: str = "200", description: str = "ok") -> dict:
    return {status: {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}}


def _q(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "schema": schema, "description": description}


SEARCH_PARAMETERS = [
    _q(
        "q",
        {"type": "string"},
        "free text: every word must start a word of the title, description, tags, venue or city",
    ),
    _q("city", {"type": "string"}, "the city, whole (case and accents ignored)"),
    _q("venue", {"type": "string"}, "the venue's name, whole (case and accents ignored)"),
    _q("tags", {"type": "string"}, "comma-separated tags"),
    _q("tagsMode", {"enum": ["any", "all"]}),
    _q("from", {"type": "string", "format": "date-time"}),
    _q("to", {"type": "string", "format": "date-time"}),
    _q("organization", {"type": "string"}, "creator or collaborator id"),
    _q("near", {"type": "string"}, "lat,lon"),
    _q("radiusKm", {"type": "number"}),
    _q("minPrice", {"type": "number"}),
    _q("maxPrice", {"type": "number"}),
    _q(
        "status",
        {
            "type": "string",
            "pattern": "^(DRAFT|PUBLISHED|COMPLETED|CANCELLED)(,(DRAFT|PUBLISHED|COMPLETED|CANCELLED))*$",
        },
        "comma-separated; DRAFT/CANCELLED: your own events. Without status, from or to: upcoming published events",
    ),
    _q("sort", {"enum": ["date", "title", "price", "popularity"]}),
    _q("order", {"enum": ["asc", "desc"]}),
    _q("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
    _q("offset", {"type": "integer", "minimum": 0}),
]

SCHEMAS = {
    "Event": {
        "type": "object",
        "required": ["id", "title", "status", "creatorId"],
        "properties": {
            "id": {"type": "string"},
            "title": {"type": "string"},
            "description": {"type": "string"},
            "date": {"type": ["string", "null"], "format": "date-time"},
            "location": {"type": ["object", "null"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "creatorId": {"type": "string"},
            "collaborators": {"type": "array", "items": {"type": "string"}},
            "posterUrl": {"type": ["string", "null"]},
            "status": {"enum": ["DRAFT", "PUBLISHED", "COMPLETED", "CANCELLED"]},
            "likes": {"type": "integer"},
            "ticketsSold": {"type": "integer"},
            "lowestPrice": {"type": ["number", "null"]},
            "currency": {"type": ["string", "null"]},
        },
    },
    "EventPage": {
        "type": "object",
        "required": ["items", "limit", "offset", "total", "hasMore"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total": {"type": "integer"},
            "hasMore": {"type": "boolean"},
        },
    },
    "TagCatalogue": {
        "type": "object",
        "properties": {
            "categories": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "category": {"type": "string"},
                        "tags": {"type": "array", "items": {"type": "string"}},
                    },
                },
            }
        },
    },
}


def fragment() -> dict:
    components = components_for(CreateEventBody, UpdateEventBody)
    components["schemas"].update(SCHEMAS)
    event = _json("#/components/schemas/Event")
    page = _json("#/components/schemas/EventPage")
    lifecycle = {**event, **error_responses(401, 403, 404, 409)}
    search = {
        "tags": [TAG],
        "summary": "Search public events",
        "parameters": SEARCH_PARAMETERS,
        "responses": {**page, **error_responses(400, 401)},
    }
    return {
        "tags": [{"name": TAG, "description": "The event catalogue"}],
        "components": components,
        "paths": {
            "/api/events": {
                "get": search,
                "post": {
                    "tags": [TAG],
                    "summary": "Create an event as DRAFT or PUBLISHED (organizations)",
                    "security": SECURED,
                    "requestBody": json_body(CreateEventBody),
                    "responses": {
                        **_json("#/components/schemas/Event", "201", "created"),
                        **error_responses(400, 401, 403),
                    },
                },
            },
            "/api/events/search": {"get": {**search, "operationId": "searchEvents"}},
            "/api/events/tags": {
                "get": {
                    "tags": [TAG],
                    "summary": "The tag catalogue",
                    "responses": _json("#/components/schemas/TagCatalogue"),
                }
            },
            "/api/events/tags/{category}": {
                "get": {
                    "tags": [TAG],
                    "summary": "One category of the tag catalogue",
                    "parameters": [{"name": "category", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {**_json("#/components/schemas/TagCatalogue"), **error_responses(404)},
                }
            },
            "/api/events/feed/{kind}": {
                "get": {
                    "tags": [TAG],
                    "summary": "upcoming | popular | recently_added | feed (personal, needs a token)",
                    "parameters": [
                        {
                            "name": "kind",
                            "in": "path",
                            "required": True,
                            "schema": {"enum": ["upcoming", "popular", "recently_added", "feed"]},
                        },
                        _q("limit", {"type": "integer"}),
                        _q("offset", {"type": "integer"}),
                    ],
                    "responses": {**page, **error_responses(400, 401, 404)},
                }
            },
            "/api/events/{eventId}": {
                "parameters": [EVENT_ID],
                "get": {
                    "tags": [TAG],
                    "summary": "An event (drafts only for their creator and collaborators)",
                    "responses": {**event, **error_responses(404)},
                },
                "put": {
                    "tags": [TAG],
                    "summary": "Edit (creator or collaborator)",
                    "security": SECURED,
                    "requestBody": json_body(UpdateEventBody),
                    "responses": {**event, **error_responses(400, 401, 403, 404, 409)},
                },
                "delete": {
                    "tags": [TAG],
                    "summary": "Delete a draft (creator); a published event is cancelled instead (409)",
                    "security": SECURED,
                    "responses": {"204": {"description": "deleted"}, **error_responses(401, 403, 404, 409)},
                },
            },
            "/api/events/{eventId}/publish": {
                "parameters": [EVENT_ID],
                "post": {
                    "tags": [TAG],
                    "summary": "DRAFT -> PUBLISHED",
                    "security": SECURED,
                    "responses": {**lifecycle, **error_responses(400)},
                },
            },
            "/api/events/{eventId}/cancel": {
                "parameters": [EVENT_ID],
                "post": {
                    "tags": [TAG],
                    "summary": "DRAFT|PUBLISHED -> CANCELLED (creator)",
                    "security": SECURED,
                    "responses": lifecycle,
                },
            },
            "/api/events/{eventId}/poster": {
                "parameters": [EVENT_ID],
                "post": {
                    "tags": [TAG],
                    "summary": "Upload the poster (multipart; needs the media plugin)",
                    "security": SECURED,
                    "requestBody": multipart_file_body(),
                    "responses": {**event, **error_responses(400, 401, 403, 404, 413, 415, 501)},
                },
                "delete": {
                    "tags": [TAG],
                    "summary": "Remove the poster",
                    "security": SECURED,
                    "responses": {"204": {"description": "removed"}, **error_responses(401, 403, 404, 501)},
                },
            },
        },
    }
