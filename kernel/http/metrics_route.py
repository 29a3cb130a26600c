"""``GET /metrics`` and the request-latency middleware, when ``EVENTONIGHT_METRICS_ENABLED``."""

from __future__ import annotations

import hmac
import time

from aiohttp import web

from eventonight.kernel.errors import ApiError
from eventonight.kernel.http.keys import KERNEL
from eventonight.kernel.metrics import CONTENT_TYPE


def _route(request: web.Request) -> str:
    # The route's template, never the concrete path: ids would make a series per entity.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def timed(request: web.Request, handler):
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics = request.app[KERNEL].metrics
        metrics.requests.labels(request.method, _route(request), str(status)).observe(time.perf_counter() - started)


async def metrics(request: web.Request) -> web.Response:
    kernel = request.app[KERNEL]
    token = kernel.settings.metrics_token
    if token:
        sent = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(sent.encode(), token.encode()):
            raise ApiError(401, "send the metrics token as a bearer token")
    body = await kernel.metrics.render(kernel)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def install(app: web.Application, kernel) -> list[web.RouteDef]:
    """The route to add (none when metrics are off); the middleware goes on ``app``."""
    if not kernel.settings.metrics_enabled:
        return []
    app.middlewares.append(timed)
    return [web.get("/metrics", metrics)]
