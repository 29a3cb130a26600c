"""MongoDB storage of the ticketing plugin (collections prefixed ``ticketing_``), over a data handle.

Documents are plain dicts: inventory is kept with conditional ``$inc`` updates
that no ODM expresses. Shapes:

- ``ticketing_events``: ``_id`` (event id), ``host_ids``, ``status``, ``title``, ``date``, ``sales_closed``.
- ``ticketing_ticket_types``: ``_id``, ``event_id``, ``name``, ``description``, ``price_minor``,
  ``currency``, ``capacity``, ``sales_start``, ``sales_end``, ``max_per_order``, ``refundable``,
  ``status``, ``created_at``.
- ``ticketing_inventory``: one shard per 64 tickets of a type, ``_id`` ``<typeId>:<k>``:
  ``type_id``, ``k``, ``capacity``, ``available``, ``sold``, ``holds`` {orderId: {qty, until}};
  always ``available + Σ holds.qty + sold == capacity``.
- ``ticketing_orders``: ``_id`` (derived from user and Idempotency-Key), ``user_id``, ``event_id``,
  ``client_key``, ``fingerprint``, ``status``, ``lines`` [{type_id, name, quantity,
  unit_price_minor, allocation [[k, qty]]}], ``currency``, ``total_minor``, ``created_at``; paid
  orders also ``expires_at``, ``hold_until``, ``session_id``, ``session_at``, ``checkout_url``, ``processing``, ``payment_intent_id``,
  ``success_url``, ``cancel_url``, ``refunded_minor``, ``history``.
- ``ticketing_tickets``: ``_id``, ``order_id``, ``event_id``, ``type_id``, ``user_id``,
  ``price_minor``, ``currency``, ``status`` (VALID, USED, CANCELLED), ``secret_rev``,
  ``checked_in`` {at, gate, by}, ``changed_at``, ``created_at``.
- ``ticketing_payments``: ``_id`` (the provider's checkout session id), ``order_id``, ``provider``,
  ``amount_minor``, ``currency``, ``state`` (processing, succeeded, failed, expired, refunded),
  ``payment_intent_id``, ``created_at``, ``updated_at``: written when the provider first reports on
  the session (until then the order carries ``session_id``).
- ``ticketing_refunds``: ``_id``, ``order_id``, ``user_id``, ``event_id``, ``payment_intent_id``,
  ``ticket_ids``, ``amount_minor``, ``currency``, ``reason``, ``source``, ``state`` (created, pending,
  succeeded, failed), ``provider_refund_id``, ``attempts``, ``next_attempt_at``, ``created_at``.
- ``ticketing_webhook_events``: ``_id`` (the provider's event id), ``type``, ``object_id``,
  ``received_at``, ``processed_at``; forgotten after 30 days.
- ``ticketing_users``: ``_id`` (user id), ``username``, ``role``: from ``user.created|updated``, gone on
  ``user.deleted``.
- ``ticketing_refund_runs``: ``_id`` (event id), ``reason``, ``started_at``, ``finished_at``,
  ``orders`` and ``tickets`` (how many were refunded so far): one run per cancelled event.
- ``ticketing_checkins``: ``_id`` (the scan id), ``event_id``, ``ticket_id``, ``by``, ``gate``,
  ``at``, ``scanned_at``, ``status`` and ``result`` (the answer, given again on a retry).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import IndexModel

from eventonight_ticketing.domain.model import (
    REFUNDABLE_STATUSES,
    EventCopy,
    HeldByTwin,
    TicketType,
    plan_allocation,
)

P = "ticketing_"
EVENTS, TYPES, INVENTORY, ORDERS, TICKETS, CHECKINS, REFUND_RUNS = (
    P + n for n in ("events", "ticket_types", "inventory", "orders", "tickets", "checkins", "refund_runs")
)
PAYMENTS, REFUNDS, WEBHOOKS, USERS = (P + n for n in ("payments", "refunds", "webhook_events", "users"))
#: Longer than Stripe retries a webhook (three days), so a late duplicate is still recognised.
WEBHOOK_MEMORY_SECONDS = 30 * 24 * 3600

INDEXES = {
    TYPES: [IndexModel([("event_id", 1), ("status", 1)], name="by_event")],
    INVENTORY: [IndexModel([("type_id", 1)], name="by_type")],
    ORDERS: [
        IndexModel([("user_id", 1), ("created_at", -1)], name="by_user"),
        IndexModel([("event_id", 1), ("status", 1)], name="by_event"),
        IndexModel([("status", 1), ("expires_at", 1)], name="by_expiry"),
        IndexModel([("user_id", 1), ("event_id", 1), ("status", 1)], name="pending_of_buyer"),
    ],
    PAYMENTS: [
        IndexModel([("order_id", 1)], name="by_order"),
        IndexModel([("state", 1), ("created_at", 1)], name="by_state"),
    ],
    REFUNDS: [
        IndexModel([("state", 1), ("next_attempt_at", 1)], name="due"),
        IndexModel([("order_id", 1)], name="by_order"),
    ],
    USERS: [IndexModel([("username", 1)], name="by_username")],
    WEBHOOKS: [IndexModel([("received_at", 1)], name="forget", expireAfterSeconds=WEBHOOK_MEMORY_SECONDS)],
    TICKETS: [
        IndexModel([("user_id", 1), ("event_id", 1)], name="by_user"),
        IndexModel([("order_id", 1)], name="by_order"),
        IndexModel([("event_id", 1), ("status", 1), ("changed_at", 1)], name="by_event_status"),
    ],
    CHECKINS: [IndexModel([("ticket_id", 1)], name="by_ticket")],
}

_TYPE_FIELDS = {
    "event_id": "event_id", "name": "name", "description": "description", "price_minor": "price_minor",
    "currency": "currency", "capacity": "capacity", "sales_start": "sales_start", "sales_end": "sales_end",
    "max_per_order": "max_per_order", "refundable": "refundable", "status": "status", "created_at": "created_at",
}  # fmt: skip


def type_document(ticket_type: TicketType) -> dict[str, Any]:
    return {"_id": ticket_type.id, **{f: getattr(ticket_type, a) for f, a in _TYPE_FIELDS.items()}}


def to_type(doc: dict[str, Any]) -> TicketType:
    return TicketType(id=doc["_id"], **{a: doc.get(f) for f, a in _TYPE_FIELDS.items() if f in doc})


class Store:
    """All reads and writes of the plugin, through ``data``: the open unit of work or ``kernel.read``."""

    def __init__(self, data: Any) -> None:
        self.data = data

    # -- events (local copy) ------------------------------------------------
    async def save_event(self, event: EventCopy) -> None:
        doc = {"host_ids": event.host_ids, "status": event.status, "title": event.title, "date": event.date}
        await self.data.collection(EVENTS).update_one(
            {"_id": event.id}, {"$set": doc, "$setOnInsert": {"sales_closed": False}}, upsert=True
        )

    async def close_sales(self, event_id: str, status: str) -> None:
        await self.data.collection(EVENTS).update_one(
            {"_id": event_id}, {"$set": {"sales_closed": True, "status": status}}
        )

    async def event(self, event_id: str) -> EventCopy | None:
        doc = await self.data.collection(EVENTS).find_one({"_id": event_id})
        if doc is None:
            return None
        return EventCopy(
            doc["_id"], doc.get("host_ids", []), doc["status"], doc.get("title", ""), doc.get("date"),
            doc.get("sales_closed", False),
        )  # fmt: skip

    # -- ticket types -------------------------------------------------------
    async def add_type(self, ticket_type: TicketType, shards: list[int]) -> None:
        await self.data.collection(TYPES).insert_one(type_document(ticket_type))
        await self.data.collection(INVENTORY).insert_many(
            [
                {"_id": f"{ticket_type.id}:{k}", "type_id": ticket_type.id, "k": k, "capacity": c,
                 "available": c, "sold": 0, "holds": {}}
                for k, c in enumerate(shards)
            ]
        )  # fmt: skip

    async def ticket_type(self, type_id: str) -> TicketType | None:
        doc = await self.data.collection(TYPES).find_one({"_id": type_id})
        return to_type(doc) if doc else None

    async def types_of(self, event_id: str) -> list[TicketType]:
        cursor = self.data.collection(TYPES).find({"event_id": event_id}).sort([("created_at", 1), ("_id", 1)])
        return [to_type(doc) async for doc in cursor]

    async def save_type(self, ticket_type: TicketType) -> None:
        doc = type_document(ticket_type)
        await self.data.collection(TYPES).replace_one({"_id": ticket_type.id}, doc)

    async def delete_type(self, type_id: str) -> None:
        await self.data.collection(TYPES).delete_one({"_id": type_id})
        await self.data.collection(INVENTORY).delete_many({"type_id": type_id})

    # -- inventory ----------------------------------------------------------
    async def shards(self, type_id: str) -> list[dict[str, Any]]:
        return await self.data.collection(INVENTORY).find({"type_id": type_id}).sort("k", 1).to_list(None)

    async def hold(self, type_id: str, k: int, order_id: str, quantity: int, until: datetime, request: str) -> bool:
        """Take ``quantity`` from shard ``k`` for ``order_id``; False when the shard has fewer left.

        One conditional update of one document: ``available`` only decreases behind
        ``available >= quantity``, so it never goes negative, on any engine. An order
        holds at most once per shard; the hold names the ``request`` that took it, so
        a retry of the same call counts it taken, and a twin request (same order,
        another call) never shares it: it gets :class:`HeldByTwin`.
        """
        key = f"holds.{order_id}"
        result = await self.data.collection(INVENTORY).update_one(
            {"_id": f"{type_id}:{k}", "available": {"$gte": quantity}, key: {"$exists": False}},
            {"$inc": {"available": -quantity}, "$set": {key: {"qty": quantity, "until": until, "req": request}}},
        )
        if result.modified_count:
            return True
        held = await self.data.collection(INVENTORY).find_one({"_id": f"{type_id}:{k}", key: {"$exists": True}})
        if held is None:
            return False
        if held["holds"][order_id].get("req") != request:
            raise HeldByTwin(order_id)
        return True

    async def release(
        self, type_id: str, k: int, order_id: str, before: datetime | None = None, request: str | None = None
    ) -> bool:
        """Give a hold back (``before``: only if it lapsed by then; ``request``: only the hold that
        request took); False when it was not there."""
        key = f"holds.{order_id}"
        shard = await self.data.collection(INVENTORY).find_one({"_id": f"{type_id}:{k}", key: {"$exists": True}})
        if shard is None:
            return False
        hold = shard["holds"][order_id]
        if before is not None and hold["until"] >= before:
            return False
        if request is not None and hold.get("req") != request:
            return False
        result = await self.data.collection(INVENTORY).update_one(
            {"_id": shard["_id"], f"{key}.qty": hold["qty"], f"{key}.until": hold["until"]},
            {"$inc": {"available": hold["qty"]}, "$unset": {key: ""}},
        )
        return bool(result.modified_count)

    async def sell_hold(self, type_id: str, k: int, order_id: str, quantity: int) -> bool:
        """Turn the order's hold on shard ``k`` into sold tickets; False when the hold is gone."""
        key = f"holds.{order_id}"
        result = await self.data.collection(INVENTORY).update_one(
            {"_id": f"{type_id}:{k}", f"{key}.qty": quantity},
            {"$inc": {"sold": quantity}, "$unset": {key: ""}},
        )
        return bool(result.modified_count)

    async def lapsed_holds(self, before: datetime, limit: int = 500) -> list[tuple[str, int, str]]:
        """``(type_id, k, order_id)`` of holds whose time ran out before ``before``."""
        found = []
        async for shard in self.data.collection(INVENTORY).find(
            {"holds": {"$ne": {}}}, {"type_id": 1, "k": 1, "holds": 1}
        ):
            found += [(shard["type_id"], shard["k"], o) for o, h in shard["holds"].items() if h["until"] < before]
            if len(found) >= limit:
                break
        return found[:limit]

    async def resize(self, type_id: str, delta: int) -> bool:
        """Capacity up (to the emptiest shard) or down (from shards with enough available)."""
        inventory = self.data.collection(INVENTORY)
        shards = await self.shards(type_id)
        if delta > 0:
            emptiest = min(shards, key=lambda s: s["capacity"] - s["available"])
            await inventory.update_one({"_id": emptiest["_id"]}, {"$inc": {"capacity": delta, "available": delta}})
            return True
        left = -delta
        for shard in sorted(shards, key=lambda s: -s["available"]):
            take = min(shard["available"], left)
            if take:
                result = await inventory.update_one(
                    {"_id": shard["_id"], "available": {"$gte": take}},
                    {"$inc": {"capacity": -take, "available": -take}},
                )
                if not result.modified_count:
                    return False  # changed under us: the transaction is re-run or refused
                left -= take
            if not left:
                return True
        return False

    async def totals(self, type_ids: list[str]) -> dict[str, dict[str, int]]:
        """Per type: ``available``, ``sold`` and ``held``."""
        totals = {t: {"available": 0, "sold": 0, "held": 0} for t in type_ids}
        async for shard in self.data.collection(INVENTORY).find({"type_id": {"$in": type_ids}}):
            entry = totals[shard["type_id"]]
            entry["available"] += shard["available"]
            entry["sold"] += shard["sold"]
            entry["held"] += sum(h["qty"] for h in shard.get("holds", {}).values())
        return totals

    # -- orders and tickets -------------------------------------------------
    async def add_order(self, order: dict[str, Any]) -> None:
        await self.data.collection(ORDERS).insert_one(order)

    async def add_tickets(self, tickets: list[dict[str, Any]]) -> None:
        await self.data.collection(TICKETS).insert_many(tickets)

    async def orders_by_ids(self, order_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {doc["_id"]: doc async for doc in self.data.collection(ORDERS).find({"_id": {"$in": order_ids}})}

    async def order(self, order_id: str) -> dict[str, Any] | None:
        return await self.data.collection(ORDERS).find_one({"_id": order_id})

    async def orders_of(self, user_id: str, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        query = {"user_id": user_id}
        cursor = self.data.collection(ORDERS).find(query).sort([("created_at", -1), ("_id", 1)]).skip(offset)
        return await cursor.limit(limit).to_list(None), await self.data.collection(ORDERS).count_documents(query)

    async def tickets_of(
        self, user_id: str, event_id: str | None, limit: int, offset: int, status: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        query: dict[str, Any] = {"user_id": user_id}
        if event_id:
            query["event_id"] = event_id
        if status:
            query["status"] = status
        cursor = self.data.collection(TICKETS).find(query).sort([("created_at", -1), ("_id", 1)]).skip(offset)
        return await cursor.limit(limit).to_list(None), await self.data.collection(TICKETS).count_documents(query)

    async def set_tickets_status(self, ticket_ids: list[str], current: str, new: str) -> bool:
        """Guarded: every ticket must still be ``current``."""
        result = await self.data.collection(TICKETS).update_many(
            {"_id": {"$in": ticket_ids}, "status": current}, {"$set": {"status": new, "changed_at": datetime.now(UTC)}}
        )
        return result.modified_count == len(ticket_ids)

    async def transition(self, order_id: str, current: str, new: str, history: dict[str, Any], **changes: Any) -> bool:
        """Guarded order transition: applies only from ``current`` (re-applying it changes nothing)."""
        result = await self.data.collection(ORDERS).update_one(
            {"_id": order_id, "status": current},
            {"$set": {"status": new, **changes}, "$push": {"history": history}},
        )
        return bool(result.modified_count)

    async def update_order(self, order_id: str, status: str, changes: dict[str, Any]) -> bool:
        """Change fields of an order that is still ``status`` (True if it is, changed or already so)."""
        result = await self.data.collection(ORDERS).update_one({"_id": order_id, "status": status}, {"$set": changes})
        return bool(result.matched_count)

    async def pending_count(self, user_id: str, event_id: str) -> int:
        return await self.data.collection(ORDERS).count_documents(
            {"user_id": user_id, "event_id": event_id, "status": "PENDING"}
        )

    async def orders_due(self, before: datetime, limit: int) -> list[dict[str, Any]]:
        """PENDING orders whose hold ran out before ``before`` (not those waiting for a delayed payment)."""
        query = {"status": "PENDING", "expires_at": {"$lt": before}, "processing": {"$ne": True}}
        return await self.data.collection(ORDERS).find(query).sort("expires_at", 1).limit(limit).to_list(None)

    async def processing_orders(self, limit: int) -> list[dict[str, Any]]:
        query = {"status": "PENDING", "processing": True}
        return await self.data.collection(ORDERS).find(query).limit(limit).to_list(None)

    async def pending_orders_of_event(self, event_id: str, limit: int) -> list[dict[str, Any]]:
        query = {"event_id": event_id, "status": "PENDING"}
        return await self.data.collection(ORDERS).find(query).limit(limit).to_list(None)

    async def sell_from_available(self, type_id: str, quantity: int) -> bool:
        """Sell ``quantity`` straight from what is available (a payment that came after its hold)."""
        shards = await self.shards(type_id)
        plan = plan_allocation({s["k"]: s["available"] for s in shards}, quantity, 0) if shards else None
        if plan is None:
            return False
        for k, take in plan:
            result = await self.data.collection(INVENTORY).update_one(
                {"_id": f"{type_id}:{k}", "available": {"$gte": take}}, {"$inc": {"available": -take, "sold": take}}
            )
            if not result.modified_count:
                raise RuntimeError("inventory changed under a transaction")  # re-run by the transaction
        return True

    # -- payments, refunds, webhooks ----------------------------------------
    async def add_payment(self, payment: dict[str, Any]) -> None:
        await self.data.collection(PAYMENTS).insert_one(payment)

    async def payment(self, session_id: str) -> dict[str, Any] | None:
        return await self.data.collection(PAYMENTS).find_one({"_id": session_id})

    async def set_payment(self, session_id: str, states: tuple[str, ...], changes: dict[str, Any]) -> bool:
        """Guarded: only a payment in one of ``states`` changes."""
        result = await self.data.collection(PAYMENTS).update_one(
            {"_id": session_id, "state": {"$in": list(states)}},
            {"$set": {**changes, "updated_at": datetime.now(UTC)}},
        )
        return bool(result.modified_count)

    async def sessions_unsettled(self, before: datetime, limit: int) -> list[str]:
        """Sessions of PENDING orders made before ``before``, and those of payments still processing."""
        query = {"status": "PENDING", "session_id": {"$ne": None}, "session_at": {"$lt": before}}
        cursor = self.data.collection(ORDERS).find(query, {"session_id": 1}).sort("session_at", 1).limit(limit)
        found = [doc["session_id"] async for doc in cursor]
        processing = self.data.collection(PAYMENTS).find({"state": "processing"}, {"_id": 1}).limit(limit)
        return found + [doc["_id"] async for doc in processing if doc["_id"] not in found]

    async def add_refund(self, refund: dict[str, Any]) -> None:
        await self.data.collection(REFUNDS).insert_one(refund)

    async def refund(self, refund_id: str) -> dict[str, Any] | None:
        return await self.data.collection(REFUNDS).find_one({"_id": refund_id})

    async def refunds_due(self, now: datetime, limit: int) -> list[dict[str, Any]]:
        query = {"state": "created", "next_attempt_at": {"$lte": now}}
        return await self.data.collection(REFUNDS).find(query).sort("next_attempt_at", 1).limit(limit).to_list(None)

    async def refunds_in(self, state: str, limit: int) -> list[dict[str, Any]]:
        return await self.data.collection(REFUNDS).find({"state": state}).limit(limit).to_list(None)

    async def refunds_of_order(self, order_id: str) -> list[dict[str, Any]]:
        return await self.data.collection(REFUNDS).find({"order_id": order_id}).sort("created_at", 1).to_list(None)

    async def set_refund(self, refund_id: str, state: str, changes: dict[str, Any]) -> bool:
        """Guarded: only a refund still in ``state`` changes."""
        result = await self.data.collection(REFUNDS).update_one({"_id": refund_id, "state": state}, {"$set": changes})
        return bool(result.modified_count)

    async def webhook_processed(self, event_id: str) -> bool:
        seen = await self.data.collection(WEBHOOKS).find_one({"_id": event_id})
        return bool(seen and seen.get("processed_at"))

    async def mark_webhook(self, event_id: str, kind: str, object_id: str) -> None:
        now = datetime.now(UTC)
        await self.data.collection(WEBHOOKS).update_one(
            {"_id": event_id},
            {"$set": {"processed_at": now}, "$setOnInsert": {"type": kind, "object_id": object_id, "received_at": now}},
            upsert=True,
        )

    async def open_orders_of(self, user_id: str) -> list[dict[str, Any]]:
        query = {"user_id": user_id, "status": {"$in": list(REFUNDABLE_STATUSES)}}
        return await self.data.collection(ORDERS).find(query).to_list(None)

    async def unsell(self, type_id: str, count: int, *, back_on_sale: bool) -> None:
        """Tickets given back: on sale again (``available``), or, once sales closed, off the capacity."""
        left = count
        for shard in sorted(await self.shards(type_id), key=lambda s: -s["sold"]):
            take = min(shard["sold"], left)
            if take:
                change = {"sold": -take, "available" if back_on_sale else "capacity": take if back_on_sale else -take}
                result = await self.data.collection(INVENTORY).update_one(
                    {"_id": shard["_id"], "sold": {"$gte": take}}, {"$inc": change}
                )
                if result.modified_count:
                    left -= take
            if not left:
                return
        raise RuntimeError(f"inventory of {type_id} holds fewer sold tickets than were given back")

    async def check_in(self, ticket_id: str, entry: dict[str, Any]) -> bool:
        """VALID -> USED, once: False when the ticket was not valid any more."""
        result = await self.data.collection(TICKETS).update_one(
            {"_id": ticket_id, "status": "VALID"}, {"$set": {"status": "USED", "checked_in": entry}}
        )
        return bool(result.modified_count)

    async def undo_checkin(self, ticket_id: str, event_id: str) -> bool:
        result = await self.data.collection(TICKETS).update_one(
            {"_id": ticket_id, "event_id": event_id, "status": "USED"},
            {"$set": {"status": "VALID"}, "$unset": {"checked_in": ""}},
        )
        return bool(result.modified_count)

    async def add_checkin(self, record: dict[str, Any]) -> None:
        await self.data.collection(CHECKINS).insert_one(record)

    async def checkin(self, scan_id: str) -> dict[str, Any] | None:
        return await self.data.collection(CHECKINS).find_one({"_id": scan_id})

    async def cancelled_since(self, event_id: str, since: datetime | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"event_id": event_id, "status": "CANCELLED"}
        if since is not None:
            query["changed_at"] = {"$gte": since}
        cursor = self.data.collection(TICKETS).find(query, {"_id": 1, "changed_at": 1}).sort("changed_at", 1)
        return await cursor.to_list(None)

    async def open_refund_run(self, event_id: str, reason: str) -> None:
        """Idempotent: a redelivered or repeated cancellation finds the run there."""
        await self.data.collection(REFUND_RUNS).update_one(
            {"_id": event_id},
            {"$setOnInsert": {"reason": reason, "started_at": datetime.now(UTC), "finished_at": None,
                              "orders": 0, "tickets": 0}},
            upsert=True,
        )  # fmt: skip

    async def open_refund_runs(self) -> list[dict[str, Any]]:
        return await self.data.collection(REFUND_RUNS).find({"finished_at": None}).to_list(None)

    async def refund_run(self, event_id: str) -> dict[str, Any] | None:
        return await self.data.collection(REFUND_RUNS).find_one({"_id": event_id})

    async def count_refunded(self, event_id: str, tickets: int) -> None:
        await self.data.collection(REFUND_RUNS).update_one(
            {"_id": event_id}, {"$inc": {"orders": 1, "tickets": tickets}}
        )

    async def finish_refund_run(self, event_id: str) -> None:
        await self.data.collection(REFUND_RUNS).update_one(
            {"_id": event_id, "finished_at": None}, {"$set": {"finished_at": datetime.now(UTC)}}
        )

    async def refundable_orders_of_event(self, event_id: str, limit: int) -> list[dict[str, Any]]:
        query = {"event_id": event_id, "status": {"$in": list(REFUNDABLE_STATUSES)}}
        return await self.data.collection(ORDERS).find(query).limit(limit).to_list(None)

    async def tickets_of_order(self, order_id: str) -> list[dict[str, Any]]:
        return await self.data.collection(TICKETS).find({"order_id": order_id}).sort("_id", 1).to_list(None)

    async def ticket(self, ticket_id: str) -> dict[str, Any] | None:
        return await self.data.collection(TICKETS).find_one({"_id": ticket_id})

    async def sold_count(self, type_id: str) -> int:
        return (await self.totals([type_id]))[type_id]["sold"]

    # -- users (local copy) ---------------------------------------------------
    async def save_user(self, user_id: str, username: str, role: str) -> None:
        await self.data.collection(USERS).update_one(
            {"_id": user_id}, {"$set": {"username": username, "role": role}}, upsert=True
        )

    async def forget_user(self, user_id: str) -> None:
        await self.data.collection(USERS).delete_one({"_id": user_id})

    async def usernames(self, user_ids: list[str]) -> dict[str, str]:
        cursor = self.data.collection(USERS).find({"_id": {"$in": user_ids}}, {"username": 1})
        return {doc["_id"]: doc["username"] async for doc in cursor}

    # -- holders and hosts' views ---------------------------------------------
    async def orders_of_event(
        self, event_id: str, status: str | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        query: dict[str, Any] = {"event_id": event_id}
        if status:
            query["status"] = status
        cursor = self.data.collection(ORDERS).find(query).sort([("created_at", -1), ("_id", 1)]).skip(offset)
        return await cursor.limit(limit).to_list(None), await self.data.collection(ORDERS).count_documents(query)

    async def holdings_of(self, user_id: str) -> dict[str, int]:
        """Event id -> the user's tickets that may enter (valid or used)."""
        held: dict[str, int] = {}
        query = {"user_id": user_id, "status": {"$in": ["VALID", "USED"]}}
        async for ticket in self.data.collection(TICKETS).find(query, {"event_id": 1}):
            held[ticket["event_id"]] = held.get(ticket["event_id"], 0) + 1
        return held

    async def events(self, event_ids: list[str]) -> list[EventCopy]:
        found = []
        async for doc in self.data.collection(EVENTS).find({"_id": {"$in": event_ids}}):
            found.append(EventCopy(doc["_id"], doc.get("host_ids", []), doc["status"], doc.get("title", ""),
                                   doc.get("date"), doc.get("sales_closed", False)))  # fmt: skip
        return found

    async def tickets_for_event(self, user_id: str, event_id: str) -> list[dict[str, Any]]:
        query = {"user_id": user_id, "event_id": event_id, "status": {"$in": ["VALID", "USED"]}}
        return await self.data.collection(TICKETS).find(query).sort("_id", 1).to_list(None)

    async def rename_ticket(self, ticket_id: str, name: str | None, rev: int) -> bool:
        """New attendee, new code: the old one (``secret_rev`` < the new) is revoked."""
        result = await self.data.collection(TICKETS).update_one(
            {"_id": ticket_id, "status": "VALID", "secret_rev": rev},
            {"$set": {"attendee_name": name, "secret_rev": rev + 1, "reissued_at": datetime.now(UTC)}},
        )
        return bool(result.modified_count)

    async def reissued_since(self, event_id: str, since: datetime | None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"event_id": event_id, "secret_rev": {"$gt": 0}, "status": {"$ne": "CANCELLED"}}
        if since is not None:
            query["reissued_at"] = {"$gte": since}
        cursor = self.data.collection(TICKETS).find(query, {"_id": 1, "secret_rev": 1, "reissued_at": 1})
        return await cursor.sort("reissued_at", 1).to_list(None)

    async def anonymise(self, user_id: str) -> None:
        await self.data.collection(TICKETS).update_many({"user_id": user_id}, {"$set": {"attendee_name": None}})

    async def event_report(self, event_id: str) -> dict[str, Any]:
        orders: dict[str, dict[str, int]] = {}
        gross = refunded = 0
        async for order in self.data.collection(ORDERS).find({"event_id": event_id}):
            entry = orders.setdefault(order["status"], {"orders": 0, "totalMinor": 0})
            entry["orders"] += 1
            entry["totalMinor"] += order["total_minor"]
            if order["status"] in ("PAID", "PARTIALLY_REFUNDED", "REFUNDED"):
                gross += order["total_minor"]
                refunded += order.get("refunded_minor", 0)
        refunds: dict[str, dict[str, int]] = {}
        async for refund in self.data.collection(REFUNDS).find({"event_id": event_id}):
            entry = refunds.setdefault(refund["state"], {"count": 0, "amountMinor": 0})
            entry["count"] += 1
            entry["amountMinor"] += refund["amount_minor"]
        used = await self.data.collection(TICKETS).count_documents({"event_id": event_id, "status": "USED"})
        valid = await self.data.collection(TICKETS).count_documents({"event_id": event_id, "status": "VALID"})
        return {"orders": orders, "grossMinor": gross, "refundedMinor": refunded, "refunds": refunds,
                "tickets": {"valid": valid, "checkedIn": used}}  # fmt: skip
