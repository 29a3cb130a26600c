"""The OpenAPI 3.1 document, assembled from the kernel's part and each plugin's fragment."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

ERROR_SCHEMA = {
    "type": "object",
    "required": ["statusCode", "error", "message"],
    "properties": {
        "statusCode": {"type": "integer"},
        "error": {"type": "string"},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}, "type": {"type": "string"}},
            },
        },
    },
}


def error_responses(*statuses: int) -> dict[str, Any]:
    """``responses`` entries for the given error statuses, all using the Error schema."""
    return {
        str(status): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for status in statuses
    }


def multipart_file_body() -> dict[str, Any]:
    """A ``requestBody`` of one uploaded file in the multipart field ``file``."""
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
            }
        },
    }


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """A pydantic model's JSON schema with its ``$defs`` moved into components."""
    return model.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True)


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    return {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}},
    }


def components_for(*models: type[BaseModel]) -> dict[str, Any]:
    """``components.schemas`` entries for the models and the models they reference."""
    schemas: dict[str, Any] = {}
    for model in models:
        schema = schema_of(model)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return {"schemas": schemas}


def kernel_document(title: str, version: str) -> dict[str, Any]:
    ok = {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {
            "/health": {"get": {"summary": "Liveness", "tags": ["kernel"], "responses": ok}},
            "/ready": {
                "get": {
                    "summary": "Readiness: database and broker reachable",
                    "tags": ["kernel"],
                    "responses": {**ok, **error_responses(503)},
                }
            },
            "/.well-known/jwks.json": {
                "get": {"summary": "Public JSON Web Key Set for access tokens", "tags": ["kernel"], "responses": ok}
            },
            "/api/openapi.json": {"get": {"summary": "This document", "tags": ["kernel"], "responses": ok}},
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "tags": [{"name": "kernel"}],
    }


def merge(document: dict[str, Any], fragment: dict[str, Any], plugin: str, owners: dict[str, str]) -> None:
    """Merge one plugin's fragment; a path claimed twice is an error naming both plugins."""
    for path, item in (fragment.get("paths") or {}).items():
        if path in document["paths"]:
            raise ValueError(f"OpenAPI path {path} contributed by {plugin} and {owners.get(path, 'the kernel')}")
        document["paths"][path] = copy.deepcopy(item)
        owners[path] = plugin
    for section, entries in (fragment.get("components") or {}).items():
        document["components"].setdefault(section, {}).update(copy.deepcopy(entries))
    known = {t["name"] for t in document["tags"]}
    document["tags"].extend(t for t in fragment.get("tags", []) if t["name"] not in known)


def fragment_from_routes(
    routes,
    *,
    tag: str,
    summaries: dict[str, str],
    bodies: dict[str, type[BaseModel]],
    paginated: set[str] = frozenset(),
) -> dict[str, Any]:
    """An OpenAPI fragment derived from a plugin's ``RouteDef`` list.

    Operations are named after the handlers (``summaries`` and ``bodies`` are keyed
    by handler name); path parameters come from the path; handlers in ``paginated``
    get ``limit``/``offset``. For plugins whose endpoints share one response shape.
    """
    import re

    paths: dict[str, Any] = {}
    for route in routes:
        method, path, name = route.method, route.path, route.handler.__name__
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in re.findall(r"{(\w+)}", path)
        ]
        if name in paginated:
            params += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            ]
        success = "204" if method == "DELETE" else "201" if method == "POST" else "200"
        operation: dict[str, Any] = {
            "tags": [tag],
            "summary": summaries.get(name, name.replace("_", " ")),
            "operationId": f"{tag}_{name}",
            "parameters": params,
            "responses": {success: {"description": "ok"}, **error_responses(400, 401, 403, 404, 409)},
        }
        if name in bodies:
            operation["requestBody"] = json_body(bodies[name])
        if method != "GET":
            operation["security"] = [{"bearer": []}]
        paths.setdefault(path, {})[method.lower()] = operation
    return {"tags": [{"name": tag}], "components": components_for(*set(bodies.values())), "paths": paths}
