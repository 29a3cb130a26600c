"""A plugin's collection handles: a transaction's (motor, in its session) and ``kernel.read``'s.

``kernel.read``'s collections are PyMongo's asyncio client's: a read is sent from the event loop
itself, where motor hands every operation to a thread and back. Two differences from motor are
smoothed here, so a plugin's code is the same on both handles: ``aggregate`` gives its cursor at
once (PyMongo's is a coroutine giving it), and a task's cancellation is never lost. On Python
3.11 ``asyncio.wait_for``, which the driver sends through, returns the result when the operation
completes just as the task is cancelled, and the cancellation is gone (fixed in 3.12): a stopped
job would go on, and a shutdown wait for it forever. The task still counts that request
(``Task.cancelling()``), so every operation here raises it again.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

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


async def kept_cancellation(operation: Awaitable[T]) -> T:
    """``await operation``, raising the task's cancellation if the driver swallowed it."""
    task = asyncio.current_task()
    requested = task.cancelling() if task is not None else 0
    result = await operation
    if task is not None and task.cancelling() > requested:
        raise asyncio.CancelledError()
    return result


class ReadCursor:
    """A PyMongo asyncio cursor whose every round trip keeps the task's cancellation."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._cursor, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            value = attribute(*args, **kwargs)
            if value is self._cursor:  # sort, skip, limit ... chain on this wrapper
                return self
            return kept_cancellation(value) if inspect.isawaitable(value) else value

        return call

    def __aiter__(self) -> ReadCursor:
        return self

    async def __anext__(self) -> Any:
        return await kept_cancellation(self._cursor.__anext__())


class PendingCursor:
    """``aggregate`` as motor's: a cursor at once (``async for``, ``to_list``), sent on first use."""

    __slots__ = ("_cursor", "_open")

    def __init__(self, open_cursor: Callable[[], Awaitable[Any]]) -> None:
        self._open = open_cursor
        self._cursor: ReadCursor | None = None

    async def _opened(self) -> ReadCursor:
        if self._cursor is None:
            self._cursor = ReadCursor(await kept_cancellation(self._open()))
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

    __slots__ = ()

    def __init__(self, collection: Any) -> None:
        super().__init__(collection, None)

    def __getattr__(self, name: str) -> Any:
        operation = super().__getattr__(name)  # refuses what a plugin's handle does not offer

        def call(*args: Any, **kwargs: Any) -> Any:
            value = operation(*args, **kwargs)
            return kept_cancellation(value) if inspect.isawaitable(value) else ReadCursor(value)

        return call

    def aggregate(self, pipeline: list[dict[str, Any]], **kwargs: Any) -> PendingCursor:
        return PendingCursor(lambda: self._collection.aggregate(pipeline, session=None, **kwargs))
