"""MongoDB access: the clients and odmantic engine of a process, and the unit of work.

Transactions (and odmantic) run on motor; ``kernel.read``'s collections on PyMongo's own asyncio
client, which sends a read from the event loop itself where motor hands every operation to a
thread and back (most of a lookup's cost in the web process, bench/events_queries.py); the
handles are in handles.py.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

from motor.motor_asyncio import AsyncIOMotorClient
from odmantic import AIOEngine
from pymongo import AsyncMongoClient
from pymongo.errors import InvalidOperation, PyMongoError

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.errors import ConcurrencyConflict
from eventonight.kernel.handles import UNLIMITED, BoundCollection, ReadCollection, ReadSlots
from eventonight.kernel.jsonable import jsonable

log = logging.getLogger(__name__)

OUTBOX = "kernel_outbox"
#: The events of one ``record_many`` share an outbox document, this many at most: on the embedded
#: database writing and deleting a document costs about the same whatever its size, and a relayed
#: record is both. A lone event keeps a document of its own (``{eventId, eventType, occurredAt,
#: payload}``); a bundle is ``{occurredAt, n, entries: [those fields, ...]}``.
OUTBOX_BUNDLE = 64
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


class BoundEngine:
    """odmantic's engine with every call in one session (or, for reads, in none)."""

    __slots__ = ("_engine", "_session")

    def __init__(self, engine: AIOEngine, session: Any) -> None:
        self._engine = engine
        self._session = session

    async def find(self, model: type[T], *queries: Any, **kwargs: Any) -> list[T]:
        return await self._engine.find(model, *queries, session=self._session, **kwargs)

    async def find_one(self, model: type[T], *queries: Any, **kwargs: Any) -> T | None:
        return await self._engine.find_one(model, *queries, session=self._session, **kwargs)

    async def count(self, model: type, *queries: Any) -> int:
        return await self._engine.count(model, *queries, session=self._session)

    async def save(self, instance: T) -> T:
        return await self._engine.save(instance, session=self._session)

    async def save_all(self, instances: list[T]) -> list[T]:
        return await self._engine.save_all(instances, session=self._session)

    async def delete(self, instance: Any) -> None:
        await self._engine.delete(instance, session=self._session)

    async def remove(self, model: type, *queries: Any, just_one: bool = False) -> int:
        return await self._engine.remove(model, *queries, just_one=just_one, session=self._session)


