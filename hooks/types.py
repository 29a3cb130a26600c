"""Plain data types that cross the plugin boundary (no framework imports)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class DomainEvent:
    """A domain event as it travels through the outbox and the bus.

    On the wire it is the JSON envelope
    ``{"id", "eventType", "occurredAt", "payload"}`` with ``occurredAt`` in
    ISO-8601 UTC.
    """

    #: A UUID, unique per event: consumers de-duplicate redeliveries by it.
    id: str
    #: ``<plugin>.<entity>.<verb>`` (e.g. ``user.created``), the routing key on the bus.
    event_type: str
    #: When it was recorded (UTC).
    occurred_at: datetime
    #: JSON types only: what docs/events.md documents for the type.
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

    #: Unique within the plugin; keys the de-duplication of redeliveries.
    name: str
    #: Routing-key patterns: ``*`` one word, ``#`` zero or more (a string is one pattern).
    patterns: tuple[str, ...]
    #: ``async def handler(event, uow)``, or with ``batch=True`` ``async def handler(events, uow)``.
    handler: Handler | BatchHandler
    #: Receive the waiting events of a batch as one list.
    batch: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.patterns, str):
            object.__setattr__(self, "patterns", (self.patterns,))


@dataclass(frozen=True)
class ScheduledJob:
    """A job run every ``interval_seconds`` by exactly one process of the cluster.

    ``run`` is ``async def run(kernel) -> None``.
    """

    #: Unique in the cluster (``<plugin>.<job>``): the lease is taken under this name.
    name: str
    #: Seconds between runs (and how long the lease is held, twice that).
    interval_seconds: float
    #: ``async def run(kernel) -> None``.
    run: Callable[[Any], Awaitable[None]]
    #: Run once right after start (otherwise first after one interval).
    run_at_start: bool = field(default=True)


@dataclass(frozen=True)
class HookResult:
    """What one plugin's implementation returned (``value``) or raised (``error``)."""

    #: The implementing plugin's name.
    plugin: str
    #: What it returned (awaited, for a coroutine).
    value: Any = None
    #: What it raised, in a robust call (otherwise the exception propagates).
    error: BaseException | None = None


class DataHandle(Protocol):
    """Collections and odmantic, all in one session: a :class:`UnitOfWork` or ``kernel.read``.

    Write a plugin's repositories against this, so the same code runs inside a
    transaction (``kernel.transaction``) and for plain reads (``kernel.read``).
    """

    def collection(self, name_or_model: Any) -> Any:
        """The collection (by name or odmantic model class) with every operation in this handle's session.

        Offers the CRUD and aggregation operations of a driver's collection
        (``find``, ``find_one``, ``insert_one``, ``update_one``, ``aggregate`` ...);
        there is no ``session=`` to forget. Index management is the kernel's
        (``eventonight_models`` / ``eventonight_indexes``). A transaction's collection
        is motor's; ``kernel.read``'s is PyMongo's asyncio client's (a read then costs no
        hop to a thread), with ``aggregate`` giving its cursor at once there too
        (``async for`` or ``to_list``), so the same code runs on both. A
        ``kernel.read`` operation waits for a free connection of its pool before the
        driver gets it (docs/deployment.md).
        """

    @property
    def engine(self) -> Any:
        """odmantic bound to this handle's session: ``find``, ``find_one``, ``count``,
        ``save``, ``save_all``, ``delete``, ``remove`` (as ``AIOEngine``'s, without ``session``)."""

    async def record(self, event_type: str, payload: dict[str, Any]) -> DomainEvent:
        """Write a domain event to the outbox in this transaction; ``kernel.read`` refuses (RuntimeError)."""

    async def record_many(self, events: list[tuple[str, dict[str, Any]]]) -> list[DomainEvent]:
        """Write ``(event_type, payload)`` domain events in order, with one insert."""


class UnitOfWork(DataHandle, Protocol):
    """One MongoDB transaction: what a consumer or ``kernel.transaction``'s work gets.

    Everything written through it, and every event recorded with it, commits
    or aborts together.
    """

    #: The driver's session, for what the handle does not offer (pass it as ``session=``).
    session: Any


class PluginKernel(Protocol):
    """The kernel as plugins see it: the ``kernel`` argument of every hook.

    Anything else on the object is the kernel's own and may change without notice.
    """

    #: The platform's :class:`eventonight.settings.Settings` (``EVENTONIGHT_*``).
    settings: Any
    #: Each plugin's settings instance (see ``eventonight_settings``), by plugin name.
    plugin_settings: dict[str, Any]
    #: Call hooks, including those other plugins define: ``call``, ``call_robust``,
    #: ``acall``, ``acall_robust``, ``first``, ``defined`` (see ``eventonight_hookspecs``).
    hooks: Any
    #: Reads outside any transaction, as a :class:`DataHandle` (its ``record`` refuses).
    read: DataHandle
    #: Access tokens: ``issue_access_token(user_id, role, extra_claims)``, ``verify(token)``,
    #: ``access_ttl_seconds``.
    tokens: Any
    #: Signing keys: ``public_jwks()``, ``await refresh_if_stale()``.
    keys: Any
    #: Revoked sessions and subjects: ``await revoke(session=..., subject=...)``.
    revocations: Any
    #: Encryption at rest under the platform's key-encryption keys (docs/deployment.md): keep a
    #: plugin's own private keys with ``secrets.encrypt(data: bytes) -> str`` and read them with
    #: ``secrets.decrypt(token: str) -> bytes``; ``secrets.rekey(token)`` re-encrypts under the newest KEK.
    secrets: Any
    #: Prometheus metrics served at ``/metrics`` when enabled: a plugin adds its own with
    #: ``metrics.gauge(name, documentation, labels=())`` or ``metrics.counter(...)`` (name them
    #: ``eventonight_<plugin>_...``); the same name gives the same object.
    metrics: Any
    #: The audit trail of security events, queried by operators with ``eventonight audit``:
    #: ``await audit.record(kind, user_id=, actor_id=, client=, **details)`` (never a secret in
    #: ``details``; kinds are dotted, prefixed by the plugin's domain, e.g. ``login.failed``).
    audit: Any
    #: Direct publishing of envelopes that need no outbox (best-effort signals such
    #: as presence): ``await publisher.publish([envelope, ...])``.
    publisher: Any

    async def transaction(self, work: Callable[[UnitOfWork], Awaitable[Any]]) -> Any:
        """Run ``work(uow)`` in a transaction, re-running it on transient conflicts (then 409)."""

    def uow(self) -> Any:
        """``async with kernel.uow() as uow:`` one transaction, not re-run on conflicts."""

    def runners(self, make: Callable[[DataHandle], Any]) -> tuple[Callable, Callable]:
        """``(transaction, read)`` running ``work(make(handle), handle)`` in a transaction or on ``read``."""

    def plugin_service(self, name: str, build: Callable[[], Any]) -> Any:
        """``build()``'s result, built once per kernel (a plugin's services), kept under ``name``."""

    def broadcast_listener(
        self, patterns: list[str], callback: Callable[[str, dict[str, Any]], Awaitable[None]], name: str
    ) -> Any:
        """A per-process subscription (every process gets every matching message; nothing is kept
        while it is down): ``start()``, ``await wait_ready(timeout)``, ``stop()``."""
