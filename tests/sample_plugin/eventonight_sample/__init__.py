"""A minimal third-party plugin: one route, one startup hook that leaves a trace."""

from aiohttp import web

from eventonight.hooks import hookimpl

HOOK_API_VERSION = 1


async def hello(request: web.Request) -> web.Response:
    return web.json_response({"hello": "from the sample plugin"})


@hookimpl
def eventonight_routes(kernel):
    return [web.get("/api/sample/hello", hello)]


@hookimpl
async def eventonight_startup(kernel):
    await kernel.transaction(lambda uow: uow.collection("sample_startups").insert_one({"plugin": "sample"}))
