"""The OpenAPI 3.1 document, assembled from the kernel's part and each plugin's fragment."""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel

from eventonight.kernel.http.pagination import MAX_OFFSET

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


# -- schema shorthands for plugins' response bodies -----------------------------------------
STRING: dict[str, Any] = {"type": "string"}
INTEGER: dict[str, Any] = {"type": "integer"}
NUMBER: dict[str, Any] = {"type": "number"}
BOOLEAN: dict[str, Any] = {"type": "boolean"}
DATETIME: dict[str, Any] = {"type": "string", "format": "date-time"}
ANY_OBJECT: dict[str, Any] = {"type": "object"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` or ``null``."""
    return {"anyOf": [schema, {"type": "null"}]}


def array(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


def obj(required: dict[str, Any] | None = None, optional: dict[str, Any] | None = None) -> dict[str, Any]:
    """An object schema: ``required`` properties always present, ``optional`` ones sometimes.
    Other properties may appear (clients ignore what they do not know)."""
    required, optional = required or {}, optional or {}
    schema: dict[str, Any] = {"type": "object", "properties": {**required, **optional}}
    if required:
        schema["required"] = list(required)
    return schema


def ref(name: str) -> dict[str, Any]:
    """A reference to ``components.schemas[name]``."""
    return {"$ref": f"#/components/schemas/{name}"}


def page_of(items: dict[str, Any]) -> dict[str, Any]:
    """The shape of every paginated list: ``items``, ``limit``, ``offset``, ``total``, ``hasMore``."""
    return obj({"items": array(items), "limit": INTEGER, "offset": INTEGER, "total": INTEGER, "hasMore": BOOLEAN})


def json_content(schema: dict[str, Any], status: int = 200, description: str = "ok") -> dict[str, Any]:
    """A ``responses`` entry: ``status`` with a JSON body of ``schema``."""
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


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


JWKS = obj({"keys": array(obj({"kty": STRING, "kid": STRING}, {"alg": STRING, "use": STRING}))})


def kernel_document(title: str, version: str) -> dict[str, Any]:
    readiness = obj({"status": STRING, "checks": obj({"database": STRING, "broker": STRING})})
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": {
            "/health": {
                "get": {
                    "summary": "Liveness",
                    "tags": ["kernel"],
                    "security": [],
                    "responses": json_content(obj({"status": STRING})),
                }
            },
            "/ready": {
                "get": {
                    "summary": "Readiness: database and broker reachable",
                    "tags": ["kernel"],
                    "security": [],
                    "responses": {
                        **json_content(readiness),
                        "503": {"description": "not ready", "content": {"application/json": {"schema": readiness}}},
                    },
                }
            },
            "/.well-known/jwks.json": {
                "get": {
                    "summary": "Public JSON Web Key Set for access tokens",
                    "tags": ["kernel"],
                    "security": [],
                    "responses": json_content(JWKS),
                }
            },
            "/api/docs": {
                "get": {
                    "summary": "Interactive documentation of this API (Swagger UI, served from the platform)",
                    "tags": ["kernel"],
                    "security": [],
                    "responses": {"200": {"description": "the page", "content": {"text/html": {"schema": {}}}}},
                }
            },
            "/api/docs/{name}": {
                "get": {
                    "summary": "A file of the documentation page (scripts, styles, icons)",
                    "tags": ["kernel"],
                    "security": [],
                    "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "the file",
                            "content": {t: {"schema": {}} for t in ("text/css", "text/javascript", "image/png")},
                        }
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "summary": "This document",
                    "tags": ["kernel"],
                    "security": [],
                    "responses": json_content(ANY_OBJECT),
                }
            },
        },
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "tags": [{"name": "kernel"}],
    }


METHODS = ("get", "put", "post", "delete", "patch")
GUEST_OR_BEARER: list[dict[str, Any]] = [{}, {"bearer": []}]
BEARER: list[dict[str, Any]] = [{"bearer": []}]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """Add what every operation shares, so that plugins document only what is theirs.

    - ``security``: when a fragment leaves it out, a GET accepts guests or a token
      (``[{}, {"bearer": []}]``) and anything else requires a token; ``[]`` says no token is read.
    - error responses any operation can give: 400 (parameters, bodies); 401 when a token is read
      (a bad one is always refused); 403 when one is required (roles, owners); 404 when the path
      names something; 413 and 415 when there is a request body. Statuses a fragment lists stay.
    """
    for path, item in document["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            if "security" not in operation:
                operation["security"] = GUEST_OR_BEARER if method == "get" else BEARER
            shared = [400]
            if operation["security"]:
                shared.append(401)
            if operation["security"] == BEARER:
                shared.append(403)
            if "{" in path:
                shared.append(404)
            if "requestBody" in operation:
                shared += [413, 415]
            responses = operation.setdefault("responses", {})
            for status, entry in error_responses(*shared).items():
                responses.setdefault(status, entry)
    return document


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


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """OpenAPI query parameters from the pydantic model that validates a query string."""
    schema = model.model_json_schema(by_alias=True)
    required = set(schema.get("required", []))
    params = []
    for name, field in schema.get("properties", {}).items():
        field = {k: v for k, v in field.items() if k not in ("title", "default")}
        description = field.pop("description", None)
        if "anyOf" in field:  # "X or null": a query parameter is simply left out
            options = [o for o in field.pop("anyOf") if o.get("type") != "null"]
            field = {**field, **options[0]} if len(options) == 1 else {**field, "anyOf": options}
        param = {"name": name, "in": "query", "required": name in required, "schema": field}
        if description:
            param["description"] = description
        params.append(param)
    return params


def fragment_from_routes(
    routes,
    *,
    tag: str,
    summaries: dict[str, str],
    bodies: dict[str, type[BaseModel]],
    paginated: set[str] = frozenset(),
    responses: dict[str, dict[str, Any]] | None = None,
    private: set[str] = frozenset(),
    tokenless: set[str] = frozenset(),
    statuses: dict[str, int] | None = None,
    errors: dict[str, tuple[int, ...]] | None = None,
    binary: dict[str, str] | None = None,
    schemas: dict[str, dict[str, Any]] | None = None,
    queries: dict[str, type[BaseModel]] | None = None,
) -> dict[str, Any]:
    """An OpenAPI fragment derived from a plugin's ``RouteDef`` list.

    Everything is keyed by handler name. Operations are named after the handlers; path
    parameters come from the path; handlers in ``paginated`` get ``limit``/``offset``.
    ``responses``: the JSON schema of each handler's success body (``page_of``, ``obj``,
    ``ref``...); ``statuses``: its success status when not the default (DELETE 204, POST 201,
    else 200); ``binary``: handlers answering a file, with its media type; ``errors``: statuses
    beyond the shared ones (``complete`` adds 400/401/403/404/413/415 where they apply).
    GETs accept guests unless listed in ``private``; other methods require a token unless listed in
    ``tokenless`` (they read none: a webhook signed otherwise, a login).
    ``schemas``: named schemas for ``components`` (referenced with ``ref``). ``queries``: the pydantic
    model a handler validates its query string with (``parse_query``): each field is a parameter.
    """
    import re

    responses, statuses, errors, binary = responses or {}, statuses or {}, errors or {}, binary or {}
    paths: dict[str, Any] = {}
    for route in routes:
        method, path, name = route.method, route.path, route.handler.__name__
        params = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in re.findall(r"{(\w+)}", path)
        ]
        if queries and name in queries:
            params += query_parameters(queries[name])
        elif name in paginated:
            params += [
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET}},
            ]
        status = statuses.get(name) or (204 if method == "DELETE" else 201 if method == "POST" else 200)
        if name in binary:
            success = {str(status): {"description": "ok", "content": {binary[name]: {"schema": {}}}}}
        elif name in responses:
            success = json_content(responses[name], status)
        else:
            success = {str(status): {"description": "ok"}}
        operation: dict[str, Any] = {
            "tags": [tag],
            "summary": summaries.get(name, name.replace("_", " ")),
            "operationId": f"{tag}_{name}",
            "parameters": params,
            "responses": {**success, **error_responses(400, 401, 403, 404, 409, *errors.get(name, ()))},
        }
        if name in bodies:
            operation["requestBody"] = json_body(bodies[name])
        if name in tokenless:
            operation["security"] = []
        elif method != "GET" or name in private:
            operation["security"] = BEARER
        paths.setdefault(path, {})[method.lower()] = operation
    components = components_for(*set(bodies.values()))
    components["schemas"].update(schemas or {})
    return {"tags": [{"name": tag}], "components": components, "paths": paths}
