"""What ticket holders see and change: their events, their tickets' attendee names, and hosts' views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventonight_ticketing.domain.model import VALID, Conflict, DomainError, NotFound, hosted_event

MAX_ATTENDEE_NAME = 100


def _now() -> datetime:
    return datetime.now(UTC)


class Holders:
    def __init__(self, transaction, read) -> None:
        self.transaction = transaction
        self.read = read

    async def my_events(self, user_id: str, status: str | None, newest_first: bool) -> list[dict[str, Any]]:
        """Events the user holds tickets (valid or used) for, by date."""

        async def work(store, _):
            held = await store.holdings_of(user_id)
            return held, await store.events(list(held))

        held, events = await self.read(work)
        if status is not None:
            events = [e for e in events if e.status == status]
        far = datetime.max.replace(tzinfo=UTC)
        events.sort(key=lambda e: e.date or far, reverse=newest_first)
        return [{"eventId": e.id, "title": e.title, "date": e.date, "status": e.status, "tickets": held[e.id]}
                for e in events]  # fmt: skip

    async def tickets_for_event(self, user_id: str, event_id: str) -> list[dict[str, Any]]:
        return await self.read(lambda store, _: store.tickets_for_event(user_id, event_id))

    async def rename(self, ticket_id: str, user_id: str, name: str | None) -> dict[str, Any]:
        """Its holder names who uses a valid ticket, before the event: the code is issued anew."""
        if name is not None and not 1 <= len(name.strip()) <= MAX_ATTENDEE_NAME:
            raise DomainError(f"attendeeName must be 1-{MAX_ATTENDEE_NAME} characters", field="attendeeName")

        async def work(store, _):
            ticket = await store.ticket(ticket_id)
            if ticket is None or ticket["user_id"] != user_id:
                raise NotFound("no such ticket")
            if ticket["status"] != VALID:
                raise Conflict(f"a {ticket['status']} ticket cannot be renamed")
            event = await store.event(ticket["event_id"])
            if event is not None and event.date is not None and event.date <= _now():
                raise Conflict("the event has begun: its tickets cannot be renamed")
            if not await store.rename_ticket(ticket_id, name.strip() if name else None, ticket.get("secret_rev", 0)):
                raise Conflict("the ticket changed meanwhile; try again")
            return await store.ticket(ticket_id)

        return await self.transaction(work)

    async def event_orders(self, event_id: str, host: str, status: str | None, limit: int, offset: int):
        """The event's orders, newest first, each with its buyer's username (None once the account is gone)."""
        await self._host(event_id, host)

        async def work(store, _):
            orders, total = await store.orders_of_event(event_id, status, limit, offset)
            names = await store.usernames([o["user_id"] for o in orders])
            return [{**o, "username": names.get(o["user_id"])} for o in orders], total

        return await self.read(work)

    async def report(self, event_id: str, host: str) -> dict[str, Any]:
        await self._host(event_id, host)
        return await self.read(lambda store, _: store.event_report(event_id))

    async def _host(self, event_id: str, host: str) -> None:
        await self.read(lambda store, _: hosted_event(store, event_id, host, "see its orders"))
