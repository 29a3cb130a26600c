"""Request id and JSON errors for every response.

Implemented as a wrapper around each route handler plus a catch-all route for
unknown paths, rather than as an aiohttp middleware: the middleware chain alone
cost about 13% of a small request in bench/kernel_overhead.py.
"""

from __future__ import annotations

import functools
import itertools
import json
import logging
import os
import re
import time

from aiohttp import web

from eventonight.hooks.errors import DomainError
from eventonight.kernel.errors import ApiError
from eventonight.kernel.http import cors
from eventonight.kernel.http.client import client_address
from eventonight.kernel.jsonable import json_default
from eventonight.kernel.logs import RequestScope, request_scope

log = logging.getLogger("eventonight.http")
#: One line per request: method, route template, status, latency, user id, client address.
access_log = logging.getLogger("eventonight.access")

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# A random per-process prefix and a counter: unique ids without a syscall per request.
_PROCESS_PREFIX = os.urandom(6).hex()
_counter = itertools.count()


# Error details may carry datetimes (e.g. when a ticket was first scanned).
_dumps = functools.partial(json.dumps, default=json_default)


def new_request_id() -> str:
    return _PROCESS_PREFIX + str(next(_counter))


def _error_response(error: ApiError, request_id: str) -> web.Response:
    response = web.json_response(error.body(), status=error.status, headers=error.headers, dumps=_dumps)
    response.headers["X-Request-ID"] = request_id
    return response


def from_domain_error(exc: DomainError) -> ApiError:
    """A plugin's domain error as the API error of its class's status."""
    kind = "value_error" if exc.status == 400 else "conflict" if exc.status == 409 else "error"
    details = exc.details or ([{"field": exc.field, "message": str(exc), "type": kind}] if exc.field else None)
    return ApiError(exc.status, str(exc), details=details, headers=exc.headers())


def _from_http_exception(exc: web.HTTPException, request: web.Request) -> ApiError:
    message = exc.text if exc.text and not exc.text.startswith(f"{exc.status}:") else exc.reason
    if exc.status == 404:
        message = f"no route for {request.method} {request.path}"
    elif exc.status == 405:
        message = f"method {request.method} not allowed on {request.path}"
    elif exc.status == 413:
        message = "request body too large"
    return ApiError(exc.status, message, headers={k: v for k, v in exc.headers.items() if k == "Allow"})


def _log_access(scope: RequestScope, request: web.Request, response: web.StreamResponse | None, started: float) -> None:
    # The route's template, never the path or the query: ids and query strings can carry
    # personal data or credentials (a stream ticket), and templates keep the log greppable.
    try:
        route = request.match_info.route.resource.canonical
    except AttributeError:
        route = "(unmatched)"
    access_log.info(
        "request=%s %s %s %s %.1fms user=%s client=%s",
        scope.request_id,
        request.method,
        route,
        response.status if response is not None else 499,  # cancelled: the client went away
        (time.perf_counter() - started) * 1000,
        scope.user_id or "-",
        client_address(request),
    )


def handled(handler):
    """Wrap a route handler: request id (kept from ``X-Request-ID`` when sane), JSON errors, no stack traces."""

    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID")
        request_id = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()
        scope = RequestScope(request_id, request)
        token = request_scope.set(scope)
        response: web.StreamResponse | None = None
        try:
            response = await handler(request)
            if not response.prepared:  # a stream (SSE) has sent its headers already
                response.headers["X-Request-ID"] = request_id
        except ApiError as exc:
            response = _error_response(exc, request_id)
        except DomainError as exc:
            response = _error_response(from_domain_error(exc), request_id)
        except web.HTTPException as exc:
            if exc.status < 400:
                response = exc
                raise
            response = _error_response(_from_http_exception(exc, request), request_id)
        except Exception:
            log.exception("unhandled error on %s %s", request.method, request.path)
            response = _error_response(ApiError(500, "internal error; quote the request id when reporting"), request_id)
        finally:
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, request, response, started)
            request_scope.reset(token)
        return response

    return wrapper


def wrap_routes(routes) -> list:
    return [
        web.RouteDef(r.method, r.path, handled(r.handler), r.kwargs) if isinstance(r, web.RouteDef) else r
        for r in routes
    ]


def add_catch_all(app: web.Application) -> None:
    """Unknown paths get a JSON 404, known paths with another method a JSON 405."""

    async def unmatched(request: web.Request) -> web.Response:
        allowed: set[str] = set()
        for resource in app.router.resources():
            if resource is catch_all:
                continue
            _, methods = await resource.resolve(request)
            allowed |= methods
        if allowed and request.method == "OPTIONS":
            return cors.preflight(request, allowed)  # no route has OPTIONS: preflights land here
        if allowed:
            raise web.HTTPMethodNotAllowed(request.method, sorted(allowed))
        raise web.HTTPNotFound()

    catch_all = app.router.add_resource("/{tail:.*}")
    catch_all.add_route("*", handled(unmatched))
