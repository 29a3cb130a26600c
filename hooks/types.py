"""Plain data types that cross the plugin boundary (no framework imports)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    """A domain event as it travels through the outbox and the bus.

    On the wire it is the JSON envelope
    ``{"id", "eventType", "occurredAt", "payload"}`` with ``occurredAt`` in
    ISO-8601 UTC.
    """

    id: str
    event_type: str
    occurred_at: datetime
    payload: dict[str, Any]

    def to_envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "eventType": self.event_type,
            "occurredAt": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "payload": self.payload,
        }

    @classmethod
    def from_envelope(cls, envelope: dict[str, Any]) -> DomainEvent:
        """Parse a wire envelope; raises ``ValueError`` when it is malformed."""
        try:
            occurred = datetime.fromisoformat(str(envelope["occurredAt"]).replace("Z", "+00:00"))
            event_id, event_type, payload = envelope["id"], envelope["eventType"], envelope["payload"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"not an eventonight envelope: {exc}") from exc
        if not isinstance(event_id, str) or not isinstance(event_type, str) or not isinstance(payload, dict):
            raise ValueError("not an eventonight envelope: wrong field types")
        return cls(id=event_id, event_type=event_type, occurred_at=occurred, payload=payload)


#: ``async def handler(event, uow) -> None``. ``uow`` is the open unit of work
#: (a MongoDB transaction) in which the kernel also records that this consumer
#: processed ``event.id``: whatever the handler writes through it happens once.
Handler = Callable[[DomainEvent, Any], Awaitable[None]]
#: ``async def handler(events, uow) -> None`` for ``Consumer(..., batch=True)``:
#: ``events`` is a non-empty list of the consumer's events in queue order.
BatchHandler = Callable[[list[DomainEvent], Any], Awaitable[None]]


@dataclass(frozen=True)
class Consumer:
    """A bus consumer: routing-key patterns (AMQP topic syntax) and a handler.

    ``name`` must be unique within the plugin; it keys the de-duplication of
    redelivered messages, so renaming a consumer re-processes nothing only if
    the old messages are gone.

    The kernel hands a plugin the messages that are waiting in its queue (up to
    the ``consumer_prefetch`` setting) together, in one transaction, and falls
    back to one message per transaction when that transaction fails (so one
    bad message is retried and dead-lettered alone). With ``batch=False`` the
    handler is still called once per event, in queue order. With
    ``batch=True`` it is called as ``await handler(events, uow)`` with the list
    of consecutive events it matches (often just one), so it can read and write
    for all of them in bulk. When a plugin has a batch consumer, its consumers
    run one after another over a batch, in the order the hook returned them
    (so return first those whose writes others read); otherwise every event
    goes through all its consumers before the next event, as one by one.
    """

    name: str
    patterns: tuple[str, ...]
    handler: Handler | BatchHandler
    batch: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.patterns, str):
            object.__setattr__(self, "patterns", (self.patterns,))


@dataclass(frozen=True)
class ScheduledJob:
    """A job run every ``interval_seconds`` by exactly one process of the cluster.

    ``run`` is ``async def run(kernel) -> None``.
    """

    name: str
    interval_seconds: float
    run: Callable[[Any], Awaitable[None]]
    run_at_start: bool = field(default=True)
