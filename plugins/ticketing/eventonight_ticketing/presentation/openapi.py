"""Response schemas of the ticketing plugin's operations (the fragment is built from its routes)."""

from __future__ import annotations

from eventonight.hooks.http import (
    ANY_OBJECT,
    BOOLEAN,
    DATETIME,
    INTEGER,
    STRING,
    array,
    nullable,
    obj,
    page_of,
    ref,
)

TICKET = obj(
    {
        "id": STRING,
        "orderId": STRING,
        "eventId": STRING,
        "typeId": STRING,
        "status": STRING,
        "attendeeName": nullable(STRING),
        "priceMinor": INTEGER,
        "currency": STRING,
        "createdAt": DATETIME,
    }
)
SCHEMAS = {
    "TicketType": obj(
        {
            "id": STRING,
            "eventId": STRING,
            "name": STRING,
            "description": STRING,
            "priceMinor": INTEGER,
            "currency": STRING,
            "price": STRING,
            "capacity": INTEGER,
            "available": INTEGER,
            "sold": INTEGER,
            "salesStart": nullable(DATETIME),
            "salesEnd": nullable(DATETIME),
            "maxPerOrder": INTEGER,
            "refundable": BOOLEAN,
            "status": STRING,
        }
    ),
    "TicketingOrder": obj(
        {
            "id": STRING,
            "eventId": STRING,
            "status": STRING,
            "lines": array(obj({"typeId": STRING, "name": STRING, "quantity": INTEGER, "unitPriceMinor": INTEGER})),
            "currency": STRING,
            "totalMinor": INTEGER,
            "total": STRING,
            "createdAt": DATETIME,
            "refundedMinor": INTEGER,
        },
        {
            # PENDING orders: where and until when to pay.
            "expiresAt": DATETIME,
            "checkoutUrl": nullable(STRING),
            "paymentProcessing": BOOLEAN,
            "tickets": array(TICKET),
        },
    ),
    "Ticket": TICKET,
    # No code for a ticket that no longer admits (cancelled, refunded).
    "TicketWithCode": obj({**TICKET["properties"], "qr": nullable(STRING)}),
    "TicketingRefund": obj(
        {
            "id": STRING,
            "orderId": STRING,
            "ticketIds": array(STRING),
            "amountMinor": INTEGER,
            "currency": STRING,
            "amount": STRING,
            "reason": nullable(STRING),
            "source": STRING,
            "state": STRING,
            "attempts": INTEGER,
            "createdAt": DATETIME,
        }
    ),
}
ADMITTED = obj({"type": STRING, "ticketId": STRING}, {"typeId": STRING})
KEYS = obj({"keys": array(obj({"kty": STRING, "kid": STRING}, {"crv": STRING, "x": STRING, "alg": STRING}))})
RESPONSES = {
    "list_types": obj({"items": array(ref("TicketType"))}),
    "create_type": ref("TicketType"),
    "get_type": ref("TicketType"),
    "update_type": ref("TicketType"),
    "update_type_put": ref("TicketType"),
    "sales": obj(
        {
            "eventId": STRING,
            "status": STRING,
            "salesClosed": BOOLEAN,
            "onSale": BOOLEAN,
            "currency": nullable(STRING),
            "lowestPriceMinor": nullable(INTEGER),
            "available": INTEGER,
            "sold": INTEGER,
        }
    ),
    "suggested_names": obj({"items": array(STRING)}),
    "place_order": ref("TicketingOrder"),
    "get_order": ref("TicketingOrder"),
    "cancel_order": ref("TicketingOrder"),
    "refund": ref("TicketingOrder"),
    "resume_checkout": obj({"orderId": STRING, "checkoutUrl": STRING, "expiresAt": DATETIME}),
    "order_refunds": obj({"items": array(ref("TicketingRefund"))}),
    "stripe_webhook": obj({"received": BOOLEAN, "result": nullable(STRING)}),
    "checkout_return": obj({"orderId": STRING, "result": STRING, "message": STRING}),
    "my_orders": page_of(ref("TicketingOrder")),
    "my_tickets": page_of(ref("Ticket")),
    "user_tickets": page_of(ref("Ticket")),
    "event_orders": page_of(ref("TicketingOrder")),
    "my_events": obj(
        {
            "items": array(
                obj(
                    {
                        "eventId": STRING,
                        "title": nullable(STRING),
                        "date": nullable(DATETIME),
                        "status": nullable(STRING),
                        "tickets": INTEGER,
                    }
                )
            )
        }
    ),
    "get_ticket": ref("TicketWithCode"),
    "rename_ticket": ref("TicketWithCode"),
    "verify_ticket": obj({"verified": BOOLEAN}, {"checkedIn": ANY_OBJECT}),
    "report": obj(
        {
            "eventId": STRING,
            "types": array(
                obj({"id": STRING, "name": STRING, "capacity": INTEGER, "available": INTEGER, "sold": INTEGER})
            ),
        },
        {
            "orders": ANY_OBJECT,
            "grossMinor": INTEGER,
            "refundedMinor": INTEGER,
            "refunds": ANY_OBJECT,
            "tickets": ANY_OBJECT,
        },
    ),
    "public_keys": KEYS,
    "check_in": ADMITTED,
    "check_in_batch": obj({"results": array(obj({"scanId": STRING, "status": INTEGER}))}),
    "revocations": obj(
        {
            "cancelled": array(obj({"ticketId": STRING, "at": nullable(DATETIME)})),
            "reissued": array(obj({"ticketId": STRING, "rev": INTEGER, "at": nullable(DATETIME)})),
        }
    ),
    "refund_status": obj(
        {"state": {"enum": ["none", "running", "finished"]}},
        {
            "reason": nullable(STRING),
            "orders": INTEGER,
            "tickets": INTEGER,
            "startedAt": DATETIME,
            "finishedAt": nullable(DATETIME),
        },
    ),
}
BINARY = {"ticket_pdf": "application/pdf", "order_pdf": "application/pdf", "my_event_pdf": "application/pdf"}
# Reads of the caller's own or the hosts' data: a guest gets 401.
PRIVATE = {
    "get_order", "order_refunds", "my_orders", "my_tickets", "user_tickets", "my_events", "my_event_pdf",
    "get_ticket", "event_orders", "report", "ticket_pdf", "order_pdf", "revocations", "refund_status",
}  # fmt: skip
# POSTs that answer 200: a check-in (the same scan id gives the same answer), a resumed checkout, a refund.
STATUSES = {"check_in": 200, "check_in_batch": 200, "resume_checkout": 200, "refund": 200, "stripe_webhook": 200,
            "cancel_order": 200}  # fmt: skip
# Calls to the payment provider: 503 (unreachable, Retry-After) or 502 (it refused).
ERRORS = {name: (502, 503) for name in ("place_order", "resume_checkout", "cancel_order", "refund", "stripe_webhook")}
# A paid price below what the provider can charge (422); a scan refused: used or cancelled (409),
# a code that does not verify, is for another event or was replaced (422).
ERRORS |= {name: (422,) for name in ("create_type", "update_type", "update_type_put", "check_in", "verify_ticket")}
