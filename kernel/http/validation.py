"""Request bodies and query strings validated with pydantic; JSON responses."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from eventonight.kernel.errors import ApiError
from eventonight.kernel.jsonable import dump_bytes

M = TypeVar("M", bound=BaseModel)


def validation_details(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)
    ]


async def parse_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body: 415 when it is not JSON, 400 with field details when invalid."""
    if request.content_type != "application/json":
        raise ApiError(415, "request body must be application/json")
    raw = await request.read()
    try:
        data = json.loads(raw or b"null")
    except ValueError as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # a body nested a thousand levels deep
        raise ApiError(400, "request body is nested too deeply") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "request body is invalid", details=validation_details(exc)) from exc
    except RecursionError as exc:
        raise ApiError(400, "request body is nested too deeply") from exc


def parse_query(request: web.Request, model: type[M]) -> M:
    """Validate the query string against ``model`` (repeated keys become lists)."""
    data: dict[str, Any] = {}
    for key in request.query:
        values = request.query.getall(key)
        field = model.model_fields.get(key) or next((f for f in model.model_fields.values() if f.alias == key), None)
        is_list = field is not None and getattr(field.annotation, "__origin__", None) is list
        data[key] = values if is_list else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "query parameters are invalid", details=validation_details(exc)) from exc


def json_response(data: Any, status: int = 200, **kwargs: Any) -> web.Response:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json", by_alias=True)
    return web.Response(
        body=dump_bytes(data), status=status, content_type="application/json", charset="utf-8", **kwargs
    )
