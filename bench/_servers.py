"""Servers the benchmarks measure: `bare PORT`, `sse PORT`, `detail PORT MONGO_URI` or `kernel PORT MONGO_URI`."""

from __future__ import annotations

import sys

from aiohttp import web

PAYLOAD = {"id": "6f1c", "title": "Warehouse techno night", "city": "Berlin", "likes": 42, "tags": ["techno", "club"]}


async def bare_handler(request: web.Request) -> web.Response:
    return web.json_response(PAYLOAD)


def bare(port: int) -> None:
    app = web.Application()
    app.router.add_get("/api/bench", bare_handler)
    print("ready", flush=True)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def bare_stream(request: web.Request) -> web.StreamResponse:
    from aiohttp_sse import sse_response

    async with sse_response(request, ping_interval=15) as response:
        await response.send('{"unread":0}', event="unread-count", id="0")
        await response.wait()
    return response


def sse(port: int) -> None:
    """The floor for memory per idle stream: aiohttp-sse alone, no auth, no hub."""
    app = web.Application()
    app.router.add_get("/api/notifications/stream", bare_stream)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def detail(port: int, mongo_uri: str, database: str = "eventonight") -> None:
    """The floor for ``GET /api/events/{id}``: aiohttp, one ``find_one`` and orjson, nothing else.

    The same driver and client options as the platform's reads (PyMongo's asyncio client), the same
    JSON library and database; no plugins' routing table, request id, headers, token check, domain
    object or view.
    """
    import orjson
    from pymongo import AsyncMongoClient

    events = AsyncMongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=5000)[database]["events_events"]

    async def handler(request: web.Request) -> web.Response:
        doc = await events.find_one({"_id": request.match_info["eventId"]})
        if doc is None:
            raise web.HTTPNotFound()
        return web.Response(body=orjson.dumps(doc), content_type="application/json")

    app = web.Application()
    app.router.add_get("/api/events/{eventId}", handler)
    app.router.add_get("/health", bare_handler)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class BenchPlugin:
    """An authenticated JSON GET, as a plugin route."""

    @staticmethod
    def _routes():
        from eventonight.hooks.http import json_response, require_user

        async def handler(request: web.Request) -> web.Response:
            await require_user(request)
            return json_response(PAYLOAD)

        return [web.get("/api/bench", handler)]

    from eventonight.hooks import hookimpl

    @hookimpl
    def eventonight_routes(self, kernel):
        return self._routes()


def kernel(port: int, mongo_uri: str, database: str = "bench_kernel") -> None:
    from importlib.metadata import entry_points

    from _common import BENCH_KEK

    from eventonight.kernel import Kernel
    from eventonight.kernel.http.app import create_app
    from eventonight.settings import Settings

    # The kernel alone: installed domain plugins (and their background threads) are left out.
    installed = [ep.name for ep in entry_points(group="eventonight.plugins")]
    settings = Settings(
        mongodb_uri=mongo_uri, database=database, port=port, disabled_plugins=installed, key_encryption_keys=[BENCH_KEK]
    )
    k = Kernel(settings, extra_plugins=[("bench", BenchPlugin())])

    async def build() -> web.Application:
        app = await create_app(k, relay=False, consumers=False, scheduler=False)

        async def announce(app):
            print("token", k.tokens.issue_access_token("bench-user", "member"), flush=True)

        app.on_startup.append(announce)
        return app

    web.run_app(build(), host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "bare":
        bare(port)
    elif kind == "sse":
        sse(port)
    elif kind == "detail":
        detail(port, *sys.argv[3:])
    else:
        kernel(port, *sys.argv[3:])
