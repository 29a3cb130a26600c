"""HTTP handlers of ``/api/ticketing``."""

from __future__ import annotations

from uuid import uuid4

from aiohttp import web

from eventonight.hooks import DomainError, Forbidden
from eventonight.hooks.http import (
    Page,
    current_user,
    json_response,
    page_params,
    parse_body,
    parse_query,
    require_user,
)
from eventonight_ticketing.application.checkins import ScanRefused
from eventonight_ticketing.application.orders import order_view, ticket_view
from eventonight_ticketing.domain.model import TicketType
from eventonight_ticketing.domain.money import display
from eventonight_ticketing.domain.qr import public_jwk
from eventonight_ticketing.presentation.schemas import (
    BatchBody,
    EventOrdersQuery,
    MyEventsQuery,
    OrderBody,
    RefundBody,
    ReturnQuery,
    RevocationsQuery,
    ScanBody,
    TicketChanges,
    TicketsQuery,
    TicketTypeBody,
    TicketTypeChanges,
    changes_of,
)

API = "/api/ticketing"
#: Names hosts often give ticket types (free text is accepted too).
SUGGESTED_NAMES = ("Standard", "VIP", "Early bird", "Student", "Standing", "Seated", "Day pass")


def type_view(ticket_type: TicketType, totals: dict[str, int]) -> dict:
    return {
        "id": ticket_type.id,
        "eventId": ticket_type.event_id,
        "name": ticket_type.name,
        "description": ticket_type.description,
        "priceMinor": ticket_type.price_minor,
        "currency": ticket_type.currency,
        "price": display(ticket_type.price_minor, ticket_type.currency),
        "capacity": ticket_type.capacity,
        "available": totals["available"],
        "sold": totals["sold"],
        "salesStart": ticket_type.sales_start,
        "salesEnd": ticket_type.sales_end,
        "maxPerOrder": ticket_type.max_per_order,
        "refundable": ticket_type.refundable,
        "status": ticket_type.status,
    }


