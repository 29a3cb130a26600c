"""The outbox relay: forwards recorded domain events to the broker, in order.

Records are written by :meth:`UnitOfWork.record` in the same transaction as
the state change. The relay holding the ``outbox-relay`` lease reads them in
``_id`` order, publishes them with publisher confirms, and deletes them only
after the broker confirmed (the outbox holds exactly what is not yet sent, which
keeps its reads cheap). While the broker is away it backs
off exponentially with jitter and resumes by itself. Other relays wait for the
lease, so no record is published twice by two relays.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from bson import ObjectId
from pymongo import DeleteOne
from pymongo.errors import PyMongoError

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.bus.publisher import PartialPublish, Publisher
from eventonight.kernel.db import OUTBOX, Database
from eventonight.kernel.leases import Lease

log = logging.getLogger(__name__)

#: From this many confirmed records on, :meth:`OutboxRelay.delete_sent` tries one ranged delete
#: (below, deleting by id costs less than the transaction around the range).
RANGE_DELETE_MIN = 256

Observer = Callable[[DomainEvent], Awaitable[None]]


class _RangeHoldsOthers(Exception):
    """An ``_id`` range of sent records also holds records not sent yet."""


def event_from_record(record: dict) -> DomainEvent:
    return DomainEvent(
        id=record["eventId"],
        event_type=record["eventType"],
        occurred_at=record["occurredAt"],
        payload=record["payload"],
    )


def events_of(record: dict) -> list[DomainEvent]:
    """The domain events an outbox document holds, in order: one, or a bundle's (see ``OUTBOX_BUNDLE``)."""
    if "entries" in record:
        return [event_from_record(entry) for entry in record["entries"]]
    return [event_from_record(record)]


def size_of(record: dict) -> int:
    return len(record["entries"]) if "entries" in record else 1


def in_chunks(records: list[dict], size: int) -> list[list[dict]]:
    """``records`` in order, each chunk holding at most ``size`` events (a larger bundle alone)."""
    chunks: list[list[dict]] = []
    current: list[dict] = []
    count = 0
    for record in records:
        if current and count + size_of(record) > size:
            chunks.append(current)
            current, count = [], 0
        current.append(record)
        count += size_of(record)
    if current:
        chunks.append(current)
    return chunks


