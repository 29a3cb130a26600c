"""Headers every response carries: no sniffing (media is served from the API's origin), no framing,
no referrer, no caching of what a credential fetched, and no server version."""

from __future__ import annotations

from aiohttp import web

SERVER = "eventonight"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # API answers are data, never a page to run: nothing may load from them or frame them.
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    response.headers["Server"] = SERVER
    authenticated = "Authorization" in request.headers or "access_token" in request.query
    if authenticated and "Cache-Control" not in response.headers:
        response.headers["Cache-Control"] = "no-store"


def install(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
