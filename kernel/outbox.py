"""The outbox relay: forwards recorded domain events to the broker, in order.

Records are written by :meth:`UnitOfWork.record` in the same transaction as
the state change. The relay holding the ``outbox-relay`` lease reads unsent
records in ``_id`` order, publishes them with publisher confirms, and marks
them sent only after the broker confirmed. While the broker is away it backs
off exponentially with jitter and resumes by itself. Other relays wait for the
lease, so no record is published twice by two relays.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.bus.publisher import PartialPublish, Publisher
from eventonight.kernel.db import OUTBOX, Database, utcnow
from eventonight.kernel.leases import Lease

log = logging.getLogger(__name__)

Observer = Callable[[DomainEvent], Awaitable[None]]


def event_from_record(record: dict) -> DomainEvent:
    return DomainEvent(
        id=record["eventId"],
        event_type=record["eventType"],
        occurred_at=record["occurredAt"],
        payload=record["payload"],
    )


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        publisher: Publisher,
        *,
        batch_size: int = 200,
        poll_seconds: float = 0.25,
        lease_seconds: float = 10.0,
        backoff_initial: float = 0.2,
        backoff_max: float = 30.0,
        observer: Observer | None = None,
    ) -> None:
        self.database = database
        self.publisher = publisher
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self.observer = observer
        self.lease = Lease(database, "outbox-relay", lease_seconds)
        self.published = 0
        self._wake = asyncio.Event()
        self._stopping = False
        database.on_commit(lambda events: self._wake.set())

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        failures = 0
        while not self._stopping:
            try:
                if await self.lease.acquire():
                    sent = await self.relay_batch()
                    failures = 0
                    if sent >= self.batch_size:
                        continue  # more may be waiting: no pause
                await self._sleep(self.poll_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - broker or database away: back off, never die
                failures += 1
                delay = min(self.backoff_max, self.backoff_initial * 2 ** (failures - 1))
                delay = delay / 2 + random.uniform(0, delay / 2)  # jitter
                log.warning("outbox relay: %r; retrying in %.2fs", exc, delay)
                await asyncio.sleep(delay)

    async def _sleep(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass
        self._wake.clear()

    async def relay_batch(self) -> int:
        """Publish one batch of unsent records; returns how many were sent."""
        records = (
            await self.database.db[OUTBOX]
            .find({"sentAt": None})
            .sort("_id", 1)
            .limit(self.batch_size)
            .to_list(self.batch_size)
        )
        if not records:
            return 0
        events = [event_from_record(r) for r in records]
        try:
            confirmed = await self.publisher.publish([e.to_envelope() for e in events])
            failure = None
        except PartialPublish as exc:
            confirmed, failure = exc.confirmed, exc.cause
        if confirmed:
            ids = [r["_id"] for r in records[:confirmed]]
            await self.database.db[OUTBOX].update_many({"_id": {"$in": ids}}, {"$set": {"sentAt": utcnow()}})
            self.published += confirmed
            await self._observe(events[:confirmed])
        if failure is not None:
            raise failure
        return confirmed

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