class TicketingApi:
    def __init__(self, services) -> None:
        self.types = services.types
        self.orders = services.orders
        self.refunds = services.refunds
        self.checkins = services.checkins
        self.keys = services.keys
        self.printing = services.printing
        self.refund_runs = services.refund_runs
        self.checkout = services.checkout
        self.holders = services.holders

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(API + "/events/{eventId}/ticket-types", self.list_types),
            web.post(API + "/events/{eventId}/ticket-types", self.create_type),
            web.delete(API + "/events/{eventId}/ticket-types", self.delete_types),
            web.get(API + "/events/{eventId}/sales", self.sales),
            web.get(API + "/ticket-types/suggested-names", self.suggested_names),
            web.get(API + "/ticket-types/{typeId}", self.get_type),
            web.patch(API + "/ticket-types/{typeId}", self.update_type),
            web.put(API + "/ticket-types/{typeId}", self.update_type_put),
            web.delete(API + "/ticket-types/{typeId}", self.delete_type),
            web.post(API + "/orders", self.place_order),
            web.get(API + "/orders/{orderId}", self.get_order),
            web.delete(API + "/orders/{orderId}", self.cancel_order),
            web.post(API + "/orders/{orderId}/checkout-session", self.resume_checkout),
            web.post(API + "/orders/{orderId}/refunds", self.refund),
            web.get(API + "/orders/{orderId}/refunds", self.order_refunds),
            web.post(API + "/webhooks/stripe", self.stripe_webhook),
            web.get(API + "/checkout/return", self.checkout_return),
            web.get(API + "/me/orders", self.my_orders),
            web.get(API + "/me/tickets", self.my_tickets),
            web.get(API + "/users/{userId}/tickets", self.user_tickets),
            web.get(API + "/me/events", self.my_events),
            web.get(API + "/me/events/{eventId}/pdf", self.my_event_pdf),
            web.get(API + "/tickets/{ticketId}", self.get_ticket),
            web.patch(API + "/tickets/{ticketId}", self.rename_ticket),
            web.put(API + "/tickets/{ticketId}/verify", self.verify_ticket),
            web.get(API + "/events/{eventId}/orders", self.event_orders),
            web.get(API + "/events/{eventId}/report", self.report),
            web.get(API + "/tickets/{ticketId}/pdf", self.ticket_pdf),
            web.get(API + "/orders/{orderId}/pdf", self.order_pdf),
            web.get(API + "/keys", self.public_keys),
            web.post(API + "/events/{eventId}/checkins", self.check_in),
            web.post(API + "/events/{eventId}/checkins:batch", self.check_in_batch),
            web.delete(API + "/events/{eventId}/checkins/{ticketId}", self.undo_check_in),
            web.get(API + "/events/{eventId}/revocations", self.revocations),
            web.get(API + "/events/{eventId}/refund-status", self.refund_status),
        ]

    async def list_types(self, request: web.Request) -> web.Response:
        caller = await current_user(request)
        found = await self.types.of_event(request.match_info["eventId"], caller.user_id if caller else None)
        return json_response({"items": [type_view(t, totals) for t, totals in found]})

    async def create_type(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        body = await parse_body(request, TicketTypeBody)
        created = await self.types.create(request.match_info["eventId"], caller.user_id, body.model_dump())
        return json_response(type_view(created, {"available": created.capacity, "sold": 0}), status=201)

    async def get_type(self, request: web.Request) -> web.Response:
        caller = await current_user(request)
        found, totals = await self.types.get(request.match_info["typeId"], caller.user_id if caller else None)
        return json_response(type_view(found, totals))

    async def update_type(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        changes = changes_of(await parse_body(request, TicketTypeChanges))
        if not changes:
            raise DomainError("nothing to change")
        updated = await self.types.update(request.match_info["typeId"], caller.user_id, changes)
        _, totals = await self.types.get(updated.id, caller.user_id)
        return json_response(type_view(updated, totals))

    async def update_type_put(self, request: web.Request) -> web.Response:
        """The original's PUT: the same partial change as PATCH."""
        return await self.update_type(request)

    async def delete_type(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        await self.types.delete(request.match_info["typeId"], caller.user_id)
        return web.Response(status=204)

    async def place_order(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        body = await parse_body(request, OrderBody)
        urls = self.checkout.return_urls(body.success_url, body.cancel_url)
        order, created = await self.orders.place(
            caller.user_id,
            body.event_id,
            [(line.type_id, line.quantity) for line in body.lines],
            request.headers.get("Idempotency-Key", ""),
            urls,
        )
        status = 201 if created else 200
        if order["status"] == "PENDING":  # a repeated request gets the same session back
            checkout = await self.checkout.session_for(order)
            return json_response(order_view({**order, "checkout_url": checkout["checkoutUrl"]}, []), status=status)
        order, tickets = await self.orders.get(order["_id"], caller.user_id)
        return json_response(order_view(order, tickets), status=status)

    async def resume_checkout(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        order, session = await self.checkout.resume(request.match_info["orderId"], caller.user_id)
        return json_response({"orderId": order["_id"], **session})

    async def cancel_order(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        order = await self.checkout.cancel(request.match_info["orderId"], caller.user_id)
        return json_response(order_view(order))

    async def order_refunds(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        order, _ = await self.orders.get(request.match_info["orderId"], caller.user_id)
        refunds = await self.orders.refunds_of(order["_id"])
        return json_response({"items": [refund_view(r) for r in refunds]})

    async def stripe_webhook(self, request: web.Request) -> web.Response:
        payload = await request.read()
        result = await self.checkout.webhook(payload, request.headers.get("Stripe-Signature", ""))
        return json_response({"received": True, "result": result})

    async def checkout_return(self, request: web.Request) -> web.Response:
        query = parse_query(request, ReturnQuery)
        where = f"{API}/orders/{query.order_id}"
        message = (
            "payment submitted: your tickets appear at " + where + " once the payment is confirmed"
            if query.result == "paid"
            else "checkout left: the order expires on its own, or DELETE " + where
        )
        return json_response({"orderId": query.order_id, "result": query.result, "message": message})

    async def get_order(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        order, tickets = await self.orders.get(request.match_info["orderId"], caller.user_id)
        return json_response(order_view(order, tickets))

    async def refund(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        body = await parse_body(request, RefundBody)
        order = await self.refunds.request(request.match_info["orderId"], caller.user_id, body.ticket_ids, body.reason)
        _, tickets = await self.orders.get(order["_id"], caller.user_id)
        return json_response(order_view(order, tickets))

    async def my_orders(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        limit, offset = page_params(request)
        orders, total = await self.orders.of_user(caller.user_id, limit, offset)
        return json_response(Page([order_view(o) for o in orders], limit=limit, offset=offset, total=total))

    async def my_tickets(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return await self._tickets(request, caller.user_id)

    async def user_tickets(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        if request.match_info["userId"] != caller.user_id:
            raise Forbidden("tickets are seen by their holder only")
        return await self._tickets(request, caller.user_id)

    async def _tickets(self, request: web.Request, user_id: str) -> web.Response:
        limit, offset = page_params(request)
        query = parse_query(request, TicketsQuery)
        tickets, total = await self.orders.tickets_of(user_id, query.event_id, limit, offset, query.status)
        return json_response(Page([ticket_view(t) for t in tickets], limit=limit, offset=offset, total=total))

    async def my_events(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        query = parse_query(request, MyEventsQuery)
        return json_response(
            {"items": await self.holders.my_events(caller.user_id, query.status, query.order == "desc")}
        )

    async def my_event_pdf(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return _pdf(await self.printing.event_pdf(caller.user_id, request.match_info["eventId"]), "tickets")

    async def rename_ticket(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        body = await parse_body(request, TicketChanges)
        ticket = await self.holders.rename(request.match_info["ticketId"], caller.user_id, body.attendee_name)
        return json_response({**ticket_view(ticket), "qr": self.checkins.code_for(ticket)})

    async def verify_ticket(self, request: web.Request) -> web.Response:
        """The original's door check by ticket id: true the first time, false once used."""
        caller = await require_user(request)
        ticket_id = request.match_info["ticketId"]
        ticket = await self.orders.ticket(ticket_id, caller.user_id)
        scan = {"ticket_id": ticket_id, "scan_id": uuid4().hex, "gate": None, "scanned_at": None}
        try:
            await self.checkins.scan(ticket["event_id"], caller.user_id, scan)
        except ScanRefused as refused:
            if refused.details[0]["type"] != "already_used":
                raise
            return json_response({"verified": False, "checkedIn": refused.details[0]})
        return json_response({"verified": True})

    async def event_orders(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        limit, offset = page_params(request)
        status = parse_query(request, EventOrdersQuery).status
        orders, total = await self.holders.event_orders(
            request.match_info["eventId"], caller.user_id, status, limit, offset
        )
        items = [{**order_view(o), "userId": o["user_id"], "username": o["username"]} for o in orders]
        return json_response(Page(items, limit=limit, offset=offset, total=total))

    async def report(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        event_id = request.match_info["eventId"]
        report = await self.holders.report(event_id, caller.user_id)
        found = await self.types.of_event(event_id, caller.user_id)
        types = [{"id": t.id, "name": t.name, "capacity": t.capacity, **totals} for t, totals in found]
        return json_response({"eventId": event_id, "types": types, **report})

    async def sales(self, request: web.Request) -> web.Response:
        caller = await current_user(request)
        return json_response(await self.types.sales(request.match_info["eventId"], caller.user_id if caller else None))

    async def suggested_names(self, request: web.Request) -> web.Response:
        return json_response({"items": list(SUGGESTED_NAMES)})

    async def delete_types(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        await self.types.delete_all(request.match_info["eventId"], caller.user_id)
        return web.Response(status=204)

    async def get_ticket(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        ticket = await self.orders.ticket(request.match_info["ticketId"], caller.user_id)
        return json_response({**ticket_view(ticket), "qr": self.checkins.code_for(ticket)})

    async def refund_status(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        run = await self.refund_runs.status(request.match_info["eventId"], caller.user_id)
        if run is None:
            return json_response({"state": "none"})
        state = "finished" if run["finished_at"] else "running"
        return json_response({"state": state, "reason": run["reason"], "orders": run["orders"],
                              "tickets": run["tickets"], "startedAt": run["started_at"],
                              "finishedAt": run["finished_at"]})  # fmt: skip

    async def ticket_pdf(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return _pdf(await self.printing.ticket_pdf(request.match_info["ticketId"], caller.user_id), "ticket")

    async def order_pdf(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        return _pdf(await self.printing.order_pdf(request.match_info["orderId"], caller.user_id), "tickets")

    async def public_keys(self, request: web.Request) -> web.Response:
        keys = [public_jwk(kid, key) for kid, key in self.keys.public.items()]
        return json_response({"keys": keys}, headers={"Cache-Control": "public, max-age=300"})

    async def check_in(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        scan = (await parse_body(request, ScanBody)).model_dump()
        return json_response(await self.checkins.scan(request.match_info["eventId"], caller.user_id, scan))

    async def check_in_batch(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        scans = [s.model_dump() for s in (await parse_body(request, BatchBody)).scans]
        return json_response(
            {"results": await self.checkins.batch(request.match_info["eventId"], caller.user_id, scans)}
        )

    async def undo_check_in(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        m = request.match_info
        await self.checkins.undo(m["eventId"], caller.user_id, m["ticketId"])
        return web.Response(status=204)

    async def revocations(self, request: web.Request) -> web.Response:
        caller = await require_user(request)
        since = parse_query(request, RevocationsQuery).since
        cancelled, reissued = await self.checkins.revoked(request.match_info["eventId"], caller.user_id, since)
        return json_response(
            {
                "cancelled": [{"ticketId": t["_id"], "at": t.get("changed_at")} for t in cancelled],
                # Codes of these tickets with a lower revision ("r") no longer admit.
                "reissued": [{"ticketId": t["_id"], "rev": t["secret_rev"], "at": t["reissued_at"]} for t in reissued],
            }
        )


def refund_view(refund: dict) -> dict:
    return {
        "id": refund["_id"],
        "orderId": refund["order_id"],
        "ticketIds": refund["ticket_ids"],
        "amountMinor": refund["amount_minor"],
        "currency": refund["currency"],
        "amount": display(refund["amount_minor"], refund["currency"]),
        "reason": refund["reason"],
        "source": refund["source"],
        "state": refund["state"],
        "attempts": refund["attempts"],
        "createdAt": refund["created_at"],
    }


def _pdf(body: bytes, name: str) -> web.Response:
    headers = {"Cache-Control": "private, no-store", "Content-Disposition": f'inline; filename="{name}.pdf"'}
    return web.Response(body=body, content_type="application/pdf", headers=headers)
