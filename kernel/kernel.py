"""The kernel: settings, plugins, database, tokens and the bus, started and stopped together."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from eventonight.hooks.types import Consumer, DomainEvent, ScheduledJob
from eventonight.kernel.audit import AuditTrail
from eventonight.kernel.auth.keys import KeyStore
from eventonight.kernel.auth.revocations import Revocations
from eventonight.kernel.auth.tokens import TokenService
from eventonight.kernel.bus.broadcast import BroadcastListener
from eventonight.kernel.bus.publisher import Publisher
from eventonight.kernel.bus.queues import QueueRegistry
from eventonight.kernel.bus.topology import pattern_matches
from eventonight.kernel.db import Database, Reader, UnitOfWork, utcnow
from eventonight.kernel.embedded_mongo import EmbeddedMongo
from eventonight.kernel.hookcall import Hooks, acall_each, await_me_maybe, call_each, implementations
from eventonight.kernel.metrics import Metrics
from eventonight.kernel.plugins import PluginRegistry, load_plugins
from eventonight.kernel.processed import PROCESSED, ensure_indexes, mark_processed, marker_key, was_processed
from eventonight.kernel.secrets import load_secrets
from eventonight.settings import Settings

log = logging.getLogger(__name__)

REVOCATION_REFRESH_SECONDS = 5.0
T = TypeVar("T")
R = TypeVar("R")


class Kernel:
    """The platform: what every plugin gets as ``kernel`` in its hooks.

    Plugins use the part described by :class:`eventonight.hooks.PluginKernel`
    (settings, ``hooks``, ``transaction``/``uow``, ``read``, tokens, the
    publisher and broadcast listeners); the rest is the kernel's own.
    """

    def __init__(self, settings: Settings | None = None, *, extra_plugins: list[tuple[str, Any]] = ()) -> None:
        self.settings = settings or Settings()
        self.plugins: PluginRegistry = load_plugins(self.settings, list(extra_plugins))
        self.pm = self.plugins.pm
        self.hooks = Hooks(self.pm, kernel=self)
        self.plugin_settings: dict[str, Any] = {}
        self.database: Database | None = None
        self.read: Reader | None = None
        self.tokens: TokenService | None = None
        self.keys: KeyStore | None = None
        self.revocations: Revocations | None = None
        self.audit: AuditTrail | None = None
        self.publisher: Publisher | None = None
        self.queues: QueueRegistry | None = None
        self.metrics = Metrics()
        self._embedded: EmbeddedMongo | None = None
        self._plugin_state: dict[str, Any] = {}
        self._consumers: dict[str, list[Consumer]] | None = None
        self._key_refresher: asyncio.Task | None = None

    # -- lifecycle -------------------------------------------------------
    async def start(self, *, plugins_startup: bool = True) -> None:
        """Connect, create indexes, load keys, then run the plugins' ``eventonight_startup``.

        ``plugins_startup=False`` is for inspection (``eventonight plugins``): no plugin is started.
        """
        for result in call_each(self.pm, "eventonight_settings"):
            if result.value is not None:
                self.plugin_settings[result.plugin] = result.value()
        uri = self.settings.mongodb_uri
        # Before anything starts: a production platform without its key-encryption key stops here.
        self.secrets = load_secrets(self.settings.key_encryption_keys, not uri, self.settings.data_dir)
        if not uri:
            self._embedded = EmbeddedMongo(self.settings.data_dir / "mongo", self.settings.embedded_mongo_port)
            uri = await asyncio.to_thread(self._embedded.start)
        self.database = Database(uri, self.settings.database)
        self.database.on_commit(self.committed)
        self.read = Reader(self.database)
        await self.database.ping()
        await self._ensure_indexes()
        self.keys = KeyStore(self.database, self.secrets, token_ttl_seconds=self.settings.access_token_ttl_seconds)
        await self.keys.load()
        self.audit = AuditTrail(self.database, retention_days=self.settings.audit_retention_days)
        await self.audit.ensure_indexes()
        self.revocations = Revocations(self.database, keep_seconds=self.settings.access_token_ttl_seconds + 60)
        await self.revocations.ensure_indexes()
        await self.revocations.load()
        self.tokens = TokenService(
            self.keys,
            issuer=self.settings.jwt_issuer,
            audience=self.settings.jwt_audience,
            access_ttl_seconds=self.settings.access_token_ttl_seconds,
            trusted_issuers=self.settings.trusted_issuers,
            revocations=self.revocations,
        )
        self._key_refresher = asyncio.create_task(self._refresh_keys_forever(), name="key-refresh")
        self.publisher = Publisher(self.settings.broker_url, self.settings.exchange)
        self.queues = QueueRegistry(self.database, self.settings)
        orphans = await self.queues.orphans(self.plugins.installed())
        if orphans:
            log.warning(
                "queues of plugins no longer installed still receive events: %s (remove with: eventonight plugins prune)",
                "; ".join(f"{o.plugin}: {', '.join(o.queues)}" for o in orphans),
            )
        if not plugins_startup:
            return
        for result in await acall_each(self.pm, "eventonight_startup", robust=True, kernel=self):
            if result.error is not None:
                self.plugins.leave_out(result.plugin, f"eventonight_startup failed: {result.error!r}")

    async def _ensure_indexes(self) -> None:
        for result in call_each(self.pm, "eventonight_retired_indexes"):
            for collection, names in (result.value or {}).items():
                existing = {index["name"] async for index in self.database.db[collection].list_indexes()}
                for name in set(names) & existing:
                    log.info("dropping index %s.%s, retired by %s", collection, name, result.plugin)
                    await self.database.db[collection].drop_index(name)
        models = [m for r in call_each(self.pm, "eventonight_models") for m in (r.value or [])]
        await self.database.ensure_indexes(models)
        for result in call_each(self.pm, "eventonight_indexes"):
            for collection, indexes in (result.value or {}).items():
                if indexes:
                    await self.database.db[collection].create_indexes(list(indexes))
        await ensure_indexes(self.database.db)

    async def _refresh_keys_forever(self) -> None:
        # Another process may rotate the keys (sign with the new key within 30 s,
        # well inside the window in which retired keys stay published) or revoke
        # tokens (applied here within REVOCATION_REFRESH_SECONDS).
        ticks = 0
        while True:
            await asyncio.sleep(REVOCATION_REFRESH_SECONDS)
            ticks += 1
            try:
                await self.revocations.load()
                if ticks * REVOCATION_REFRESH_SECONDS >= self.keys.refresh_seconds:
                    ticks = 0
                    await self.keys.refresh_if_stale(force=True)
            except Exception:  # database briefly away: keep what we have
                log.warning("could not refresh signing keys or revocations", exc_info=True)

    async def stop(self) -> None:
        if self._key_refresher is not None:
            self._key_refresher.cancel()
        # Reverse call order: the plugin started first stops last.
        for plugin, call in reversed(implementations(self.pm, "eventonight_shutdown")):
            try:
                await await_me_maybe(call(kernel=self))
            except Exception:
                log.exception("plugin %s failed during shutdown", plugin)
        if self.publisher is not None:
            await asyncio.to_thread(self.publisher.close)
        if self.database is not None:
            await self.database.close()
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)

    # -- persistence -----------------------------------------------------
    def uow(self):
        """``async with kernel.uow() as uow:`` one MongoDB transaction (see :class:`Database`)."""
        return self.database.uow()

    async def transaction(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``work(uow)`` in a transaction, re-running it on transient conflicts."""
        return await self.database.transaction(work)

    def runners(self, make: Callable[[Any], R]) -> tuple[Callable, Callable]:
        """``(transaction, read)`` for use cases written as ``work(repos, data)``.

        ``make(data)`` builds the plugin's repositories over a data handle.
        ``await transaction(work)`` runs ``work(make(uow), uow)`` in a transaction
        re-run on transient conflicts; ``await read(work)`` runs
        ``work(make(kernel.read), kernel.read)`` outside any transaction (its
        ``record`` refuses, so an event cannot be recorded outside one).
        """

        async def transaction(work):
            return await self.transaction(lambda uow: work(make(uow), uow))

        async def read(work):
            return await work(make(self.read), self.read)

        return transaction, read

    def plugin_service(self, name: str, build: Callable[[], T]) -> T:
        """The object ``build()`` makes, built once per kernel (a plugin's services), kept under ``name``."""
        if name not in self._plugin_state:
            self._plugin_state[name] = build()
        return self._plugin_state[name]

    def broadcast_listener(self, patterns, callback, name: str) -> BroadcastListener:
        """A per-process subscription to ``patterns``; see :class:`BroadcastListener`."""
        return BroadcastListener(
            url=self.settings.broker_url,
            exchange_name=self.settings.exchange,
            patterns=list(patterns),
            callback=callback,
            loop=asyncio.get_running_loop(),
            name=name,
        )

    # -- bus -------------------------------------------------------------
    def consumers(self) -> dict[str, list[Consumer]]:
        if self._consumers is None:
            self._consumers = {}
            for result in call_each(self.pm, "eventonight_consumers", robust=True, kernel=self):
                if result.error is not None:
                    self.plugins.leave_out(result.plugin, f"eventonight_consumers failed: {result.error!r}")
                elif result.value:
                    self._consumers[result.plugin] = list(result.value)
        return self._consumers

    def bindings(self) -> dict[str, list[str]]:
        return {
            plugin: sorted({p for c in consumers for p in c.patterns}) for plugin, consumers in self.consumers().items()
        }

    async def dispatch(self, plugin: str, event: DomainEvent) -> None:
        """Run each of ``plugin``'s matching consumers once for ``event`` (redeliveries are skipped)."""
        for consumer in self.consumers().get(plugin, []):
            if _matches(consumer, event):
                await self._run_once(plugin, consumer, event)

    async def dispatch_batch(self, plugin: str, events: list[DomainEvent]) -> None:
        """Run ``plugin``'s consumers for consecutive ``events`` in one transaction.

        All or nothing: it raises when a handler fails or when any of the events was
        processed before (its marker exists); the caller then falls back to
        :meth:`dispatch` per event, which skips redeliveries and isolates failures.
        """
        unique = list({event.id: event for event in events}.values())
        plan = [(c, [e for e in unique if _matches(c, e)]) for c in self.consumers().get(plugin, [])]
        plan = [(consumer, matching) for consumer, matching in plan if matching]
        if not plan:
            return
        keys = [marker_key(plugin, c.name, e.id) for c, matching in plan for e in matching]

        by_consumer = any(consumer.batch for consumer, _ in plan)

        async def work(uow: UnitOfWork) -> None:
            # The marker first: a redelivery fails it at once, before any handler runs.
            await mark_processed(uow.collection(PROCESSED), keys, utcnow())
            if by_consumer:  # see Consumer: each consumer over all its events, in declared order
                for consumer, matching in plan:
                    await (consumer.handler(matching, uow) if consumer.batch else _each(consumer, matching, uow))
            else:  # exactly the order of one message at a time
                for event in unique:
                    for consumer, _ in plan:
                        if _matches(consumer, event):
                            await consumer.handler(event, uow)

        await self.transaction(work)

    async def _run_once(self, plugin: str, consumer: Consumer, event: DomainEvent) -> None:
        key = marker_key(plugin, consumer.name, event.id)

        async def work(uow: UnitOfWork) -> None:
            processed = uow.collection(PROCESSED)
            if await was_processed(processed, key):
                return
            await consumer.handler([event] if consumer.batch else event, uow)
            # Same transaction as the handler's writes: done exactly once, or not at all.
            await mark_processed(processed, [key], utcnow(), checked=True)

        from pymongo.errors import DuplicateKeyError

        try:
            await self.transaction(work)
        except DuplicateKeyError:
            if not await was_processed(self.database.db[PROCESSED], key):
                raise  # the handler's own duplicate, not a concurrent redelivery

    def committed(self, events: list[DomainEvent]) -> None:
        """Call every ``eventonight_committed`` implementation (after each commit that recorded events)."""
        for result in call_each(self.pm, "eventonight_committed", robust=True, events=events, kernel=self):
            if inspect.iscoroutine(result.value):  # would never run: the committing call does not wait
                result.value.close()
                log.error("plugin %s: eventonight_committed must be a plain function, not a coroutine", result.plugin)

    async def observe(self, event: DomainEvent) -> None:
        """Call every ``eventonight_domain_event`` observer (used by the relay)."""
        await acall_each(self.pm, "eventonight_domain_event", robust=True, event=event, kernel=self)

    def scheduled_jobs(self) -> list[ScheduledJob]:
        results = call_each(self.pm, "eventonight_scheduled_jobs", robust=True, kernel=self)
        return [job for result in results for job in result.value or []]


def _matches(consumer: Consumer, event: DomainEvent) -> bool:
    return any(pattern_matches(p, event.event_type) for p in consumer.patterns)


async def _each(consumer: Consumer, events: list[DomainEvent], uow: UnitOfWork) -> None:
    for event in events:
        await consumer.handler(event, uow)
