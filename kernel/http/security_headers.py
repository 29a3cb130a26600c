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


def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Put the headers above on ``response`` (those its route set itself stay)."""
    headers = response.headers
    for name, value in HEADERS.items():
        if name not in headers:
            headers[name] = value
    headers["Server"] = SERVER
    # request.query parses the query string: only looked at when there is one.
    authenticated = "Authorization" in request.headers or (
        bool(request.query_string) and "access_token" in request.query
    )
    if authenticated and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
