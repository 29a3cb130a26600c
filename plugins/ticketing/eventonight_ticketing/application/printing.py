"""Printable tickets: only tickets that may enter (valid or used) are ever printed."""

from __future__ import annotations

import asyncio

from eventonight_ticketing.domain.model import NotFound
from eventonight_ticketing.domain.money import display
from eventonight_ticketing.infrastructure.pdf import PrintedTicket, render


class Printing:
    def __init__(self, read, orders, checkins) -> None:
        self.read = read
        self.orders = orders
        self.checkins = checkins

    async def ticket_pdf(self, ticket_id: str, viewer: str) -> bytes:
        return await self._pdf([await self.orders.ticket(ticket_id, viewer)])

    async def order_pdf(self, order_id: str, viewer: str) -> bytes:
        _, tickets = await self.orders.get(order_id, viewer)
        return await self._pdf(tickets)

    async def event_pdf(self, user_id: str, event_id: str) -> bytes:
        """The user's tickets for one event that may enter, in one file."""
        return await self._pdf(await self.read(lambda store, _: store.tickets_for_event(user_id, event_id)))

    async def _pdf(self, tickets: list[dict]) -> bytes:
        printable = [t for t in tickets if self.checkins.code_for(t) is not None]
        if not printable:
            raise NotFound("no valid ticket to print")

        async def details(store, _):
            event = await store.event(printable[0]["event_id"])
            names = {}
            for type_id in {t["type_id"] for t in printable}:
                ticket_type = await store.ticket_type(type_id)
                names[type_id] = ticket_type.name if ticket_type else ""
            return event, names

        event, names = await self.read(details)
        pages = [
            PrintedTicket(
                t["_id"],
                event.title if event else "",
                event.date if event else None,
                names[t["type_id"]],
                display(t["price_minor"], t["currency"]),
                self.checkins.code_for(t),
                t.get("attendee_name"),
            )
            for t in printable
        ]
        return await asyncio.to_thread(render, pages)
