"""Placing orders: idempotent per user and Idempotency-Key, and unable to oversell.

Reserving is one conditional update per inventory shard outside any
transaction (a hold recorded in the shard, keyed by the order id); the order,
the holds turned into sold tickets, the tickets and ``ticketing.order.confirmed``
then commit in one transaction. A crash in between leaves holds whose time
runs out: the ``ticketing.release-holds`` job gives them back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

from eventonight_ticketing.domain import events as de
from eventonight_ticketing.domain.model import (
    EXPIRED,
    PAID,
    PENDING,
    VALID,
    Busy,
    Conflict,
    DomainError,
    HeldByTwin,
    NotFound,
    SalesClosed,
    SoldOut,
    TooManyPending,
    check_lines,
    plan_allocation,
)
from eventonight_ticketing.domain.money import display

RESERVE_ATTEMPTS = 5
#: A transaction lives at most this long (MongoDB's and SecantusDB's default): an order commits
#: only while its holds have at least this much time left, so the hold sweeper, which acts only
#: once a hold's time is over, always finds the order of a hold that was taken for it.
TRANSACTION_MARGIN = timedelta(seconds=60)
#: How long this process answers "sold out" from memory after it last saw too few tickets left:
#: when a sale is over, thousands of late buyers get their 409 without touching the database.
#: Tickets given back meanwhile are offered again at most this much later.
SOLD_OUT_MEMORY_SECONDS = 1.0
#: A twin request (same key, at the same time) waits this long for the first one's order.
TWIN_WAIT_STEPS, TWIN_WAIT_STEP_SECONDS = 40, 0.05
MAX_KEY_LENGTH = 255


class DuplicateOrder(Exception):
    """A concurrent request with the same Idempotency-Key created the order first."""


def _now() -> datetime:
    return datetime.now(UTC)


def order_id_for(user_id: str, client_key: str) -> str:
    """The same user and key always name the same order: a retried or doubled request cannot reserve twice."""
    return uuid5(NAMESPACE_URL, f"eventonight-order:{user_id}:{client_key}").hex


def fingerprint(event_id: str, lines: list[tuple[str, int]]) -> str:
    return hashlib.sha256(json.dumps([event_id, lines]).encode()).hexdigest()


class BatchedLookup:
    """Lookups by id that arrive within a couple of milliseconds of each other share one query.

    Under a rush (a sale opening, thousands of late buyers refused "sold out")
    the idempotency check of every order request would be one read each; this
    makes it one read per batch, with the same answers.
    """

    def __init__(self, fetch_many, window_seconds: float = 0.002) -> None:
        self.fetch_many = fetch_many  # async (ids) -> {id: document}
        self.window = window_seconds
        self._waiting: dict[str, list[asyncio.Future]] = {}
        self._flush: asyncio.Task | None = None

    async def get(self, key: str) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._flush is None:
            self._flush = loop.create_task(self._answer_soon())
        return await future

    async def _answer_soon(self) -> None:
        await asyncio.sleep(self.window)
        batch, self._waiting, self._flush = self._waiting, {}, None
        try:
            found = await self.fetch_many(list(batch))
        except Exception as exc:  # noqa: BLE001 - every waiting request hears of the failure
            for futures in batch.values():
                for future in futures:
                    if not future.done():
                        future.set_exception(exc)
            return
        for key, futures in batch.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(key))


class Orders:
    def __init__(
        self,
        transaction,
        read,
        *,
        max_tickets: int,
        reservation_seconds: float,
        hold_seconds: float,
        grace_seconds: float,
        max_pending: int,
        is_duplicate,
    ) -> None:
        self.transaction = transaction  # work(store, uow) in a retried transaction
        self.read = read  # work(store, kernel.read): reads, and the single-document writes of reserving
        self.max_tickets = max_tickets
        self.reservation = timedelta(seconds=reservation_seconds)
        self.hold = timedelta(seconds=hold_seconds)
        self.grace = timedelta(seconds=grace_seconds)
        self.max_pending = max_pending
        self.is_duplicate = is_duplicate  # is this exception a unique-key violation?
        self._left: dict[tuple[str, str], tuple[float, int]] = {}  # (event, type) -> (when seen, tickets left)
        # Every order request first looks its key up; under a rush those reads go out together.
        self._lookup = BatchedLookup(lambda ids: self.read(lambda store, _: store.orders_by_ids(ids)))

    async def place(
        self,
        user_id: str,
        event_id: str,
        requested: list[tuple[str, int]],
        client_key: str,
        urls: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """The order and whether this call created it (False: the key was used before, same order back).

        A free order is PAID at once; a paid one is PENDING, holding its tickets
        until ``expires_at`` while the buyer pays (``urls``: where the provider
        sends them back).
        """
        if not client_key or len(client_key) > MAX_KEY_LENGTH or not client_key.isprintable():
            raise DomainError(f"send an Idempotency-Key header of 1-{MAX_KEY_LENGTH} printable characters")
        lines = check_lines(requested, self.max_tickets)
        order_id, print_ = order_id_for(user_id, client_key), fingerprint(event_id, lines)
        existing = await self._lookup.get(order_id)
        if existing is not None:
            if existing.get("fingerprint") != print_:
                raise Conflict("this Idempotency-Key was used for another order", field="Idempotency-Key")
            return existing, False
        self._remembered_sold_out(event_id, lines)
        event, types = await self.read(lambda store, _: self._sale(store, event_id, lines))
        currencies = {types[t].currency for t, _ in lines}
        if len(currencies) > 1:
            raise DomainError("one order pays in one currency", field="lines")
        total = sum(types[t].price_minor * q for t, q in lines)
        now = _now()
        order = {
            "_id": order_id,
            "user_id": user_id,
            "event_id": event_id,
            "event_title": event.title,
            "client_key": client_key,
            "fingerprint": print_,
            "status": PAID if not total else PENDING,
            "lines": [
                {"type_id": t, "name": types[t].name, "quantity": q, "unit_price_minor": types[t].price_minor}
                for t, q in lines
            ],
            "currency": currencies.pop(),
            "total_minor": total,
            "refunded_minor": 0,
            "created_at": now,
            "history": [{"at": now, "status": PAID if not total else PENDING, "source": "buyer"}],
        }
        if total:  # the cap on unpaid orders is checked in the order's transaction
            order |= {"expires_at": now + self.hold, "processing": False, "session_id": None,
                      "checkout_url": None, **(urls or {})}  # fmt: skip
        # A paid order's hold outlives its expiry by the grace period: the expiry job releases it first.
        order["hold_until"] = order["expires_at"] + self.grace if total else now + self.reservation
        request = uuid4().hex  # this call: a twin request (same key) never shares its holds
        try:
            await self._reserve(order, until=order["hold_until"], request=request)
        except HeldByTwin:
            return await self._twin_order(order_id), False
        work = self._open if total else self._confirm_free
        try:
            await self.transaction(lambda store, uow: work(store, uow, order, event.title))
        except Exception as exc:
            # Only the holds this call took go back: never a twin's, whose order may have committed.
            await self._release(order, request)
            if self.is_duplicate(exc):
                return await self.read(lambda store, _: store.order(order_id)), False
            raise
        if not total:
            await self.settle_holds(order)
        return order, True

    async def _sale(self, store, event_id: str, lines: list[tuple[str, int]]):
        event = await store.event(event_id)
        if event is None or event.status == "DRAFT":
            raise NotFound("no such event")
        now = _now()
        if not event.on_sale(now):
            raise SalesClosed("this event is not on sale")
        types = {}
        for type_id, quantity in lines:
            ticket_type = await store.ticket_type(type_id)
            if ticket_type is None or ticket_type.event_id != event_id:
                raise DomainError("every ticket type must belong to the event", field="lines")
            if not ticket_type.on_sale(event, now):
                raise SalesClosed(f"{ticket_type.name} is not on sale")
            if quantity > ticket_type.max_per_order:
                raise DomainError(f"at most {ticket_type.max_per_order} {ticket_type.name} per order", field="lines")
            types[type_id] = ticket_type
        return event, types

    async def _twin_order(self, order_id: str) -> dict[str, Any]:
        """The order a twin request is placing: given a moment to commit, else 409 (retry)."""
        for _ in range(TWIN_WAIT_STEPS):
            order = await self.read(lambda store, _: store.order(order_id))
            if order is not None:
                return order
            await asyncio.sleep(TWIN_WAIT_STEP_SECONDS)
        raise Conflict("a request with this Idempotency-Key is still being processed; retry in a moment")

    async def _reserve(self, order: dict[str, Any], until: datetime, request: str) -> None:
        start = int(order["_id"][:8], 16)
        try:
            for line in order["lines"]:
                line["allocation"] = await self._hold_line(order["event_id"], order["_id"], line, until, start, request)
        except Exception:
            await self._release(order, request)
            raise

    def _remembered_sold_out(self, event_id: str, lines: list[tuple[str, int]]) -> None:
        now = time.monotonic()
        for type_id, quantity in lines:
            seen = self._left.get((event_id, type_id))
            if seen is not None and now - seen[0] < SOLD_OUT_MEMORY_SECONDS and quantity > seen[1]:
                raise SoldOut("not enough tickets of this type left")

    async def _hold_line(
        self, event_id: str, order_id: str, line: dict[str, Any], until: datetime, start: int, request: str
    ) -> list[list[int]]:
        for _ in range(RESERVE_ATTEMPTS):
            shards = await self.read(lambda store, _: store.shards(line["type_id"]))
            if not shards:  # the type was deleted meanwhile
                raise SalesClosed(f"{line['name']} is not on sale")
            plan = plan_allocation({s["k"]: s["available"] for s in shards}, line["quantity"], start % len(shards))
            if plan is None:
                self._left[(event_id, line["type_id"])] = (time.monotonic(), sum(s["available"] for s in shards))
                raise SoldOut(f"not enough {line['name']} tickets left")
            taken = []
            for k, quantity in plan:
                if not await self.read(
                    lambda store, _, k=k, q=quantity: store.hold(line["type_id"], k, order_id, q, until, request)
                ):
                    break
                taken.append([k, quantity])
            else:
                return taken
            # Another buyer took from a shard between the read and the hold: give back, look again.
            for k, _ in taken:
                await self.read(lambda store, _, k=k: store.release(line["type_id"], k, order_id, request=request))
        raise Busy("tickets are being sold fast; try again in a second")

    async def _release(self, order: dict[str, Any], request: str) -> None:
        for line in order["lines"]:
            for k, _ in line.get("allocation", []):
                await self.read(
                    lambda store, _, k=k, t=line["type_id"]: store.release(t, k, order["_id"], request=request)
                )

    async def _open(self, store, uow, order: dict[str, Any], _title: str) -> None:
        _in_time(order)
        await store.add_order(order)
        if await store.pending_count(order["user_id"], order["event_id"]) > self.max_pending:
            raise TooManyPending(
                f"you already have {self.max_pending} unpaid orders for this event; pay or cancel one first"
            )

    async def _confirm_free(self, store, uow, order: dict[str, Any], event_title: str) -> None:
        _in_time(order)
        await store.add_order(order)  # first: a twin request's insert fails here
        await issue_tickets(store, uow, order, event_title)

    async def settle_holds(self, order: dict[str, Any]) -> None:
        """After a confirmation committed: its holds become sold tickets (one document each, idempotent).

        Kept out of the confirming transaction, so confirmations of one shard do
        not conflict; if the process dies first, the hold sweeper does it.
        """
        for line in order["lines"]:
            for k, quantity in line.get("allocation", []):
                await self.read(
                    lambda store, _, t=line["type_id"], k=k, q=quantity: store.sell_hold(t, k, order["_id"], q)
                )

    async def release_lapsed(self) -> int:
        """Holds whose time ran out: given back if their order never committed (or expired), turned
        into sold tickets if it was confirmed (a process that died before :meth:`settle_holds`).

        Holds of PENDING orders are left to the expiry job (which asks the
        provider first) and to a delayed payment still on its way.
        """
        now = _now()
        lapsed = await self.read(lambda store, _: store.lapsed_holds(now))
        released = 0
        for type_id, k, order_id in lapsed:
            order = await self.read(lambda store, _, o=order_id: store.order(o))
            if order is not None and order["status"] == PENDING:
                continue
            if order is not None and order["status"] != EXPIRED:
                await self.settle_holds(order)
                continue
            released += await self.read(lambda store, _, t=type_id, k=k, o=order_id: store.release(t, k, o, before=now))
        return released

    async def get(self, order_id: str, viewer: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        async def work(store, _):
            order = await store.order(order_id)
            if order is None:
                raise NotFound("no such order")
            if order["user_id"] != viewer:
                event = await store.event(order["event_id"])
                if event is None or not event.is_host(viewer):
                    raise NotFound("no such order")  # others' orders do not exist for them
            tickets = await store.tickets_of_order(order_id)
            return order, tickets

        return await self.read(work)

    async def refunds_of(self, order_id: str) -> list[dict[str, Any]]:
        return await self.read(lambda store, _: store.refunds_of_order(order_id))

    async def of_user(self, user_id: str, limit: int, offset: int):
        return await self.read(lambda store, _: store.orders_of(user_id, limit, offset))

    async def tickets_of(self, user_id: str, event_id: str | None, limit: int, offset: int, status: str | None = None):
        return await self.read(lambda store, _: store.tickets_of(user_id, event_id, limit, offset, status))

    async def ticket(self, ticket_id: str, viewer: str) -> dict[str, Any]:
        async def work(store, _):
            ticket = await store.ticket(ticket_id)
            if ticket is not None and ticket["user_id"] != viewer:
                event = await store.event(ticket["event_id"])
                if event is None or not event.is_host(viewer):
                    ticket = None
            if ticket is None:
                raise NotFound("no such ticket")
            return ticket

        return await self.read(work)


def _in_time(order: dict[str, Any]) -> None:
    if _now() >= order["hold_until"] - TRANSACTION_MARGIN:
        raise Conflict("the reservation ran out before the order was placed; order again")


async def issue_tickets(store, uow, order: dict[str, Any], event_title: str, *, from_available: bool = False) -> bool:
    """Issue the order's tickets and record ``ticketing.order.confirmed``.

    The order's holds stay as they are (they become sold after the commit,
    :meth:`Orders.settle_holds`). ``from_available``: the order has no holds
    (a payment that came after they were given back): the tickets are taken
    from what is available, and False means they were not there.
    """
    if from_available:
        for line in order["lines"]:
            if not await store.sell_from_available(line["type_id"], line["quantity"]):
                return False
    tickets = [
        {
            "_id": uuid4().hex,
            "order_id": order["_id"],
            "event_id": order["event_id"],
            "type_id": line["type_id"],
            "user_id": order["user_id"],
            "price_minor": line["unit_price_minor"],
            "currency": order["currency"],
            "status": VALID,
            "secret_rev": 0,
            "created_at": _now(),
        }
        for line in order["lines"]
        for _ in range(line["quantity"])
    ]
    await store.add_tickets(tickets)
    await uow.record(
        de.ORDER_CONFIRMED,
        {
            "orderId": order["_id"],
            "userId": order["user_id"],
            "eventId": order["event_id"],
            "eventTitle": event_title,
            "ticketCount": len(tickets),
            "totalMinor": order["total_minor"],
            "currency": order["currency"],
        },
    )
    return True


def order_view(order: dict[str, Any], tickets: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    view = {
        "id": order["_id"],
        "eventId": order["event_id"],
        "status": order["status"],
        "lines": [
            {"typeId": line["type_id"], "name": line["name"], "quantity": line["quantity"],
             "unitPriceMinor": line["unit_price_minor"]}
            for line in order["lines"]
        ],
        "currency": order["currency"],
        "totalMinor": order["total_minor"],
        "total": display(order["total_minor"], order["currency"]),
        "createdAt": order["created_at"],
        "refundedMinor": order.get("refunded_minor", 0),
    }  # fmt: skip
    if order["status"] == PENDING:
        view |= {"expiresAt": order["expires_at"], "checkoutUrl": order.get("checkout_url"),
                 "paymentProcessing": bool(order.get("processing"))}  # fmt: skip
    if tickets is not None:
        view["tickets"] = [ticket_view(t) for t in tickets]
    return view


def ticket_view(ticket: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": ticket["_id"],
        "orderId": ticket["order_id"],
        "eventId": ticket["event_id"],
        "typeId": ticket["type_id"],
        "status": ticket["status"],
        "attendeeName": ticket.get("attendee_name"),
        "priceMinor": ticket["price_minor"],
        "currency": ticket["currency"],
        "createdAt": ticket["created_at"],
    }