class Reader:
    """``kernel.read``: reads outside any transaction (each sees committed data)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.session = None
        self.engine = BoundEngine(database.engine, None)

    def collection(self, name_or_model: Any) -> BoundCollection:
        collection = self._database.read_collection(name_or_model)
        return ReadCollection(collection, self._database.read_slots)

    async def record(self, event_type: str, payload: dict[str, Any]) -> DomainEvent:
        """Refused: a domain event recorded outside a transaction could be lost or sent for nothing."""
        raise RuntimeError("domain events can only be recorded inside a transaction (kernel.transaction)")

    async def record_many(self, events: list[tuple[str, dict[str, Any]]]) -> list[DomainEvent]:
        return [await self.record(t, p) for t, p in events]


class UnitOfWork:
    """One MongoDB transaction: collections and odmantic bound to it, plus outbox records.

    Everything done through it commits or aborts together, including the
    domain events recorded with :meth:`record`.
    """

    def __init__(self, database: Database, session: Any) -> None:
        self._database = database
        self.session = session
        self.engine = BoundEngine(database.engine, session)
        self.recorded: list[DomainEvent] = []

    def collection(self, name_or_model: Any) -> BoundCollection:
        """The collection (by name or odmantic model), every operation inside this transaction."""
        return BoundCollection(self._database.raw_collection(name_or_model), self.session)

    async def record(self, event_type: str, payload: dict[str, Any]) -> DomainEvent:
        """Write a domain event to the outbox in this transaction."""
        return (await self.record_many([(event_type, payload)]))[0]

    async def record_many(self, events: list[tuple[str, dict[str, Any]]]) -> list[DomainEvent]:
        """Write ``(event_type, payload)`` domain events to the outbox in this transaction, in order."""
        if not events:
            return []
        at = utcnow()
        # Stored as the consumers will see it: JSON types only (datetimes as ISO-8601 UTC strings).
        recorded = [DomainEvent(id=str(uuid4()), event_type=t, occurred_at=at, payload=jsonable(p)) for t, p in events]
        entries = [
            {"eventId": e.id, "eventType": e.event_type, "occurredAt": e.occurred_at, "payload": e.payload}
            for e in recorded
        ]
        documents = []
        for start in range(0, len(entries), OUTBOX_BUNDLE):
            part = entries[start : start + OUTBOX_BUNDLE]
            documents.append(part[0] if len(part) == 1 else {"occurredAt": at, "n": len(part), "entries": part})
        await self._database.db[OUTBOX].insert_many(documents, session=self.session)
        self.recorded.extend(recorded)
        return recorded


class Database:
    """The process-wide MongoDB client, odmantic engine and transaction helpers."""

    def __init__(self, uri: str, name: str) -> None:
        self.uri = uri
        self.name = name
        self.client = AsyncIOMotorClient(uri, tz_aware=True, serverSelectionTimeoutMS=5000)
        self.db = self.client[name]
        self.engine = AIOEngine(client=self.client, database=name)
        self._collections: dict[Any, Any] = {}
        self._reads: AsyncMongoClient | None = None
        self._closed = False
        self._read_collections: dict[Any, Any] = {}
        #: The read client's connections as permits (handles.py), built with it.
        self.read_slots = UNLIMITED
        self._commit_listeners: list[Callable[[list[DomainEvent]], None]] = []

    def raw_collection(self, name_or_model: Any):
        """The motor collection for a model class or collection name (kernel use; plugins get bound ones)."""
        # Built once per name: making a motor collection took ~5% of a small read's web-process time.
        found = self._collections.get(name_or_model)
        if found is None:
            if isinstance(name_or_model, str):
                found = self.db[name_or_model]
            else:
                found = self.engine.get_collection(name_or_model)
            self._collections[name_or_model] = found
        return found

    def read_collection(self, name_or_model: Any):
        """The collection on PyMongo's asyncio client (``kernel.read``'s handles)."""
        found = self._read_collections.get(name_or_model)
        if found is None:
            if self._reads is None:  # built on first use: the client belongs to the running event loop
                if self._closed:
                    raise InvalidOperation("the database handle was closed")
                self._reads = AsyncMongoClient(self.uri, tz_aware=True, serverSelectionTimeoutMS=5000)
                pool = self._reads.options.pool_options
                self.read_slots = ReadSlots(pool.max_pool_size, pool.wait_queue_timeout)
            name = name_or_model if isinstance(name_or_model, str) else self.raw_collection(name_or_model).name
            found = self._read_collections[name_or_model] = self._reads[self.name][name]
        return found

    def on_commit(self, listener: Callable[[list[DomainEvent]], None]) -> None:
        """Call ``listener(events)`` after a unit of work that recorded events commits."""
        self._commit_listeners.append(listener)

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def ensure_indexes(self, models: list[type]) -> None:
        await self.engine.configure_database(models)

    async def close(self) -> None:
        # Both stay closed: a read after this raises (InvalidOperation), as a write does.
        self._closed = True
        self.client.close()
        if self._reads is not None:
            await self._reads.close()

    @asynccontextmanager
    async def uow(self) -> AsyncIterator[UnitOfWork]:
        """``async with db.uow() as uow:`` one transaction.

        Commits when the block exits normally (retrying a commit whose result
        is unknown), aborts when it raises. To also re-run the block after a
        transient conflict, use :meth:`transaction`.
        """
        async with await self.client.start_session() as session:
            session.start_transaction()
            unit = UnitOfWork(self, session)
            try:
                yield unit
            except BaseException:
                if session.in_transaction:
                    await session.abort_transaction()
                raise
            await self._commit(session)
        if unit.recorded:
            for listener in self._commit_listeners:
                listener(unit.recorded)

    async def _commit(self, session: Any) -> None:
        for attempt in range(5):
            try:
                await session.commit_transaction()
                return
            except PyMongoError as exc:
                if attempt < 4 and exc.has_error_label("UnknownTransactionCommitResult"):
                    continue
                raise

    async def transaction(self, work: Callable[[UnitOfWork], Awaitable[T]], *, attempts: int = 16) -> T:
        """Run ``work(uow)`` in a transaction, re-running it on transient conflicts.

        After ``attempts`` conflicting tries raises :class:`ConcurrencyConflict` (409).
        """
        for attempt in range(attempts):
            try:
                async with self.uow() as unit:
                    return await work(unit)
            except PyMongoError as exc:
                # A closed client's refusal carries the transient label inside a transaction; no retry mends it.
                if not exc.has_error_label("TransientTransactionError") or isinstance(exc, InvalidOperation):
                    raise
                log.debug("transient transaction error, attempt %d: %s", attempt + 1, exc)
                await asyncio.sleep(min(0.5, 0.005 * 2**attempt) * random.random())
        raise ConcurrencyConflict()
