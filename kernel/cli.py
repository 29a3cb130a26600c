"""The ``eventonight`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
import textwrap
from datetime import UTC, datetime, timedelta

from aiohttp import web

from eventonight.kernel.bus.deadletters import cmd_dlq
from eventonight.kernel.errors import PluginLoadError
from eventonight.kernel.hookcall import acall_each, call_each
from eventonight.kernel.http import cors
from eventonight.kernel.http.app import create_app
from eventonight.kernel.jsonable import dumps
from eventonight.kernel.kernel import Kernel
from eventonight.kernel.logs import configure_logging
from eventonight.kernel.runtime import Runtime, broker_reachable
from eventonight.settings import Settings


def _print_lines(results) -> None:
    for result in results:
        for line in result.value or []:
            print(f"[{result.plugin}] {line}", flush=True)


async def _seed(kernel: Kernel) -> None:
    _print_lines(await acall_each(kernel.pm, "eventonight_demo_data", kernel=kernel))


def cmd_serve(kernel: Kernel, args, *, relay: bool, consumers: bool, scheduler: bool) -> int:
    settings = kernel.settings
    settings.cors_origins = cors.origins_for(settings.cors_origins, demo=args.demo or settings.demo)
    database = "embedded SecantusDB under " + str(settings.data_dir) if not settings.mongodb_uri else "MongoDB"
    bus = "in-process bus" if not settings.broker_url else "RabbitMQ"
    plugins = ", ".join(sorted(kernel.plugins.loaded)) or "none"
    print(f"starting eventonight ({database}, {bus}; plugins: {plugins})", flush=True)

    async def build() -> web.Application:
        app = await create_app(kernel, relay=relay, consumers=consumers, scheduler=scheduler)
        if args.demo or settings.demo:

            async def seed(app):
                await _seed(kernel)

            app.on_startup.append(seed)

        async def announce(app):
            base = f"http://{settings.host}:{settings.port}"
            print(f"eventonight listening on {base}", flush=True)
            print(f"  API docs:      {base}/api/docs  (OpenAPI document: {base}/api/openapi.json)", flush=True)
            print(f"  live updates:  {base}/api/notifications/stream  (server-sent events; see the README)")
            print("  stop with Ctrl+C", flush=True)

        app.on_startup.append(announce)
        return app

    # handler_cancellation: a client that goes away ends its handler (long-lived streams included).
    web.run_app(
        build(),
        host=settings.host,
        port=settings.port,
        print=None,
        access_log=None,
        handler_cancellation=True,
        shutdown_timeout=10,
    )
    return 0


async def _run_background(kernel: Kernel, *, relay: bool, consumers: bool) -> int:
    runtime = Runtime(kernel, relay=relay, consumers=consumers, scheduler=consumers)
    await runtime.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print("eventonight " + ("worker" if consumers else "relay") + " running", flush=True)
    await stop.wait()
    await runtime.stop()
    return 0


async def cmd_plugins(kernel: Kernel, args) -> int:
    if args.action == "prune":
        return await _prune(kernel, dry_run=args.dry_run)
    await create_app(kernel, relay=False, consumers=False, scheduler=False, inspect=True)  # attributes routes
    try:
        infos = list(kernel.plugins.loaded.values()) + list(kernel.plugins.failed.values())
        if not infos:
            print("no plugins installed")
        for info in infos:
            print(f"{info.name}  {info.distribution} {info.version}" + ("" if info.error is None else "  FAILED"))
            if info.error is not None:
                print(f"  error: {info.error}")
                continue
            hooks = sorted(c.name for c in kernel.pm.get_hookcallers(info.plugin) or [])
            print(
                textwrap.fill(f"hooks: {', '.join(hooks) or '-'}", 100, initial_indent="  ", subsequent_indent="    ")
            )
            print(f"  routes: {len(info.routes) or '-'}")
            for route in info.routes:
                print(f"    {route}")
        orphans = await kernel.queues.orphans(kernel.plugins.installed())
        for orphan in orphans:
            print(f"not installed, queues left: {orphan.plugin} ({', '.join(orphan.queues)}); see: plugins prune")
        return 1 if kernel.plugins.failed else 0
    finally:
        await kernel.stop()


async def _prune(kernel: Kernel, *, dry_run: bool) -> int:
    await kernel.start()
    try:
        orphans = await kernel.queues.orphans(kernel.plugins.installed())
        if not orphans:
            print("no queues of uninstalled plugins")
            return 0
        for orphan in orphans:
            verb = "would delete" if dry_run else "deleting"
            print(f"{orphan.plugin}: {verb} {', '.join(orphan.queues)}")
        if not dry_run:
            await kernel.queues.prune(orphans)
        return 0
    finally:
        await kernel.stop()


async def _check(kernel: Kernel) -> int:
    from eventonight.kernel.db import Database

    status = 0
    settings = kernel.settings
    if settings.mongodb_uri:
        database = Database(settings.mongodb_uri, settings.database)
        try:
            async with asyncio.timeout(6):  # not wait_for: on 3.11 it can swallow a cancellation
                await database.ping()
            print(f"database: ok ({settings.mongodb_uri.split('@')[-1]})")
        except Exception as exc:  # noqa: BLE001
            print(f"database: UNREACHABLE ({type(exc).__name__}: {exc})")
            status = 1
        finally:
            await database.close()
    else:
        print("database: embedded SecantusDB (started on demand under data_dir)")
    if await asyncio.to_thread(broker_reachable, settings.broker_url):
        print(f"broker: ok ({(settings.broker_url or 'memory://').split('@')[-1]})")
    else:
        print("broker: UNREACHABLE")
        status = 1
    return status


async def _with_started(kernel: Kernel, work) -> int:
    await kernel.start()
    try:
        return await work()
    finally:
        await kernel.stop()


def _since(text: str) -> datetime:
    if text.endswith("h") and text[:-1].replace(".", "", 1).isdigit():
        return datetime.now(UTC) - timedelta(hours=float(text[:-1]))
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError("an ISO time (2026-11-26T10:00Z) or hours back (24h)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def cmd_audit(kernel: Kernel, args) -> int:
    records = await kernel.audit.query(kind=args.kind, user_id=args.user, since=args.since, limit=args.limit)
    for record in records:
        if args.json:
            print(dumps(record))
            continue
        details = " ".join(f"{k}={v}" for k, v in record["details"].items())
        who = " ".join(f"{k}={record[k]}" for k in ("userId", "actorId", "client", "requestId") if record.get(k))
        print(f"{record['at'].isoformat()} {record['kind']} {who} {details}".rstrip())
    return 0


def build_parser(plugin_commands) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="eventonight", description="eventonight events platform")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="web + outbox relay + consumers + scheduler in one process")
    serve.add_argument("--demo", action="store_true", help="create demo data at start")
    sub.add_parser("web", help="HTTP only (run a relay and workers elsewhere)")
    sub.add_parser("worker", help="bus consumers and scheduled jobs only")
    sub.add_parser("relay", help="outbox relay only")
    plugins = sub.add_parser("plugins", help="list installed plugins, their hooks, routes and load errors")
    plugins.add_argument("action", nargs="?", choices=["list", "prune"], default="list")
    plugins.add_argument("--dry-run", action="store_true", help="with prune: only say what would be deleted")
    dlq = sub.add_parser("dlq", help="dead letters: list, replay into the plugin's queue, or purge")
    dlq.add_argument("action", choices=["list", "replay", "purge"])
    dlq.add_argument("plugin", help="the plugin whose dead letters to handle")
    dlq.add_argument("--limit", type=int, default=100, help="at most this many messages (list, replay)")
    sub.add_parser("check", help="can the database and the broker be reached")
    sub.add_parser("seed", help="create demo data")
    keys = sub.add_parser("keys", help="token signing keys")
    keys.add_argument("action", choices=["rotate", "show", "rekey"])
    audit = sub.add_parser("audit", help="security events: logins, failures, password changes, key rotations...")
    audit.add_argument("--kind", help="one kind (login.failed) or a prefix with * (login.*)")
    audit.add_argument("--user", help="records about this user id")
    audit.add_argument("--since", type=_since, help="ISO time (2026-11-26T10:00Z) or hours back (24h)")
    audit.add_argument("--limit", type=int, default=100, help="at most this many, newest first (100)")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    for name, help_text, _ in plugin_commands:
        plugin_parser = sub.add_parser(name, help=help_text)
        plugin_parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None) -> int:
    settings = Settings()
    configure_logging(settings.log_level, access_log=settings.access_log)
    try:
        kernel = Kernel(settings)
    except PluginLoadError as exc:
        print(f"eventonight: {exc}", file=sys.stderr)
        return 2
    plugin_commands = [c for r in call_each(kernel.pm, "eventonight_commands") for c in r.value or []]
    args = build_parser(plugin_commands).parse_args(argv)
    command = args.command
    if command == "serve":
        return cmd_serve(kernel, args, relay=True, consumers=True, scheduler=True)
    if command == "web":
        return cmd_serve(kernel, argparse.Namespace(demo=False), relay=False, consumers=False, scheduler=False)
    if command in ("worker", "relay"):
        return asyncio.run(_run_background(kernel, relay=command == "relay", consumers=command == "worker"))
    if command == "plugins":
        return asyncio.run(cmd_plugins(kernel, args))
    if command == "dlq":
        return cmd_dlq(kernel.settings, args)
    if command == "check":
        return asyncio.run(_check(kernel))
    if command == "seed":

        async def seed() -> int:
            await _seed(kernel)
            return 0

        return asyncio.run(_with_started(kernel, seed))
    if command == "audit":
        return asyncio.run(_with_started(kernel, lambda: cmd_audit(kernel, args)))
    if command == "keys":

        async def keys() -> int:
            if args.action == "rotate":
                kid = await kernel.keys.rotate()
                await kernel.audit.record("keys.rotated", actor_id="operator", kid=kid)
                print(f"new signing key: {kid}")
            if args.action == "rekey":  # after a new key-encryption key was put first in the list
                count = await kernel.keys.rekey()
                await kernel.audit.record("keys.rekeyed", actor_id="operator", keys=count)
                print(f"re-encrypted {count} signing keys under the first key-encryption key")
            for key in kernel.keys.public_jwks()["keys"]:
                print(key["kid"])
            return 0

        return asyncio.run(_with_started(kernel, keys))
    for name, _, run in plugin_commands:
        if name == command:
            return asyncio.run(_with_started(kernel, lambda run=run: run(kernel, args.args)))
    return 2


if __name__ == "__main__":
    sys.exit(main())
