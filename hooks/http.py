"""HTTP helpers for plugins' aiohttp handlers, and OpenAPI fragments built from their routes.

- ``KERNEL``: the application key of the kernel (``request.app[KERNEL]``).
- ``require_user`` / ``require_role`` / ``require_owner`` / ``current_user``:
  the caller's :class:`Principal` from the bearer token (401/403 otherwise).
- ``parse_body(request, Model)`` / ``parse_query(request, Model)``: validated
  pydantic input (415 for non-JSON, 400 with field details).
- ``json_response(data, status=200)``: JSON with datetimes as ISO-8601 UTC;
  ``dumps(data)`` is the same encoding as a string (e.g. for an SSE frame).
- ``client_address(request)``: the caller's address (behind ``trusted_proxy_hops`` proxies, the one
  the outermost saw), the key for per-client limits.
- ``page_params(request)`` and ``Page(items, limit=, offset=, total=)``: paging; ``MAX_OFFSET``, the
  deepest offset any list accepts (bound your own query models' offsets by it).
- ``fragment_from_routes``, ``components_for``, ``json_body``, ``json_content``,
  ``error_responses``, ``multipart_file_body``: OpenAPI fragments; ``obj``, ``array``, ``page_of``,
  ``nullable``, ``ref`` and ``STRING``/``INTEGER``/``NUMBER``/``BOOLEAN``/``DATETIME``/``ANY_OBJECT``/``JWKS``:
  response schemas. The kernel completes every operation (docs/plugins.md, "OpenAPI").

Raise :class:`eventonight.hooks.DomainError` kinds for 4xx answers.
"""

from eventonight.kernel.auth.principal import Principal
from eventonight.kernel.http.auth import current_user, require_owner, require_role, require_user
from eventonight.kernel.http.client import client_address
from eventonight.kernel.http.keys import KERNEL
from eventonight.kernel.http.openapi import (
    ANY_OBJECT,
    BOOLEAN,
    DATETIME,
    INTEGER,
    JWKS,
    NUMBER,
    STRING,
    array,
    components_for,
    error_responses,
    fragment_from_routes,
    json_body,
    json_content,
    multipart_file_body,
    nullable,
    obj,
    page_of,
    ref,
)
from eventonight.kernel.http.pagination import MAX_OFFSET, Page, page_params
from eventonight.kernel.http.validation import json_response, parse_body, parse_query
from eventonight.kernel.jsonable import dumps

__all__ = [
    "ANY_OBJECT",
    "BOOLEAN",
    "DATETIME",
    "INTEGER",
    "JWKS",
    "KERNEL",
    "MAX_OFFSET",
    "NUMBER",
    "STRING",
    "Page",
    "Principal",
    "array",
    "client_address",
    "components_for",
    "current_user",
    "dumps",
    "error_responses",
    "fragment_from_routes",
    "json_body",
    "json_content",
    "json_response",
    "multipart_file_body",
    "nullable",
    "obj",
    "page_of",
    "page_params",
    "parse_body",
    "parse_query",
    "ref",
    "require_owner",
    "require_role",
    "require_user",
]
