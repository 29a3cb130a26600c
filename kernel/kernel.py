"""The kernel: settings, plugins, database, tokens and the bus, started and stopped together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from eventonight.hooks.types import Consumer, DomainEvent, ScheduledJob
from eventonight.kernel.auth.keys import KeyStore
from eventonight.kernel.auth.revocations import Revocations
from eventonight.kernel.auth.tokens import TokenService
from eventonight.kernel.bus.publisher import Publisher
from eventonight.kernel.bus.topology import pattern_matches
from eventonight.kernel.db import Database, UnitOfWork, utcnow
from eventonight.kernel.embedded_mongo import EmbeddedMongo
from eventonight.kernel.hookcall import acall_each, await_me_maybe, call_each, implementations
from eventonight.kernel.plugins import PluginRegistry, load_plugins
from eventonight.settings import Settings

log = logging.getLogger(__name__)

PROCESSED = "kernel_processed_messages"
REVOCATION_REFRESH_SECONDS = 5.0
T = TypeVar("T")


class Kernel:
    """What every plugin gets as ``kernel`` in its hooks."""

    def __init__(self, settings: Settings | None = None, *, extra_plugins: list[tuple[str, Any]] = ()) -> None:
        self.settings = settings or Settings()
        self.plugins: PluginRegistry = load_plugins(self.settings, list(extra_plugins))
        self.pm = self.plugins.pm
        self.plugin_settings: dict[str, Any] = {}
        #: Per-kernel objects a plugin builds once (its services), keyed by plugin name.
        self.plugin_state: dict[str, Any] = {}
        self.database: Database | None = None
        self.tokens: TokenService | None = None
        self.keys: KeyStore | None = None
        self.revocations: Revocations | None = None
        self.publisher: Publisher | None = None
        self._embedded: EmbeddedMongo | None = None
        self._consumers: dict[str, list[Consumer]] | None = None
        self._key_refresher: asyncio.Task | None = None
        self.started = False

    @property
    def hook(self):
        """``kernel.hook.<name>(...)``: call a hook, e.g. a domain extension point."""
        return self.pm.hook

    # -- lifecycle -------------------------------------------------------
    async def start(self) -> None:
        for name, settings_class in call_each(self.pm, "eventonight_settings"):
            if settings_class is not None:
                self.plugin_settings[name] = settings_class()
        uri = self.settings.mongodb_uri
        if not uri:
            self._embedded = EmbeddedMongo(self.settings.data_dir / "mongo", self.settings.embedded_mongo_port)
            uri = await asyncio.to_thread(self._embedded.start)
        self.database = Database(uri, self.settings.database)
        await self.database.ping()
        models = [m for _, ms in call_each(self.pm, "eventonight_models") for m in (ms or [])]
        await self.database.ensure_indexes(models)
        await self.database.db[PROCESSED].create_index("at", expireAfterSeconds=14 * 24 * 3600)
        self.keys = KeyStore(self.database, token_ttl_seconds=self.settings.access_token_ttl_seconds)
        await self.keys.load()
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
        await acall_each(self.pm, "eventonight_startup", kernel=self)
        self.started = True

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

    def tag_catalogue(self) -> dict[str, list[str]]:
        """The merged tag catalogue from ``eventonight_tag_catalogue`` (empty without a provider)."""
        merged: dict[str, list[str]] = {}
        for _, contribution in call_each(self.pm, "eventonight_tag_catalogue", kernel=self):
            for category, tags in (contribution or {}).items():
                known = merged.setdefault(category, [])
                known.extend(t for t in tags if t not in known)
        return merged

    async def stop(self) -> None:
        if self._key_refresher is not None:
            self._key_refresher.cancel()
        for name, call in reversed(implementations(self.pm, "eventonight_shutdown")):
            try:
                await await_me_maybe(call(kernel=self))
            except Exception:
                log.exception("plugin %s failed during shutdown", name)
        if self.publisher is not None:
            await asyncio.to_thread(self.publisher.close)
        if self.database is not None:
            self.database.close()
        if self._embedded is not None:
            await asyncio.to_thread(self._embedded.stop)
        self.started = False

    # -- persistence -----------------------------------------------------
    def uow(self):
        """``async with kernel.uow() as uow:`` one MongoDB transaction (see :class:`Database`)."""
        return self.database.uow()

    async def transaction(self, work: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``work(uow)`` in a transaction, re-running it on transient conflicts."""
        return await self.database.transaction(work)

    def plugin_service(self, name: str, build: Callable[[], T]) -> T:
        """The object ``build()`` makes, built once per kernel and kept in ``plugin_state[name]``."""
        if name not in self.plugin_state:
            self.plugin_state[name] = build()
        return self.plugin_state[name]

    def store_runners(self, make_store: Callable[[Any, Any], Any]) -> tuple[Callable, Callable]:
        """``(transaction, direct)`` for use cases written as ``work(store, uow)``.

        ``transaction(work)`` runs ``work(make_store(db, session), uow)`` in a retried
        transaction; ``direct(work)`` runs ``work(make_store(db, None), None)`` without one.
        """

        async def transaction(work):
            return await self.transaction(lambda uow: work(make_store(self.database.db, uow.session), uow))

        async def direct(work):
            return await work(make_store(self.database.db, None), None)

        return transaction, direct

    # -- bus -------------------------------------------------------------
    def consumers(self) -> dict[str, list[Consumer]]:
        if self._consumers is None:
            self._consumers = {
                name: list(result)
                for name, result in call_each(self.pm, "eventonight_consumers", kernel=self)
                if result
            }
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
        at = utcnow()
        markers = [{"_id": f"{plugin}:{c.name}:{e.id}", "at": at} for c, matching in plan for e in matching]

        by_consumer = any(consumer.batch for consumer, _ in plan)

        async def work(uow: UnitOfWork) -> None:
            # Markers first: a redelivery fails the insert at once, before any handler runs.
            await uow.collection(PROCESSED).insert_many(markers, session=uow.session)
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
        key = f"{plugin}:{consumer.name}:{event.id}"

        async def work(uow: UnitOfWork) -> None:
            processed = uow.collection(PROCESSED)
            if await processed.find_one({"_id": key}, session=uow.session):
                return
            await consumer.handler([event] if consumer.batch else event, uow)
            # Same transaction as the handler's writes: done exactly once, or not at all.
            await processed.insert_one({"_id": key, "at": utcnow()}, session=uow.session)

        from pymongo.errors import DuplicateKeyError

        try:
            await self.transaction(work)
        except DuplicateKeyError:
            if not await self.database.db[PROCESSED].find_one({"_id": key}):
                raise  # the handler's own duplicate, not a concurrent redelivery

    async def observe(self, event: DomainEvent) -> None:
        """Call every ``eventonight_domain_event`` observer (used by the relay)."""
        await acall_each(self.pm, "eventonight_domain_event", event=event, kernel=self)

    def scheduled_jobs(self) -> list[ScheduledJob]:
        return [job for _, jobs in call_each(self.pm, "eventonight_scheduled_jobs", kernel=self) for job in jobs or []]


def _matches(consumer: Consumer, event: DomainEvent) -> bool:
    return any(pattern_matches(p, event.event_type) for p in consumer.patterns)


async def _each(consumer: Consumer, events: list[DomainEvent], uow: UnitOfWork) -> None:
    for event in events:
        await consumer.handler(event, uow)
