"""Giving tickets back: by the buyer within the policy, by the event's hosts any time, by the system.

Tickets are cancelled, the inventory takes them back and the order becomes
``PARTIALLY_REFUNDED`` or ``REFUNDED``, with ``ticketing.order.changed`` or
``ticketing.order.cancelled`` in the same transaction. For a paid order that
transaction also writes a refund record (``created``) and
``ticketing.refund.created``: the money goes back through the provider after
the commit, first at once (best effort), then by the ``ticketing.refunds`` job
with back-off, under an idempotency key of the refund, so it is paid out once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

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
    hosted_event,
)
from eventonight_ticketing.domain.orders import BUYER, HOST, SYSTEM, check_transition
from eventonight_ticketing.domain.payments import ProviderRefund, ProviderRefused, ProviderUnavailable

USED = "USED"


def _now() -> datetime:
    return datetime.now(UTC)


async def new_refund(
    store,
    uow,
    order: dict[str, Any],
    amount: int,
    ticket_ids: list[str],
    reason: str,
    source: str,
    *,
    payment_intent_id: str | None = None,
    currency: str | None = None,
) -> str:
    """Record money owed back (state ``created``) and ``ticketing.refund.created``; the id of the refund."""
    refund = {
        "_id": uuid4().hex, "order_id": order["_id"], "user_id": order["user_id"], "event_id": order["event_id"],
        "payment_intent_id": payment_intent_id or order.get("payment_intent_id"), "ticket_ids": ticket_ids,
        "amount_minor": amount, "currency": currency or order["currency"], "reason": reason, "source": source,
        "state": "created", "provider_refund_id": None, "attempts": 0, "next_attempt_at": _now(),
        "created_at": _now(),
    }  # fmt: skip
    await store.add_refund(refund)
    await uow.record(de.REFUND_CREATED, refund_payload(refund))
    return refund["_id"]


def refund_payload(refund: dict[str, Any]) -> dict[str, Any]:
    return {"refundId": refund["_id"], "orderId": refund["order_id"], "userId": refund["user_id"],
            "eventId": refund["event_id"], "amountMinor": refund["amount_minor"], "currency": refund["currency"],
            "reason": refund["reason"]}  # fmt: skip


class RefundPayments:
    """Pays refunds out through the provider: once per refund (its id is the idempotency key), with back-off."""

    def __init__(self, transaction, read, provider, *, retry_base_seconds: float, max_attempts: int) -> None:
        self.transaction = transaction
        self.read = read
        self.provider = provider
        self.retry_base = retry_base_seconds
        self.max_attempts = max_attempts

    async def push(self, refund: dict[str, Any]) -> None:
        if refund["state"] != "created":
            return
        params = {"payment_intent": refund["payment_intent_id"], "amount": refund["amount_minor"],
                  "metadata": {"orderId": refund["order_id"], "refundId": refund["_id"]}}  # fmt: skip
        try:
            answer = await self.provider.create_refund(params, f"etn-rf-{refund['_id']}")
        except (ProviderUnavailable, ProviderRefused) as exc:
            error = exc
            await self.transaction(lambda store, uow: self._failed_attempt(store, uow, refund, error))
            return
        await self.transaction(lambda store, uow: self._settle(store, uow, refund["_id"], answer, ("created",)))

    async def _failed_attempt(self, store, uow, refund: dict[str, Any], exc: Exception) -> None:
        attempts = refund["attempts"] + 1
        if attempts >= self.max_attempts or isinstance(exc, ProviderRefused):
            if await store.set_refund(refund["_id"], "created", {"state": "failed", "attempts": attempts,
                                                                  "error": str(exc)}):  # fmt: skip
                await uow.record(de.REFUND_FAILED, refund_payload(refund))
            return
        later = _now() + timedelta(seconds=self.retry_base * 2 ** (attempts - 1))
        await store.set_refund(refund["_id"], "created", {"attempts": attempts, "next_attempt_at": later,
                                                          "error": str(exc)})  # fmt: skip

    async def _settle(self, store, uow, refund_id: str, answer: ProviderRefund, states: tuple[str, ...]) -> None:
        refund = await store.refund(refund_id)
        if refund is None or refund["state"] not in states:
            return
        state = {"succeeded": "succeeded", "failed": "failed", "canceled": "failed"}.get(answer.status, "pending")
        if state == refund["state"]:
            return
        if await store.set_refund(refund_id, refund["state"], {"state": state, "provider_refund_id": answer.id}):
            if state == "succeeded":
                await uow.record(de.REFUND_SUCCEEDED, refund_payload(refund))
            elif state == "failed":
                await uow.record(de.REFUND_FAILED, refund_payload(refund))

    async def apply(self, answer: ProviderRefund) -> None:
        """A refund as the provider reports it now (webhook or reconciliation)."""
        if answer.refund_id:
            await self.transaction(
                lambda store, uow: self._settle(store, uow, answer.refund_id, answer, ("created", "pending"))
            )

    async def check_pending(self) -> int:
        pending = await self.read(lambda store, _: store.refunds_in("pending", 500))
        for refund in pending:
            try:
                await self.apply(await self.provider.retrieve_refund(refund["provider_refund_id"]))
            except (ProviderUnavailable, ProviderRefused):
                break
        return len(pending)

    async def tick(self) -> int:
        """The ``ticketing.refunds`` job: refunds whose next attempt is due."""
        due = await self.read(lambda store, _: store.refunds_due(_now(), 500))
        for refund in due:
            await self.push(refund)
        return len(due)

    async def push_order(self, order_id: str) -> None:
        """Right after a refund commits: try to pay it out now (the job retries whatever fails)."""
        for refund in await self.read(lambda store, _: store.refunds_of_order(order_id)):
            await self.push(refund)


class Refunds:
    def __init__(self, transaction, payments: RefundPayments, *, buyer_cutoff_hours: float) -> None:
        self.transaction = transaction  # work(store, uow) in a retried transaction
        self.payments = payments
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

        order = await self.transaction(work)
        await self.payments.push_order(order_id)
        return order

    async def cancel(self, store, uow, order, ticket_ids, reason: str, source: str, *, force: bool = False) -> int:
        """Cancel ``ticket_ids`` of ``order`` (None: all its valid tickets); how many were cancelled.

        ``force`` (an event called off) takes used tickets back too.
        """
        if order["status"] not in REFUNDABLE_STATUSES:
            raise Conflict(f"a {order['status']} order has nothing to refund")
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
        for line in order["lines"]:  # holds not yet turned sold after the confirmation: now
            for k, quantity in line.get("allocation", []):
                await store.sell_hold(line["type_id"], k, order["_id"], quantity)
        for type_id, count in Counter(t["type_id"] for t in valid).items():
            await store.unsell(type_id, count, back_on_sale=on_sale)
        left = sum(1 for t in tickets.values() if t["status"] in (VALID, USED)) - len(valid)
        status = PARTIALLY_REFUNDED if left else REFUNDED
        history = {"at": now, "status": status, "tickets": len(valid), "reason": reason, "source": source}
        check_transition(order["status"], status, source)
        amount = sum(t["price_minor"] for t in valid)
        refunded = order.get("refunded_minor", 0) + amount
        if not await store.transition(order["_id"], order["status"], status, history, refunded_minor=refunded):
            raise Conflict("the order changed meanwhile; try again")
        if amount:
            await new_refund(store, uow, order, amount, [t["_id"] for t in valid], reason, source)
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
        await store.anonymise(user_id)  # orders and payments stay, for the accounts; names go
        return cancelled


class RefundRuns:
    """Works off the refund runs of cancelled events, a few orders per tick, each in its own transaction."""

    def __init__(self, refunds: Refunds, transaction, read, expire, batch: int = 50) -> None:
        self.refunds = refunds
        self.transaction = transaction
        self.read = read
        self.expire = expire  # expire(order_id, reason, actor): unpaid orders of the event end too
        self.batch = batch

    async def tick(self) -> int:
        done = 0
        for run in await self.read(lambda store, _: store.open_refund_runs()):
            event_id = run["_id"]
            pending = await self.read(lambda store, _, e=event_id: store.pending_orders_of_event(e, self.batch))
            for order in pending:
                await self.expire(order["_id"], f"event_{run['reason']}", SYSTEM)
            orders = await self.read(lambda store, _, e=event_id: store.refundable_orders_of_event(e, self.batch))
            if not orders and not pending:
                await self.transaction(lambda store, _, e=event_id: store.finish_refund_run(e))
                continue
            for order in orders:
                done += await self.transaction(lambda store, uow, o=order, r=run: self._refund(store, uow, o, r))
                await self.refunds.payments.push_order(order["_id"])
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
            await hosted_event(store, event_id, host, "see its refunds")
            return await store.refund_run(event_id)

        return await self.read(work)
