"""A plugin's collection handles: a transaction's (motor, in its session) and ``kernel.read``'s.

``kernel.read``'s collections are PyMongo's asyncio client's: a read is sent from the event loop
itself, where motor hands every operation to a thread and back. Two differences from motor are
smoothed here, so a plugin's code is the same on both handles: ``aggregate`` gives its cursor at
once (PyMongo's is a coroutine giving it), and a task's cancellation is never lost. On Python
3.11 ``asyncio.wait_for``, which the driver sends through, returns the result when the operation
completes just as the task is cancelled, and the cancellation is gone (fixed in 3.12): a stopped
job would go on, and a shutdown wait for it forever. The task still counts that request
(``Task.cancelling()``), so every operation here raises it again.

Third: an operation waits for a free connection here (:class:`ReadSlots`), before it is handed to
the driver. A PyMongo asyncio operation waiting in the pool's queue holds its whole call stack,
~11 KB against motor's ~3.5 KB (bench: 10,000 concurrent ``find_one``); 10,000 streams connecting
at once left the process ~35 MB of half-used heap arenas after the burst (docs/performance.md).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from pymongo.errors import WaitQueueTimeoutError

T = TypeVar("T")

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


class ReadSlots:
    """The read client's connections as permits: an operation is handed to the driver once one is free.

    ``size`` is the pool's ``maxPoolSize`` (0 or None: no limit, nothing waits here), so no more
    operations are in the driver than it has connections for, and the rest wait as a small future
    each. ``wait_seconds`` is the URI's ``waitQueueTimeoutMS``, which the driver would
    have applied to the same wait. Every operation also raises again a cancellation the driver
    swallowed.
    """

    __slots__ = ("_semaphore", "size", "wait_seconds")

    def __init__(self, size: int | None = None, wait_seconds: float | None = None) -> None:
        self.size = size or None
        self.wait_seconds = wait_seconds
        self._semaphore = asyncio.Semaphore(size) if size else None

    async def _acquire(self, semaphore: asyncio.Semaphore) -> None:
        if self.wait_seconds is None:
            await semaphore.acquire()
            return
        try:
            async with asyncio.timeout(self.wait_seconds):
                await semaphore.acquire()
        except TimeoutError:
            raise WaitQueueTimeoutError(
                f"no free read connection within waitQueueTimeoutMS ({self.wait_seconds * 1000:g} ms)"
            ) from None

    async def send(self, start: Callable[[], Awaitable[T]]) -> T:
        """``await start()`` once a connection is free, raising the task's cancellation if the driver swallowed it."""
        task = asyncio.current_task()
        requested = task.cancelling() if task is not None else 0
        semaphore = self._semaphore
        if semaphore is None:
            result = await start()
        else:
            await self._acquire(semaphore)
            try:
                result = await start()
            finally:
                semaphore.release()
        if task is not None and task.cancelling() > requested:
            raise asyncio.CancelledError()
        return result


#: For a collection given without its client's slots (the benchmarks' driver side): no waiting.
UNLIMITED = ReadSlots()


class ReadCursor:
    """A PyMongo asyncio cursor: its first round trip waits for a free connection (:class:`ReadSlots`),
    and every round trip keeps the task's cancellation.

    Later batches (``getMore``) are not queued behind new operations: the server holds the cursor
    open meanwhile, and they are rare (a batch is 101 documents or 16 MB).
    """

    __slots__ = ("_cursor", "_slots", "_started")

    def __init__(self, cursor: Any, slots: ReadSlots, started: bool = False) -> None:
        self._cursor = cursor
        self._slots = slots
        self._started = started

    def _send(self, start: Callable[[], Awaitable[T]]) -> Awaitable[T]:
        slots = UNLIMITED if self._started else self._slots
        self._started = True
        return slots.send(start)

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._cursor, name)
        if not callable(attribute):
            return attribute
        if inspect.iscoroutinefunction(attribute):  # to_list, next, close ...: a round trip
            return lambda *args, **kwargs: self._send(lambda: attribute(*args, **kwargs))

        def call(*args: Any, **kwargs: Any) -> Any:
            value = attribute(*args, **kwargs)
            if value is self._cursor:  # sort, skip, limit ... chain on this wrapper
                return self
            return self._send(lambda: value) if inspect.isawaitable(value) else value

        return call

    def __aiter__(self) -> ReadCursor:
        return self

    def __anext__(self) -> Awaitable[Any]:
        return self._send(self._cursor.__anext__)


class PendingCursor:
    """``aggregate`` as motor's: a cursor at once (``async for``, ``to_list``), sent on first use."""

    __slots__ = ("_cursor", "_open", "_slots")

    def __init__(self, open_cursor: Callable[[], Awaitable[Any]], slots: ReadSlots) -> None:
        self._open = open_cursor
        self._slots = slots
        self._cursor: ReadCursor | None = None

    async def _opened(self) -> ReadCursor:
        if self._cursor is None:  # the aggregate command is the first round trip: it waits for a connection
            self._cursor = ReadCursor(await self._slots.send(self._open), self._slots, started=True)
        return self._cursor

    async def __aiter__(self) -> AsyncIterator[Any]:
        async for document in await self._opened():
            yield document

    async def to_list(self, length: int | None = None) -> list[Any]:
        return await (await self._opened()).to_list(length)

    async def close(self) -> None:
        if self._cursor is not None:
            await self._cursor.close()


class ReadCollection(BoundCollection):
    """``kernel.read``'s collection: PyMongo's asyncio collection, outside any session."""

    __slots__ = ("_slots",)

    def __init__(self, collection: Any, slots: ReadSlots = UNLIMITED) -> None:
        super().__init__(collection, None)
        self._slots = slots

    def __getattr__(self, name: str) -> Any:
        operation = super().__getattr__(name)  # refuses what a plugin's handle does not offer
        if inspect.iscoroutinefunction(operation):
            return lambda *args, **kwargs: self._slots.send(lambda: operation(*args, **kwargs))

        def call(*args: Any, **kwargs: Any) -> Any:  # find: a cursor, sent on first use
            value = operation(*args, **kwargs)
            return self._slots.send(lambda: value) if inspect.isawaitable(value) else ReadCursor(value, self._slots)

        return call

    def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> PendingCursor:
        return PendingCursor(lambda: self._collection.aggregate(pipeline, session=None, **kwargs), self._slots)