def whole_records(records: list[dict], confirmed: int) -> int:
    """How many of ``records`` have all their events among the first ``confirmed``."""
    whole = total = 0
    for record in records:
        total += size_of(record)
        if total > confirmed:
            break
        whole += 1
    return whole


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publisher: Publisher,
        *,
        batch_size: int = 10_000,
        chunk_size: int = 2500,
        poll_seconds: float = 0.25,
        lease_seconds: float = 10.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        observer: Observer | None = None,
    ) -> None:
        self.database = database
        self.publisher = publisher
        self.batch_size = batch_size
        self.chunk_size = min(chunk_size, batch_size)
        self.poll_seconds = poll_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.observer = observer
        self.lease = Lease(database, "outbox-relay", lease_seconds)
        self._wake = asyncio.Event()
        self._stopping = False
        #: Deletes of confirmed records still running after their drain, and the ids they delete:
        #: the next drain starts at once and leaves those records out instead of waiting.
        self._deletes: set[asyncio.Future] = set()
        self._deleting: set[ObjectId] = set()
        database.on_commit(lambda events: self._wake.set())

    async def run(self) -> None:
        failures = 0
        try:
            while not self._stopping:
                try:
                    if await self.lease.keep():
                        await self.drain(wait_for_deletes=False)
                        failures = 0
                    else:
                        await self._deletes_done()  # nothing of ours in flight once another relay may start
                    await self._sleep(self.poll_seconds)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - broker or database away: back off, never die
                    failures += 1
                    delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
                    delay = delay / 2 + random.uniform(0, delay / 2)  # jitter
                    log.warning("outbox relay: %r; retrying in %.2fs", exc, delay)
                    await asyncio.sleep(delay)
        finally:
            await self._deletes_done()

    async def _sleep(self, seconds: float) -> None:
        # asyncio.timeout, not wait_for: on Python 3.11 a wait_for cancelled just as the wake-up
        # came returns instead of raising, and a relay being stopped ran on until cancelled again.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    def _read_soon(self, after: ObjectId | None) -> asyncio.Future:
        # Taken before the read: a delete that ends after this moment may not have been seen by the
        # read, one that ends before it has removed its records already.
        deleting = frozenset(self._deleting)
        return asyncio.ensure_future(self._read(after, deleting))

    async def _read(
        self, after: ObjectId | None, deleting: frozenset = frozenset()
    ) -> tuple[list[dict], ObjectId | None]:
        """The next records, up to ``batch_size`` events, without the records being deleted, and the
        last ``_id`` read (when the batch was full: more may follow)."""
        query = {"_id": {"$gt": after}} if after is not None else {}
        cursor = self.database.db[OUTBOX].find(query).sort("_id", 1).hint([("_id", 1)]).limit(self.batch_size)
        batch: list[dict] = []
        events = 0
        async for record in cursor:
            batch.append(record)
            events += size_of(record)
            if events >= self.batch_size:
                await cursor.close()
                break
        last = batch[-1]["_id"] if events >= self.batch_size else None
        return [r for r in batch if r["_id"] not in deleting], last

    async def delete_sent(self, records: list[dict]) -> None:
        """Delete records the broker confirmed: as one ``_id`` range when it holds exactly them.

        One ranged delete costs a fraction of a delete per record, but a range
        may hold a record we never read: ObjectIds from another process can sort
        before ours and commit later. The range's contents are checked and
        deleted in one transaction; anything else in it means deleting by id.
        """
        if len(records) >= RANGE_DELETE_MIN:
            try:
                async with self.database.uow() as uow:
                    await self._delete_range(uow.collection(OUTBOX), {r["_id"] for r in records})
                return
            except (_RangeHoldsOthers, PyMongoError):
                pass
        await self.database.db[OUTBOX].bulk_write([DeleteOne({"_id": r["_id"]}) for r in records], ordered=False)

    @staticmethod
    async def _delete_range(outbox, ids: set[ObjectId]) -> None:
        bounds = {"_id": {"$gte": min(ids), "$lte": max(ids)}}
        found = [doc["_id"] async for doc in outbox.find(bounds, {"_id": 1}).hint([("_id", 1)])]
        if len(found) != len(ids) or not ids.issuperset(found):
            raise _RangeHoldsOthers()
        if (await outbox.delete_many(bounds, hint=[("_id", 1)])).deleted_count != len(ids):
            raise _RangeHoldsOthers()  # aborts the transaction: nothing is deleted

    async def drain(self, *, wait_for_deletes: bool = True) -> int:
        """Publish every unsent domain event, in ``_id`` order; returns how many were sent.

        Records (an event, or a bundle of one transaction's events) are read in batches of up
        to ``batch_size`` events and published in chunks of up to ``chunk_size`` events (a
        larger bundle alone). Confirmed records are deleted in the background, all that
        were confirmed since the previous delete finished in one go (a delete on
        an embedded database costs in proportion to the whole outbox: fewer,
        larger ones are cheaper), and the next batch is read while the last chunk
        is published, so the database and the broker work at the same time. A
        record is deleted only after the broker confirmed it; a crash in between
        re-publishes it (consumers de-duplicate by envelope id). Without
        ``wait_for_deletes`` (the running relay) the last delete may still be
        running when this returns: the next drain leaves its records out.
        """
        sent = 0
        deleting: asyncio.Future | None = None
        confirmed_records: list[dict] = []  # confirmed, not yet being deleted
        reading: asyncio.Future | None = self._read_soon(None)
        try:
            while reading is not None and not self._stopping:
                (batch, last), reading = await reading, None
                if last is not None and not batch:
                    reading = self._read_soon(last)  # a full batch of records being deleted
                    continue
                chunks = in_chunks(batch, self.chunk_size)
                for number, chunk in enumerate(chunks, 1):
                    if number == len(chunks) and last is not None:
                        # Only a full batch may have more behind it. Records committed late with a
                        # smaller _id, or during this drain, are picked up by the next drain.
                        reading = self._read_soon(last)
                    events = [event for record in chunk for event in events_of(record)]
                    try:
                        confirmed, failure = await self.publisher.publish([e.to_envelope() for e in events]), None
                    except PartialPublish as exc:
                        confirmed, failure = exc.confirmed, exc.cause
                    if confirmed:
                        sent += confirmed
                        # A bundle confirmed in part stays, to be sent again whole (consumers
                        # de-duplicate by envelope id, as after a crash before the delete).
                        confirmed_records += chunk[: whole_records(chunk, confirmed)]
                        await self._observe(events[:confirmed])
                    if deleting is None or deleting.done():
                        if deleting is not None:
                            deleting.result()  # a failed delete stops the drain (the records are re-sent)
                        deleting, confirmed_records = self._delete_soon(confirmed_records), []
                    if failure is not None:
                        raise failure
                    if self._stopping:
                        break
                if reading is not None and not await self.lease.keep():
                    break  # a long backlog must not outlive our lease: another relay may own it now
        finally:
            if reading is not None:
                with contextlib.suppress(Exception):
                    await reading
            self._delete_soon(confirmed_records)
            if wait_for_deletes:
                await self._deletes_done()
        return sent

    def _delete_soon(self, records: list[dict]) -> asyncio.Future | None:
        """Delete ``records`` in the background; their ids stay out of later reads until it ends."""
        if not records:
            return None
        ids = {r["_id"] for r in records}
        self._deleting |= ids
        deleting = asyncio.ensure_future(self.delete_sent(records))
        self._deletes.add(deleting)

        def ended(done: asyncio.Future) -> None:
            self._deletes.discard(done)
            self._deleting -= ids  # deleted, or still there to be sent again
            if not done.cancelled() and done.exception() is not None:
                log.warning("outbox relay: deleting sent records failed: %r; they will be sent again", done.exception())

        deleting.add_done_callback(ended)
        return deleting

    async def _deletes_done(self) -> None:
        if self._deletes:
            await asyncio.gather(*self._deletes, return_exceptions=True)

    async def _observe(self, events: list[DomainEvent]) -> None:
        if self.observer is None:
            return
        for event in events:
            try:
                await self.observer(event)
            except Exception:
                log.exception("domain event observer failed on %s", event.id)

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
