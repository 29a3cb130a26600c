"""HTTP handlers of ``/api/ticketing``."""

from __future__ import annotations

from aiohttp import web

from eventonight.hooks import DomainError
from eventonight.hooks.http import (
    Page,
    current_user,
    json_response,
    page_params,
    parse_body,
    parse_query,
    require_user,
)
from eventonight_ticketing.application.orders import order_view, ticket_view
from eventonight_ticketing.domain.model import TicketType
from eventonight_ticketing.domain.money import display
from eventonight_ticketing.domain.qr import public_jwk
from eventonight_ticketing.presentation.schemas import (
    BatchBody,
    OrderBody,
    RefundBody,
    ReturnQuery,
    RevocationsQuery,
    ScanBody,
    TicketTypeBody,
    TicketTypeChanges,
    changes_of,
)

API = "/api/ticketing"


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

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get(API + "/events/{eventId}/ticket-types", self.list_types),
            web.post(API + "/events/{eventId}/ticket-types", self.create_type),
            web.get(API + "/ticket-types/{typeId}", self.get_type),
            web.patch(API + "/ticket-types/{typeId}", self.update_type),
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
            web.get(API + "/tickets/{ticketId}", self.get_ticket),
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
        if order["status"] == "PENDING":  # a repeated request gets the same session back
            await self.checkout.session_for(order)
        order, tickets = await self.orders.get(order["_id"], caller.user_id)
        return json_response(order_view(order, tickets), status=201 if created else 200)

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
        limit, offset = page_params(request)
        event_id = request.query.get("eventId") or None
        tickets, total = await self.orders.tickets_of(caller.user_id, event_id, limit, offset)
        return json_response(Page([ticket_view(t) for t in tickets], limit=limit, offset=offset, total=total))

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
        cancelled = await self.checkins.revoked(request.match_info["eventId"], caller.user_id, since)
        return json_response({"cancelled": [{"ticketId": t["_id"], "at": t.get("changed_at")} for t in cancelled]})


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
