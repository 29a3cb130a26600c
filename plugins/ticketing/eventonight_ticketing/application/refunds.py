"""Giving tickets back: by the buyer within the policy, by the event's hosts any time, by the system.

Free orders move no money: their tickets are cancelled, the inventory takes
them back and the order becomes ``PARTIALLY_REFUNDED`` or ``REFUNDED``, with
``ticketing.order.changed`` or ``ticketing.order.cancelled`` in the same
transaction. (Money refunds of paid orders come with the payment provider.)
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from eventonight_ticketing.domain import events as de
from eventonight_ticketing.domain.model import (
    CANCELLED,
    PARTIALLY_REFUNDED,
    REFUNDABLE_STATUSES,
    REFUNDED,
    VALID,
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    PaymentsUnavailable,
)

BUYER, HOST, SYSTEM = "buyer", "host", "system"
USED = "USED"


def _now() -> datetime:
    return datetime.now(UTC)


class Refunds:
    def __init__(self, transaction, *, buyer_cutoff_hours: float) -> None:
        self.transaction = transaction  # work(store, uow) in a retried transaction
        self.cutoff = timedelta(hours=buyer_cutoff_hours)

    async def request(self, order_id: str, caller: str, ticket_ids: list[str] | None, reason: str) -> dict[str, Any]:
        async def work(store, uow) -> dict[str, Any]:
            order = await store.order(order_id)
            event = await store.event(order["event_id"]) if order else None
            host = event is not None and event.is_host(caller)
            if order is None or not (host or order["user_id"] == caller):
                raise NotFound("no such order")
            await self.cancel(store, uow, order, ticket_ids, reason, HOST if host else BUYER)
            return await store.order(order_id)

        return await self.transaction(work)

    async def cancel(self, store, uow, order, ticket_ids, reason: str, source: str, *, force: bool = False) -> int:
        """Cancel ``ticket_ids`` of ``order`` (None: all its valid tickets); how many were cancelled.

        ``force`` (an event called off) takes used tickets back too.
        """
        if order["status"] not in REFUNDABLE_STATUSES:
            raise Conflict(f"a {order['status']} order has nothing to refund")
        if order["total_minor"]:
            raise PaymentsUnavailable("refunds of paid orders come with the payment provider")
        tickets = {t["_id"]: t for t in await store.tickets_of_order(order["_id"])}
        takeable = (VALID, USED) if force else (VALID,)
        valid = [t for t in tickets.values() if t["status"] in takeable]
        if ticket_ids is not None:
            unknown = [i for i in ticket_ids if i not in tickets]
            if unknown or not ticket_ids:
                raise DomainError("ticketIds must name tickets of this order", field="ticketIds")
            if any(tickets[i]["status"] != VALID for i in ticket_ids):
                raise Conflict("only valid tickets can be refunded (used or cancelled ones cannot)", field="ticketIds")
            valid = [tickets[i] for i in dict.fromkeys(ticket_ids)]
        if not valid:
            raise Conflict("this order has no valid ticket left")
        event = await store.event(order["event_id"])
        if source == BUYER:
            await self._buyer_policy(store, event, valid)
        now = _now()
        for status in takeable:
            group = [t["_id"] for t in valid if t["status"] == status]
            if group and not await store.set_tickets_status(group, status, CANCELLED):
                raise Conflict("the tickets changed meanwhile; try again")
        on_sale = event is not None and event.on_sale(now)
        for type_id, count in Counter(t["type_id"] for t in valid).items():
            await store.unsell(type_id, count, back_on_sale=on_sale)
        left = sum(1 for t in tickets.values() if t["status"] in (VALID, USED)) - len(valid)
        status = PARTIALLY_REFUNDED if left else REFUNDED
        history = {"at": now, "status": status, "tickets": len(valid), "reason": reason, "source": source}
        if not await store.transition(order["_id"], order["status"], status, history):
            raise Conflict("the order changed meanwhile; try again")
        base = {"orderId": order["_id"], "userId": order["user_id"], "eventId": order["event_id"]}
        if left:
            await uow.record(de.ORDER_CHANGED, {**base, "ticketCount": left, "cancelledCount": len(valid)})
        else:
            title = event.title if event else ""
            await uow.record(
                de.ORDER_CANCELLED, {**base, "eventTitle": title, "ticketCount": len(valid), "reason": reason}
            )
        return len(valid)

    async def _buyer_policy(self, store, event, tickets) -> None:
        if event is not None and event.date is not None and _now() > event.date - self.cutoff:
            hours = self.cutoff.total_seconds() / 3600
            raise Forbidden(f"tickets can be given back until {hours:g} hours before the event")
        for type_id in {t["type_id"] for t in tickets}:
            ticket_type = await store.ticket_type(type_id)
            if ticket_type is not None and not ticket_type.refundable:
                raise Forbidden(f"{ticket_type.name} tickets are not refundable")

    async def account_deleted(self, store, uow, user_id: str) -> int:
        """Cancel the deleted user's valid tickets of events still to come (the orders stay, for accounts)."""
        cancelled, now = 0, _now()
        for order in await store.open_orders_of(user_id):
            event = await store.event(order["event_id"])
            if event is not None and event.date is not None and event.date <= now:
                continue  # past events: history, not a refund
            cancelled += await self.cancel(store, uow, order, None, "account_deleted", SYSTEM)
        return cancelled


class RefundRuns:
    """Works off the refund runs of cancelled events, a few orders per tick, each in its own transaction."""

    def __init__(self, refunds: Refunds, transaction, read, batch: int = 50) -> None:
        self.refunds = refunds
        self.transaction = transaction
        self.read = read
        self.batch = batch

    async def tick(self) -> int:
        done = 0
        for run in await self.read(lambda store, _: store.open_refund_runs()):
            orders = await self.read(lambda store, _, e=run["_id"]: store.refundable_orders_of_event(e, self.batch))
            if not orders:
                await self.transaction(lambda store, _, e=run["_id"]: store.finish_refund_run(e))
                continue
            for order in orders:
                done += await self.transaction(lambda store, uow, o=order, r=run: self._refund(store, uow, o, r))
        return done

    async def _refund(self, store, uow, order: dict[str, Any], run: dict[str, Any]) -> int:
        current = await store.order(order["_id"])  # re-read inside the transaction: refunded at most once
        if current["status"] not in REFUNDABLE_STATUSES:
            return 0
        count = await self.refunds.cancel(store, uow, current, None, f"event_{run['reason']}", SYSTEM, force=True)
        await store.count_refunded(run["_id"], count)
        return count

    async def status(self, event_id: str, host: str) -> dict[str, Any]:
        async def work(store, _):
            event = await store.event(event_id)
            if event is None:
                raise NotFound("no such event")
            if not event.is_host(host):
                raise Forbidden("only the event's hosts see its refunds")
            return await store.refund_run(event_id)

        return await self.read(work)
