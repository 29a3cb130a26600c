"""MongoDB access: one client and odmantic engine per process, and the unit of work."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import uuid4

from motor.motor_asyncio import AsyncIOMotorClient
from odmantic import AIOEngine
from pymongo.errors import PyMongoError

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.errors import ConcurrencyConflict
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


#: Collection operations that take a session; a bound collection passes its own.
_SESSION_METHODS = frozenset(
    {
        "aggregate",
        "bulk_write",
        "count_documents",
        "delete_many",
        "delete_one",
        "distinct",
        "find",
        "find_one",
        "find_one_and_delete",
        "find_one_and_replace",
        "find_one_and_update",
        "insert_many",
        "insert_one",
        "replace_one",
        "update_many",
        "update_one",
    }
)


class BoundCollection:
    """A collection whose every operation runs in one session (or, for reads, in none).

    Only the CRUD and aggregation operations are offered: a forgotten
    ``session=`` cannot put a write outside the transaction, and index or
    collection management stays with the kernel (``eventonight_indexes``).
    """

    __slots__ = ("_collection", "_session")

    def __init__(self, collection: Any, session: Any) -> None:
        self._collection = collection
        self._session = session

    @property
    def name(self) -> str:
        return self._collection.name

    def __getattr__(self, name: str) -> Any:
        if name not in _SESSION_METHODS:
            raise AttributeError(f"{name!r} is not offered on a plugin's collection handle")
        return functools.partial(getattr(self._collection, name), session=self._session)


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
        return BoundCollection(self._database.raw_collection(name_or_model), None)

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

    def on_commit(self, listener: Callable[[list[DomainEvent]], None]) -> None:
        """Call ``listener(events)`` after a unit of work that recorded events commits."""
        self._commit_listeners.append(listener)

    async def ping(self) -> None:
        await self.client.admin.command("ping")

    async def ensure_indexes(self, models: list[type]) -> None:
        await self.engine.configure_database(models)

    def close(self) -> None:
        self.client.close()

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
                if not exc.has_error_label("TransientTransactionError"):
                    raise
                log.debug("transient transaction error, attempt %d: %s", attempt + 1, exc)
                await asyncio.sleep(min(0.5, 0.005 * 2**attempt) * random.random())
        raise ConcurrencyConflict()
