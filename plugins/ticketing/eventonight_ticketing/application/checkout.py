"""Paying for an order: the checkout session saga, webhooks, expiry and reconciliation.

The order is placed (PENDING, its tickets held) before the provider is
asked for anything; the provider's session is created outside any
transaction with an idempotency key derived from the order, so a retry, a
resume after a lost answer or a crash in between gets the same session back.
What happened to a payment is always read from the session *as fetched again*
from the provider; webhooks only say when to look. Every change of an order
is a guarded transition in one transaction with its inventory, tickets and
domain events, so doing it twice, or in the wrong order, changes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from eventonight_ticketing.application.orders import issue_tickets
from eventonight_ticketing.application.refunds import new_refund
from eventonight_ticketing.domain import events as de
from eventonight_ticketing.domain import orders as states
from eventonight_ticketing.domain.model import Conflict, DomainError, NotFound
from eventonight_ticketing.domain.payments import (
    EXPIRED_OUT,
    FAILED,
    PAID_OUT,
    PROCESSING,
    Notification,
    PaymentProvider,
    ProviderRefused,
    ProviderUnavailable,
    Session,
)

log = logging.getLogger("eventonight.ticketing.checkout")
EXPIRE_BATCH = 500
#: A payment still open this long after its session was made is looked up (lost webhooks).
RECONCILE_AFTER = timedelta(minutes=10)


def _now() -> datetime:
    return datetime.now(UTC)


def session_key(order_id: str) -> str:
    """One provider session per order: Stripe answers a repeated key with the session it made."""
    return f"etn-cs-{order_id}"


class Checkout:
    def __init__(
        self,
        transaction,
        read,
        provider: PaymentProvider,
        orders,
        refunds,
        *,
        public_base_url: str,
        redirect_origins: list[str],
        grace_seconds: float,
    ) -> None:
        self.transaction = transaction
        self.read = read
        self.provider = provider
        self.orders = orders
        self.refunds = refunds  # RefundPayments: pushes refunds to the provider
        self.base = public_base_url.rstrip("/")
        self.origins = {_origin(o) for o in redirect_origins} | {_origin(self.base)}
        self.grace = timedelta(seconds=grace_seconds)

    # -- starting a checkout --------------------------------------------------
    def return_urls(self, success_url: str | None, cancel_url: str | None) -> dict[str, str]:
        """Where the provider sends the buyer back: only to allow-listed origins (no open redirect)."""
        urls = {}
        for name, url in (("success_url", success_url), ("cancel_url", cancel_url)):
            if url is None:
                continue
            if _origin(url) not in self.origins:
                field = "successUrl" if name == "success_url" else "cancelUrl"
                raise DomainError(f"{field} must be on an allowed origin", field=field)
            urls[name] = url
        return urls

    async def session_for(self, order: dict[str, Any]) -> dict[str, Any]:
        """The order's checkout session, made now or found again (same key): ``{checkoutUrl, expiresAt}``.

        The provider failing turns the order EXPIRED and its tickets go back at once (503).
        """
        try:
            session = await self.provider.create_session(self._params(order), session_key(order["_id"]))
        except (ProviderUnavailable, ProviderRefused):
            await self.expire(order["_id"], "provider_unavailable", states.SYSTEM)
            raise
        changes = {"session_id": session.id, "checkout_url": session.url, "session_at": _now()}
        # One document: the payment record is written when the provider reports an outcome.
        opened = await self.read(lambda store, _: store.update_order(order["_id"], states.PENDING, changes))
        if not opened:  # cancelled or expired while the provider answered: that session must not be paid
            await self._expire_quietly(session.id)
            raise Conflict("this order is no longer waiting for payment")
        return {"checkoutUrl": session.url, "expiresAt": order["expires_at"]}

    def _params(self, order: dict[str, Any]) -> dict[str, Any]:
        back = self.base + "/api/ticketing/checkout/return?"
        return {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": line["quantity"],
                    "price_data": {
                        "currency": order["currency"].lower(),
                        "unit_amount": line["unit_price_minor"],
                        "product_data": {"name": line["name"]},
                    },
                }
                for line in order["lines"]
            ],
            "client_reference_id": order["_id"],
            "metadata": {"orderId": order["_id"], "eventId": order["event_id"]},
            "payment_intent_data": {"metadata": {"orderId": order["_id"]}},
            "expires_at": int(_aware(order["expires_at"]).timestamp()),
            "payment_method_types": ["card"],
            "success_url": order.get("success_url") or back + urlencode({"orderId": order["_id"], "result": "paid"}),
            "cancel_url": order.get("cancel_url") or back + urlencode({"orderId": order["_id"], "result": "cancel"}),
        }

    async def _payment(self, store, order_id: str, session: Session) -> dict[str, Any]:
        """The payment record of a session, written the first time the provider reports on it."""
        payment = await store.payment(session.id)
        if payment is None:
            payment = {"_id": session.id, "order_id": order_id, "provider": self.provider.name,
                       "amount_minor": session.amount_total, "currency": session.currency, "state": "open",
                       "payment_intent_id": session.payment_intent_id, "created_at": _now(),
                       "updated_at": _now()}  # fmt: skip
            await store.add_payment(payment)
        return payment

    async def resume(self, order_id: str, user_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        order = await self._own(order_id, user_id)
        if order["status"] != states.PENDING:
            raise Conflict(f"this order is {order['status']}, not waiting for payment")
        return order, await self.session_for(order)

    async def cancel(self, order_id: str, user_id: str) -> dict[str, Any]:
        """The buyer gives up a PENDING order: its session is expired first, so it cannot be paid after."""
        order = await self._own(order_id, user_id)
        if order["status"] != states.PENDING:
            raise Conflict(f"a {order['status']} order cannot be cancelled (ask for a refund instead)")
        if order.get("session_id"):
            try:
                try:
                    session = await self.provider.expire_session(order["session_id"])
                except ProviderRefused:  # not open any more: see what it became
                    session = await self.provider.retrieve_session(order["session_id"])
            except ProviderUnavailable:
                # The tickets go back anyway; a payment that still gets through follows the late-payment rule.
                log.warning("provider unreachable while cancelling order %s; cancelling it anyway", order_id)
                session = None
            if session is not None and session.outcome() in (PAID_OUT, PROCESSING):
                await self.apply_session(session)
                raise Conflict("this order was paid meanwhile")
        await self.expire(order_id, "cancelled_by_buyer", states.BUYER)
        return await self.read(lambda store, _: store.order(order_id))

    async def _own(self, order_id: str, user_id: str) -> dict[str, Any]:
        order = await self.read(lambda store, _: store.order(order_id))
        if order is None or order["user_id"] != user_id:
            raise NotFound("no such order")
        return order

    # -- what the provider tells us -------------------------------------------
    async def webhook(self, payload: bytes, signature: str) -> str:
        """A verified notification, processed once; raises BadSignature (400) and lets failures be 5xx."""
        note = self.provider.construct_event(payload, signature)
        if await self.read(lambda store, _: store.webhook_processed(note.id)):
            return "duplicate"
        if note.type.startswith("checkout.session."):
            # Marked processed in the transaction that acts on it (one commit per webhook).
            if await self.apply_session(await self.provider.retrieve_session(note.object_id), note):
                return "processed"
        elif note.type in ("refund.updated", "refund.failed"):
            await self.refunds.apply(await self.provider.retrieve_refund(note.object_id))
        elif note.type == "charge.refunded":
            await self.refunds.check_pending()
        else:
            return "ignored"
        await self.transaction(lambda store, _: store.mark_webhook(note.id, note.type, note.object_id))
        return "processed"

    async def apply_session(self, session: Session, note: Notification | None = None) -> bool:
        """Bring the order in line with its session as the provider reports it now.

        ``note``: the webhook that asked, recorded as processed in the same
        transaction; True when it was.
        """
        if not session.order_id:
            log.warning("checkout session %s names no order; ignored", session.id)
            return False

        def marked(work):
            async def both(store, uow):
                if note is not None:
                    await store.mark_webhook(note.id, note.type, note.object_id)
                return await work(store, uow)

            return both

        outcome = session.outcome()
        if outcome == PAID_OUT:
            try:
                confirmed = await self.transaction(marked(lambda store, uow: self._paid(store, uow, session)))
                if confirmed is not None:
                    await self.orders.settle_holds(confirmed)
            except _NoStock:  # nothing was sold: the order ends and the money goes back, once
                await self.transaction(marked(lambda store, uow: self._no_stock(store, uow, session)))
        elif outcome == PROCESSING:
            await self.transaction(marked(lambda store, _: self._processing(store, session)))
        elif outcome in (FAILED, EXPIRED_OUT):
            reason = "payment_failed" if outcome == FAILED else "session_expired"
            await self.transaction(marked(lambda store, uow: self._unpaid(store, uow, session, reason)))
        else:
            return False
        return note is not None

    async def _paid(self, store, uow, session: Session) -> dict[str, Any] | None:
        """The order confirmed from its holds (to settle after the commit), else None."""
        order = await store.order(session.order_id)
        if order is None:
            log.error("session %s was paid for unknown order %s", session.id, session.order_id)
            return None
        payment = await store.payment(session.id)
        if payment is not None and payment["state"] in ("succeeded", "refunded"):
            return None  # this payment was dealt with before

        async def record(state: str) -> None:
            await self._record_payment(store, order["_id"], session, payment, state)

        mismatch = session.amount_total != order["total_minor"] or session.currency != order["currency"]
        ours = order.get("session_id") in (None, session.id)
        now = _now()
        if mismatch or not ours or order["status"] not in (states.PENDING, states.EXPIRED):
            # Paid the wrong amount, or a second time for one order: the money goes back, no tickets.
            reason = "amount_mismatch" if mismatch else "duplicate_payment"
            log.error("payment %s of order %s refunded: %s", session.id, order["_id"], reason)
            await record("refunded")
            if order["status"] == states.PENDING and ours:
                await self._expire_in(store, uow, order, reason, states.PROVIDER)
            await new_refund(store, uow, order, session.amount_total, [], reason, states.SYSTEM,
                             payment_intent_id=session.payment_intent_id, currency=session.currency)  # fmt: skip
            return None
        title = order.get("event_title", "")
        changes = {"payment_intent_id": session.payment_intent_id, "session_id": session.id, "processing": False}
        if order["status"] == states.PENDING:
            states.check_transition(states.PENDING, states.PAID, states.PROVIDER)
            history = {"at": now, "status": states.PAID, "source": states.PROVIDER, "session": session.id}
            if not await store.transition(order["_id"], states.PENDING, states.PAID, history, **changes):
                raise Conflict("the order changed meanwhile")  # re-run by the transaction
            # A PENDING order's holds are there: only its expiry releases them, in a transaction
            # that conflicts with this one.
            await issue_tickets(store, uow, order, title)
            await record("succeeded")
            return order
        # EXPIRED: a payment that came after the hold ran out. Tickets if they are still on sale.
        event = await store.event(order["event_id"])
        on_sale = event is not None and event.on_sale(now)
        history = {"at": now, "status": states.PAID, "source": states.PROVIDER, "reason": "late_payment"}
        if on_sale and await store.transition(order["_id"], states.EXPIRED, states.PAID, history, **changes):
            if await issue_tickets(store, uow, order, title, from_available=True):
                await record("succeeded")
                return None
            raise _NoStock("the tickets of a late payment were gone")
        await self._late_refund(store, uow, order, session, payment)
        return None

    async def _record_payment(self, store, order_id: str, session: Session, existing, state: str) -> None:
        """The payment's new state: written in one go when the provider reports on it the first time."""
        if existing is None:
            await store.add_payment(
                {"_id": session.id, "order_id": order_id, "provider": self.provider.name,
                 "amount_minor": session.amount_total, "currency": session.currency, "state": state,
                 "payment_intent_id": session.payment_intent_id, "created_at": _now(), "updated_at": _now()}
            )  # fmt: skip
            return
        changes = {"state": state, "payment_intent_id": session.payment_intent_id}
        await store.set_payment(session.id, ("open", "processing", "expired", "failed"), changes)

    async def _late_refund(self, store, uow, order, session: Session, payment) -> None:
        history = {"at": _now(), "status": states.REFUNDED, "source": states.SYSTEM, "reason": "late_payment"}
        states.check_transition(states.EXPIRED, states.REFUNDED, states.SYSTEM)
        if not await store.transition(order["_id"], states.EXPIRED, states.REFUNDED, history,
                                      refunded_minor=session.amount_total,
                                      payment_intent_id=session.payment_intent_id):  # fmt: skip
            raise Conflict("the order changed meanwhile")
        await self._record_payment(store, order["_id"], session, payment, "refunded")
        await new_refund(store, uow, order, session.amount_total, [], "late_payment", states.SYSTEM,
                         payment_intent_id=session.payment_intent_id, currency=session.currency)  # fmt: skip

    async def _no_stock(self, store, uow, session: Session) -> None:
        order = await store.order(session.order_id)
        payment = await store.payment(session.id)
        if order is None or (payment and payment["state"] in ("succeeded", "refunded")):
            return
        if order["status"] == states.PENDING:
            await self._expire_in(store, uow, order, "sold_out", states.PROVIDER)
            order = await store.order(session.order_id)
        if order["status"] == states.EXPIRED:
            await self._late_refund(store, uow, order, session, payment)

    async def _processing(self, store, session: Session) -> None:
        order = await store.order(session.order_id)
        if order is None or order["status"] != states.PENDING or order.get("session_id") not in (None, session.id):
            return
        await self._payment(store, order["_id"], session)
        await store.update_order(order["_id"], states.PENDING, {"processing": True, "session_id": session.id})
        await store.set_payment(session.id, ("open",), {"state": "processing"})

    async def _unpaid(self, store, uow, session: Session, reason: str) -> None:
        order = await store.order(session.order_id)
        if order is not None:
            await self._payment(store, order["_id"], session)
        await store.set_payment(session.id, ("open", "processing"), {"state": "failed" if reason == "payment_failed"
                                                                      else "expired"})  # fmt: skip
        if order is not None and order["status"] == states.PENDING and order.get("session_id") in (None, session.id):
            await self._expire_in(store, uow, order, reason, states.PROVIDER)

    # -- expiry ---------------------------------------------------------------
    async def expire(self, order_id: str, reason: str, actor: str) -> bool:
        async def work(store, uow) -> bool:
            order = await store.order(order_id)
            if order is None or order["status"] != states.PENDING:
                return False
            await self._expire_in(store, uow, order, reason, actor)
            return True

        return await self.transaction(work)

    async def _expire_in(self, store, uow, order: dict[str, Any], reason: str, actor: str) -> None:
        states.check_transition(states.PENDING, states.EXPIRED, actor)
        history = {"at": _now(), "status": states.EXPIRED, "source": actor, "reason": reason}
        if not await store.transition(order["_id"], states.PENDING, states.EXPIRED, history, processing=False):
            raise Conflict("the order changed meanwhile")
        for line in order["lines"]:
            for k, _ in line.get("allocation", []):
                await store.release(line["type_id"], k, order["_id"])
        await uow.record(de.ORDER_EXPIRED, {"orderId": order["_id"], "userId": order["user_id"],
                                            "eventId": order["event_id"], "reason": reason})  # fmt: skip

    async def expire_due(self) -> int:
        """The ``ticketing.expire`` job: PENDING orders past ``expiresAt`` + grace give their tickets back.

        The provider is asked first (a payment whose webhook is late confirms
        instead), but an unreachable provider does not keep the tickets: a
        session cannot be paid after its own ``expires_at``, which equals ours.
        """
        due = await self.read(lambda store, _: store.orders_due(_now() - self.grace, EXPIRE_BATCH))
        expired = 0
        for order in due:
            if order.get("session_id"):
                try:
                    session = await self.provider.retrieve_session(order["session_id"])
                    if session.outcome() in (PAID_OUT, PROCESSING):
                        await self.apply_session(session)
                        continue
                except (ProviderUnavailable, ProviderRefused):
                    log.warning("provider unreachable while expiring order %s; expiring it anyway", order["_id"])
            expired += await self.expire(order["_id"], "hold_expired", states.SYSTEM)
        for order in await self.read(lambda store, _: store.processing_orders(EXPIRE_BATCH)):
            event = await self.read(lambda store, _, e=order["event_id"]: store.event(e))
            if event is not None and event.date is not None and event.date <= _now():
                expired += await self.expire(order["_id"], "payment_not_completed", states.SYSTEM)
        await self.orders.release_lapsed()
        return expired

    async def reconcile(self) -> int:
        """The ``ticketing.reconcile`` job: sessions whose webhook never came are looked up."""
        sessions = await self.read(lambda store, _: store.sessions_unsettled(_now() - RECONCILE_AFTER, EXPIRE_BATCH))
        looked = 0
        for session_id in sessions:
            try:
                await self.apply_session(await self.provider.retrieve_session(session_id))
                looked += 1
            except (ProviderUnavailable, ProviderRefused):
                log.warning("provider unreachable while reconciling session %s", session_id)
                break
        return looked + await self.refunds.check_pending()

    async def _expire_quietly(self, session_id: str) -> None:
        try:
            await self.provider.expire_session(session_id)
        except (ProviderUnavailable, ProviderRefused):
            pass  # it lapses at expires_at; a payment before that is refunded by the late-payment rule


class _NoStock(Conflict):
    """A payment arrived, but its tickets were gone: the transaction is undone and the money refunded."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
