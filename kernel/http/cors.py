"""Cross-origin requests from browser front ends served elsewhere, for an allow-list of origins.

Not aiohttp-cors: its refusals are plain text (every error here is the JSON error shape), it
needs each route registered, and it cannot allow "any localhost port" for the demo. What is here
is small: preflights are answered by the catch-all route (no route has OPTIONS), and the headers
of actual responses are added as they are prepared, streams included.
"""

from __future__ import annotations

import re

from aiohttp import web

from eventonight.kernel.errors import ApiError

ALLOWED_HEADERS = "Authorization, Content-Type, Idempotency-Key, Last-Event-ID, X-Request-ID"
EXPOSED_HEADERS = "X-Request-ID, Retry-After, Location, Content-Disposition, WWW-Authenticate"
MAX_AGE_SECONDS = "600"
#: What ``serve --demo`` allows when no origins are configured: a front end on this machine, any port.
DEMO_ORIGINS = ["http://localhost:*", "http://127.0.0.1:*"]


def origins_for(configured: list[str], *, demo: bool) -> list[str]:
    """The allow-list in force: the configured one; the demo's when none is configured under ``--demo``."""
    return list(configured) if configured or not demo else list(DEMO_ORIGINS)


ORIGINS: web.AppKey[list[re.Pattern]] = web.AppKey("eventonight_cors_origins")


def _pattern(origin: str) -> re.Pattern:
    # "scheme://host" exactly, or "scheme://host:*" for any port of that host.
    origin = origin.rstrip("/")
    if origin.endswith(":*"):
        return re.compile(re.escape(origin[:-2]) + r"(:\d{1,5})?")
    return re.compile(re.escape(origin))


def allowed(request: web.Request) -> str | None:
    """The request's Origin when it is on the allow-list."""
    origin = request.headers.get("Origin")
    if not origin:
        return None
    patterns = request.app.get(ORIGINS) or []
    return origin if any(p.fullmatch(origin) for p in patterns) else None


def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """``Vary: Origin`` on every response, and the allow headers when the request's origin is listed."""
    response.headers.add("Vary", "Origin")
    origin = allowed(request)
    if origin is not None:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS


def preflight(request: web.Request, methods: set[str]) -> web.Response:
    """The answer to ``OPTIONS`` on a path that has ``methods``."""
    if not request.headers.get("Origin"):
        raise web.HTTPMethodNotAllowed(request.method, sorted(methods))
    if allowed(request) is None:
        raise ApiError(403, "this origin may not call the API (see EVENTONIGHT_CORS_ORIGINS)")
    wanted = request.headers.get("Access-Control-Request-Method", "").upper()
    if wanted and wanted not in methods:
        raise ApiError(403, f"method {wanted} not allowed on {request.path}")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Methods": ", ".join(sorted(methods)),
            "Access-Control-Allow-Headers": ALLOWED_HEADERS,
            "Access-Control-Max-Age": MAX_AGE_SECONDS,
        },
    )


def install(app: web.Application, origins: list[str]) -> None:
    """The allow-list for :func:`add_headers` and the preflights."""
    app[ORIGINS] = [_pattern(o) for o in origins]
