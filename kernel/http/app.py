"""The aiohttp application factory."""

from __future__ import annotations

import asyncio
import gc
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from eventonight.kernel.gc_keeper import GcKeeper
from eventonight.kernel.hookcall import acall_each, call_each
from eventonight.kernel.http import cors, docs_route, metrics_route, openapi, protocol_errors, security_headers
from eventonight.kernel.http.handling import add_catch_all, wrap_routes
from eventonight.kernel.http.keys import KERNEL
from eventonight.kernel.kernel import Kernel
from eventonight.kernel.runtime import Runtime, broker_reachable

RUNTIME: web.AppKey[Runtime] = web.AppKey("eventonight_runtime")
OPENAPI: web.AppKey[dict] = web.AppKey("eventonight_openapi")


def kernel_version() -> str:
    try:
        return version("eventonight")
    except PackageNotFoundError:
        return "0+unknown"


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    kernel = request.app[KERNEL]
    checks = {"database": "ok", "broker": "ok"}
    try:
        async with asyncio.timeout(3):  # not wait_for: on 3.11 it can swallow the request's cancellation
            await kernel.database.ping()
    except Exception as exc:  # noqa: BLE001 - report, don't crash
        checks["database"] = f"unreachable: {type(exc).__name__}"
    if not await asyncio.to_thread(broker_reachable, kernel.settings.broker_url):
        checks["broker"] = "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return web.json_response(
        {"status": "ready" if healthy else "not ready", "checks": checks}, status=200 if healthy else 503
    )


async def jwks(request: web.Request) -> web.Response:
    keys = request.app[KERNEL].keys
    await keys.refresh_if_stale()
    return web.json_response(keys.public_jwks(), headers={"Cache-Control": "public, max-age=60"})


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(request.app[OPENAPI])


def build_openapi(kernel: Kernel) -> dict:
    document = openapi.kernel_document("eventonight", kernel_version())
    owners: dict[str, str] = {}
    for result in call_each(kernel.pm, "eventonight_openapi", kernel=kernel):
        if result.value:
            openapi.merge(document, result.value, result.plugin, owners)
    return openapi.complete(document)


def add_plugin_routes(app: web.Application, kernel: Kernel) -> None:
    """Each plugin's routes; a plugin whose routes cannot be built is left out, the others are served."""
    for result in call_each(kernel.pm, "eventonight_routes", robust=True, kernel=kernel):
        if result.error is not None:
            kernel.plugins.leave_out(result.plugin, f"eventonight_routes failed: {result.error!r}")
            continue
        try:
            added = app.router.add_routes(wrap_routes(result.value or []))
        except Exception as exc:  # noqa: BLE001 - e.g. a malformed path or a route another plugin took
            kernel.plugins.leave_out(result.plugin, f"its routes could not be added: {exc!r}")
            continue
        info = kernel.plugins.info_for(result.plugin)
        if info is not None:
            info.routes = [f"{r.method} {r.resource.canonical}" for r in added if r.resource is not None]


async def _response_headers(request: web.Request, response: web.StreamResponse) -> None:
    # One receiver for both: a signal receiver is a coroutine call on every response.
    security_headers.add_security_headers(request, response)
    cors.add_headers(request, response)


async def create_app(
    kernel: Kernel, *, relay: bool = True, consumers: bool = True, scheduler: bool = True, inspect: bool = False
) -> web.Application:
    """Start the kernel, then build the web application with every plugin's routes.

    Routes are built once the kernel started (database, keys and plugins'
    startup done), so handlers hold real services. The application's cleanup
    context starts the requested background roles and stops everything.
    ``inspect=True`` builds an application only to list it: no plugin is started.
    """
    protocol_errors.install()
    runtime = Runtime(kernel, relay=relay, consumers=consumers, scheduler=scheduler)
    await kernel.start(plugins_startup=not inspect)
    try:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app[KERNEL] = kernel
        app.on_response_prepare.append(_response_headers)
        cors.install(app, kernel.settings.cors_origins)
        app.router.add_routes(
            wrap_routes(
                [
                    web.get("/health", health),
                    web.get("/ready", ready),
                    web.get("/.well-known/jwks.json", jwks),
                    web.get("/api/openapi.json", openapi_document),
                    *docs_route.routes(),
                    *metrics_route.install(app, kernel),
                ]
            )
        )
        kernel.consumers()  # a plugin whose consumers cannot be built is left out before its routes are added
        add_plugin_routes(app, kernel)
        add_catch_all(app)
        app[OPENAPI] = build_openapi(kernel)
    except BaseException:
        await kernel.stop()
        raise
    app[RUNTIME] = runtime

    async def lifecycle(app: web.Application):
        await runtime.start_roles()
        # Everything built at startup lives as long as the process: keep it out of the
        # cyclic GC's scans, which otherwise walk every module and model on each full pass.
        gc.collect()
        gc.freeze()
        settings = kernel.settings
        keeper = None
        if settings.gc_freeze_seconds:  # and what lives long later (open streams), in turns
            keeper = asyncio.create_task(GcKeeper(settings.gc_freeze_seconds, settings.gc_full_seconds).run())
        yield
        if keeper is not None:
            keeper.cancel()
        await runtime.stop()

    app.cleanup_ctx.append(lifecycle)

    async def draining(app: web.Application) -> None:
        await acall_each(kernel.pm, "eventonight_draining", robust=True, kernel=kernel)

    app.on_shutdown.append(draining)
    return app
