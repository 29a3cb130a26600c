"""Ticket types, orders and tickets, and the rules they obey (no framework imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from math import ceil

from eventonight.hooks.errors import Conflict, DomainError, Forbidden, NotFound
from eventonight_ticketing.domain.money import check_price, currency_code
from eventonight_ticketing.domain.orders import (  # noqa: F401 - the statuses, re-exported
    EXPIRED,
    PAID,
    PARTIALLY_REFUNDED,
    PENDING,
    REFUNDED,
)
from eventonight_ticketing.domain.orders import REFUNDABLE as REFUNDABLE_STATUSES  # noqa: F401

PUBLISHED = "PUBLISHED"
ACTIVE, HIDDEN, ARCHIVED = "ACTIVE", "HIDDEN", "ARCHIVED"
TYPE_STATUSES = (ACTIVE, HIDDEN, ARCHIVED)
VALID, CANCELLED = "VALID", "CANCELLED"
MAX_NAME = 60
MAX_DESCRIPTION = 2000
MAX_CAPACITY = 1_000_000
#: Inventory shards: one document per 64 tickets, at most 32 (see docs/ticketing.md).
SHARD_SIZE, MAX_SHARDS = 64, 32


class SoldOut(Conflict):
    """Not enough tickets left (409 ``sold_out``)."""


class Busy(Conflict):
    """The inventory stayed contended after every retry (409 ``busy``): try again in a second."""

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class SalesClosed(Conflict):
    """The event is not on sale (not published, cancelled, over, or outside the type's window)."""


class HeldByTwin(Exception):
    """Another request for the same order (the same Idempotency-Key) holds tickets for it already."""


class TooManyPending(Conflict):
    """The buyer already has the most unpaid orders for this event that one may hold (anti-hoarding)."""


def shard_count(capacity: int) -> int:
    return max(1, min(MAX_SHARDS, ceil(capacity / SHARD_SIZE)))


def split_capacity(capacity: int, shards: int) -> list[int]:
    """``capacity`` over ``shards`` documents, as evenly as possible."""
    base, extra = divmod(capacity, shards)
    return [base + (1 if k < extra else 0) for k in range(shards)]


def plan_allocation(available: dict[int, int], quantity: int, start: int) -> list[tuple[int, int]] | None:
    """Which shards give how many: from ``start`` on, whole first, then split; None if not enough.

    Starting at a per-order shard spreads concurrent buyers over the shards, so
    they seldom write the same document.
    """
    if sum(available.values()) < quantity:
        return None
    order = sorted(available, key=lambda k: (k - start) % max(len(available), 1))
    whole = next((k for k in order if available[k] >= quantity), None)
    if whole is not None:
        return [(whole, quantity)]
    plan, left = [], quantity
    for k in sorted(order, key=lambda k: -available[k]):
        take = min(available[k], left)
        if take:
            plan.append((k, take))
            left -= take
        if not left:
            break
    return plan


@dataclass
class EventCopy:
    """What ticketing knows of an event, from the events plugin's domain events."""

    id: str
    host_ids: list[str]
    status: str
    title: str = ""
    date: datetime | None = None
    sales_closed: bool = False

    def is_host(self, user_id: str) -> bool:
        return user_id in self.host_ids

    def on_sale(self, now: datetime) -> bool:
        return self.status == PUBLISHED and not self.sales_closed and (self.date is None or now < self.date)


async def hosted_event(store, event_id: str, user_id: str, what: str) -> EventCopy:
    """The event, if ``user_id`` hosts it (404 when there is no such event, 403 for others)."""
    event = await store.event(event_id)
    if event is None:
        raise NotFound("no such event")
    if not event.is_host(user_id):
        raise Forbidden(f"only the event's hosts {what}")
    return event


@dataclass
class TicketType:
    id: str
    event_id: str
    name: str
    price_minor: int
    currency: str
    capacity: int
    description: str = ""
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    max_per_order: int = 10
    refundable: bool = True
    status: str = ACTIVE
    created_at: datetime | None = None

    def check(self, max_per_order_limit: int) -> TicketType:
        self.name = (self.name or "").strip()
        if not 1 <= len(self.name) <= MAX_NAME:
            raise DomainError(f"name must be 1-{MAX_NAME} characters", field="name")
        if len(self.description) > MAX_DESCRIPTION:
            raise DomainError(f"description is at most {MAX_DESCRIPTION} characters", field="description")
        self.currency = currency_code(self.currency)
        check_price(self.price_minor, self.currency)
        if not 1 <= self.capacity <= MAX_CAPACITY:
            raise DomainError(f"capacity must be between 1 and {MAX_CAPACITY}", field="capacity")
        if not 1 <= self.max_per_order <= max_per_order_limit:
            raise DomainError(f"maxPerOrder must be between 1 and {max_per_order_limit}", field="maxPerOrder")
        if self.sales_start and self.sales_end and self.sales_start >= self.sales_end:
            raise DomainError("salesStart must be before salesEnd", field="salesEnd")
        if self.status not in TYPE_STATUSES:
            raise DomainError(f"status must be one of {', '.join(TYPE_STATUSES)}", field="status")
        return self

    def on_sale(self, event: EventCopy, now: datetime) -> bool:
        end = self.sales_end or event.date
        return (
            self.status == ACTIVE
            and event.on_sale(now)
            and (self.sales_start is None or self.sales_start <= now)
            and (end is None or now < end)
        )


@dataclass
class OrderLine:
    type_id: str
    quantity: int
    unit_price_minor: int
    name: str = ""
    #: Shard number -> tickets taken from it.
    allocation: list[tuple[int, int]] = field(default_factory=list)


def check_lines(requested: list[tuple[str, int]], limit: int) -> list[tuple[str, int]]:
    """One line per type, quantities 1..limit; sorted by type id (shards are always taken in one order)."""
    if not requested:
        raise DomainError("an order needs at least one line", field="lines")
    merged: dict[str, int] = {}
    for type_id, quantity in requested:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise DomainError("quantity must be a positive integer", field="lines")
        merged[type_id] = merged.get(type_id, 0) + quantity
    if sum(merged.values()) > limit:
        raise DomainError(f"an order holds at most {limit} tickets", field="lines")
    return sorted(merged.items())
