"""Ticket types: created and changed by the event's hosts; each change republishes the event's lowest price."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventonight_ticketing.domain import events as de
from eventonight_ticketing.domain.model import (
    ACTIVE,
    Conflict,
    DomainError,
    EventCopy,
    NotFound,
    TicketType,
    hosted_event,
    shard_count,
    split_capacity,
)
from eventonight_ticketing.domain.money import to_major

#: Fields a host may change with PATCH.
EDITABLE = (
    "name", "description", "price_minor", "currency", "capacity", "sales_start", "sales_end",
    "max_per_order", "refundable", "status",
)  # fmt: skip


def _now() -> datetime:
    return datetime.now(UTC)


async def _hosted_event(store, event_id: str, user_id: str) -> EventCopy:
    return await hosted_event(store, event_id, user_id, "(its creator and collaborators) manage its ticket types")


async def publish_prices(store, uow, event_id: str) -> None:
    """``ticketing.prices.changed``: the lowest price of the event's types on sale (None without any)."""
    active = [t for t in await store.types_of(event_id) if t.status == ACTIVE]
    lowest = min(active, key=lambda t: t.price_minor, default=None)
    await uow.record(
        de.PRICES_CHANGED,
        {
            "eventId": event_id,
            "lowestPrice": to_major(lowest.price_minor, lowest.currency) if lowest else None,
            "lowestPriceMinor": lowest.price_minor if lowest else None,
            "currency": lowest.currency if lowest else None,
        },
    )


class TicketTypes:
    def __init__(self, transaction, read, max_per_order: int, shards: int | None = None) -> None:
        self.transaction = transaction  # work(store, uow) in a retried transaction
        self.read = read  # work(store, kernel.read)
        self.max_per_order = max_per_order
        self.shards = shards  # None: one per 64 tickets (at most 32)

    async def create(self, event_id: str, user_id: str, fields: dict[str, Any]) -> TicketType:
        async def work(store, uow) -> TicketType:
            await _hosted_event(store, event_id, user_id)
            ticket_type = TicketType(id=uuid4().hex, event_id=event_id, created_at=_now(), **fields)
            ticket_type.check(self.max_per_order)
            await self._one_currency(store, ticket_type)
            shards = min(self.shards or shard_count(ticket_type.capacity), ticket_type.capacity)
            await store.add_type(ticket_type, split_capacity(ticket_type.capacity, shards))
            await publish_prices(store, uow, event_id)
            return ticket_type

        return await self.transaction(work)

    async def update(self, type_id: str, user_id: str, changes: dict[str, Any]) -> TicketType:
        async def work(store, uow) -> TicketType:
            current = await self._hosted_type(store, type_id, user_id)
            changed = replace(current, **{k: v for k, v in changes.items() if k in EDITABLE}).check(self.max_per_order)
            sold = await store.sold_count(type_id)
            if changed.currency != current.currency and sold:
                raise Conflict("the currency of a type with sold tickets cannot change", field="currency")
            await self._one_currency(store, changed)
            if changed.capacity != current.capacity and not await store.resize(
                type_id, changed.capacity - current.capacity
            ):
                raise Conflict("capacity cannot go below the tickets sold or held", field="capacity")
            await store.save_type(changed)
            await publish_prices(store, uow, current.event_id)
            return changed

        return await self.transaction(work)

    async def delete(self, type_id: str, user_id: str) -> None:
        async def work(store, uow) -> None:
            current = await self._hosted_type(store, type_id, user_id)
            totals = (await store.totals([type_id]))[type_id]
            if totals["sold"] or totals["held"]:
                raise Conflict("tickets of this type were sold: archive it instead (status ARCHIVED)")
            await store.delete_type(type_id)
            await publish_prices(store, uow, current.event_id)

        await self.transaction(work)

    async def delete_all(self, event_id: str, user_id: str) -> int:
        """Every type of the event, only while none of them sold or holds a ticket."""

        async def work(store, uow) -> int:
            await _hosted_event(store, event_id, user_id)
            types = await store.types_of(event_id)
            totals = await store.totals([t.id for t in types])
            if any(t["sold"] or t["held"] for t in totals.values()):
                raise Conflict("tickets of this event were sold: archive its types instead (status ARCHIVED)")
            for ticket_type in types:
                await store.delete_type(ticket_type.id)
            await publish_prices(store, uow, event_id)
            return len(types)

        return await self.transaction(work)

    async def sales(self, event_id: str, viewer: str | None) -> dict[str, Any]:
        """What is on sale for an event: anyone once published, its hosts always."""
        found = await self.of_event(event_id, viewer)

        async def work(store, _):
            return await store.event(event_id)

        event = await self.read(work)
        on_sale = [t for t, _ in found if t.on_sale(event, _now())]
        lowest = min(on_sale, key=lambda t: t.price_minor, default=None)
        return {
            "eventId": event_id,
            "status": event.status,
            "salesClosed": event.sales_closed,
            "onSale": bool(on_sale) and any(totals["available"] for t, totals in found if t in on_sale),
            "currency": lowest.currency if lowest else None,
            "lowestPriceMinor": lowest.price_minor if lowest else None,
            "available": sum(totals["available"] for t, totals in found if t.status == ACTIVE),
            "sold": sum(totals["sold"] for _, totals in found),
        }

    async def of_event(self, event_id: str, viewer: str | None) -> list[tuple[TicketType, dict[str, int]]]:
        async def work(store, _) -> list[tuple[TicketType, dict[str, int]]]:
            event = await store.event(event_id)
            host = event is not None and viewer is not None and event.is_host(viewer)
            if event is None or not (host or event.status != "DRAFT"):
                raise NotFound("no such event")
            types = [t for t in await store.types_of(event_id) if host or t.status == ACTIVE]
            totals = await store.totals([t.id for t in types])
            return [(t, totals[t.id]) for t in types]

        return await self.read(work)

    async def get(self, type_id: str, viewer: str | None) -> tuple[TicketType, dict[str, int]]:
        async def work(store, _) -> tuple[TicketType, dict[str, int]]:
            ticket_type = await store.ticket_type(type_id)
            event = await store.event(ticket_type.event_id) if ticket_type else None
            host = event is not None and viewer is not None and event.is_host(viewer)
            if event is None or not (host or (event.status != "DRAFT" and ticket_type.status == ACTIVE)):
                raise NotFound("no such ticket type")
            return ticket_type, (await store.totals([type_id]))[type_id]

        return await self.read(work)

    async def _hosted_type(self, store, type_id: str, user_id: str) -> TicketType:
        ticket_type = await store.ticket_type(type_id)
        if ticket_type is None:
            raise NotFound("no such ticket type")
        await _hosted_event(store, ticket_type.event_id, user_id)
        return ticket_type

    @staticmethod
    async def _one_currency(store, ticket_type: TicketType) -> None:
        others = {t.currency for t in await store.types_of(ticket_type.event_id) if t.id != ticket_type.id}
        if others and others != {ticket_type.currency}:
            raise DomainError(f"this event's tickets are sold in {others.pop()}", field="currency")
