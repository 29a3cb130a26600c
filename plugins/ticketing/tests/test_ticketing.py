"""Ticket types, free orders that cannot oversell, idempotency, and the journey to a review."""

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from eventonight.hooks.testing import publish_event, wait_until

API = "/api/ticketing"


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


async def hosted_event(p, account, **overrides):
    """An organization and its published event, known to the ticketing plugin."""
    org = await account(p, f"org{uuid4().hex[:6]}", role="organization")
    body = {"title": "Jazz Night", "date": in_days(5), "location": {"city": "Berlin", "lat": 52.5, "lon": 13.4},
            "tags": ["jazz"], "status": "PUBLISHED", **overrides}  # fmt: skip
    response = await p.client.post("/api/events", json=body, headers=org.headers)
    assert response.status == 201, await response.text()
    event = await response.json()

    async def known():
        return await p.kernel.read.collection("ticketing_events").find_one(
            {"_id": event["id"], "status": event["status"]}
        )

    await wait_until(known)
    return org, event


async def new_type(p, org, event, **fields):
    body = {"name": "Standard", "priceMinor": 0, "currency": "EUR", "capacity": 10, **fields}
    response = await p.client.post(f"{API}/events/{event['id']}/ticket-types", json=body, headers=org.headers)
    assert response.status == 201, await response.text()
    return await response.json()


async def order(p, headers, event_id, lines, key=None):
    return await p.client.post(
        f"{API}/orders",
        json={"eventId": event_id, "lines": [{"typeId": t, "quantity": q} for t, q in lines]},
        headers={**headers, "Idempotency-Key": key or uuid4().hex},
    )


async def test_hosts_manage_ticket_types_and_the_lowest_price_reaches_the_catalogue(platform, account, bus_tap):
    tap = await bus_tap("ticketing.prices.changed")
    p = await platform()
    org, event = await hosted_event(p, account)
    member = await account(p, "mia")
    path = f"{API}/events/{event['id']}/ticket-types"
    body = {"name": "VIP", "priceMinor": 2500, "currency": "eur", "capacity": 100}
    assert (await p.client.post(path, json=body, headers=member.headers)).status == 403
    assert (await p.client.post(path, json=body)).status == 401
    vip = await new_type(p, org, event, **body)
    assert (vip["currency"], vip["price"], vip["available"], vip["sold"]) == ("EUR", "25.00 EUR", 100, 0)
    free = await new_type(p, org, event, name="Standing", priceMinor=0)
    [first, second] = await tap.wait_for("ticketing.prices.changed", 2)
    assert first["payload"] == {
        "eventId": event["id"],
        "lowestPrice": 25.0,
        "lowestPriceMinor": 2500,
        "currency": "EUR",
    }
    assert second["payload"]["lowestPriceMinor"] == 0

    async def catalogue_price():
        shown = await (await p.client.get(f"/api/events/{event['id']}")).json()
        return shown.get("lowestPrice") == 0 and shown.get("currency") == "EUR"

    await wait_until(catalogue_price)
    listed = await (await p.client.get(path)).json()
    assert [t["name"] for t in listed["items"]] == ["VIP", "Standing"]
    for field in ("name", "description", "status", "capacity", "priceMinor"):  # found by schemathesis: was a 500
        nulled = await p.client.patch(f"{API}/ticket-types/{free['id']}", json={field: None}, headers=org.headers)
        assert nulled.status == 400 and (await nulled.json())["details"][0]["field"] == field
    assert (await (await p.client.get(f"{API}/ticket-types/{free['id']}")).json())["name"] == "Standing"
    patched = await p.client.patch(f"{API}/ticket-types/{free['id']}", json={"status": "HIDDEN"}, headers=org.headers)
    assert patched.status == 200
    assert [t["name"] for t in (await (await p.client.get(path)).json())["items"]] == ["VIP"]
    assert len((await (await p.client.get(path, headers=org.headers)).json())["items"]) == 2, "hosts see hidden"
    assert (await p.client.delete(f"{API}/ticket-types/{free['id']}", headers=org.headers)).status == 204


async def test_bad_ticket_types_are_refused_and_nothing_is_stored(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    path = f"{API}/events/{event['id']}/ticket-types"
    base = {"name": "Standard", "priceMinor": 1000, "currency": "EUR", "capacity": 10}
    cases = [
        ({**base, "priceMinor": -1}, 400),
        ({**base, "priceMinor": 10.5}, 400),
        ({**base, "currency": "EURO"}, 400),
        ({**base, "currency": "E1R"}, 400),
        ({**base, "capacity": 0}, 400),
        ({**base, "name": ""}, 400),
        ({**base, "priceMinor": 10}, 422),  # below what the provider can charge
        ({**base, "maxPerOrder": 500}, 400),
        ({**base, "salesStart": in_days(3), "salesEnd": in_days(2)}, 400),
        ({**base, "unknown": 1}, 400),
    ]
    for body, status in cases:
        response = await p.client.post(path, json=body, headers=org.headers)
        assert response.status == status, (body, await response.text())
        assert (await response.json())["statusCode"] == status
    await new_type(p, org, event, **base)
    other_currency = await p.client.post(path, json={**base, "currency": "USD"}, headers=org.headers)
    assert other_currency.status == 400, "one currency per event"
    assert await p.kernel.read.collection("ticketing_ticket_types").count_documents({}) == 1
    assert (await p.client.post(f"{API}/events/nope/ticket-types", json=base, headers=org.headers)).status == 404


async def test_a_free_ticket_makes_a_participant_who_may_review_and_get_a_reply(platform, account, bus_tap):
    tap = await bus_tap("ticketing.order.confirmed")
    p = await platform()
    org, event = await hosted_event(p, account, date=in_days(0.0005))  # about 40 s ahead: reviews need it past
    standard = await new_type(p, org, event, capacity=5)
    fan = await account(p, "fan", known_in=("events_users", "interactions_users"))
    response = await order(p, fan.headers, event["id"], [(standard["id"], 2)])
    assert response.status == 201, await response.text()
    placed = await response.json()
    assert placed["status"] == "PAID" and placed["totalMinor"] == 0 and len(placed["tickets"]) == 2
    [confirmed] = await tap.wait_for("ticketing.order.confirmed")
    assert confirmed["payload"] == {
        "orderId": placed["id"], "userId": fan.id, "eventId": event["id"], "eventTitle": "Jazz Night",
        "ticketCount": 2, "totalMinor": 0, "currency": "EUR",
    }  # fmt: skip

    async def participating():
        answer = await p.client.get(f"/api/interactions/users/{fan.id}/participations/{event['id']}")
        return (await answer.json()).get("participating")

    await wait_until(participating)

    async def sold_shown():
        return (await (await p.client.get(f"/api/events/{event['id']}")).json()).get("ticketsSold") == 2

    await wait_until(sold_shown)
    # The event takes place; afterwards the participant reviews it and the organization replies.
    await p.kernel.transaction(
        lambda uow: uow.collection("interactions_events").update_one(
            {"_id": event["id"]}, {"$set": {"date": datetime.now(UTC) - timedelta(hours=1)}}
        )
    )
    review = await p.client.post(
        f"/api/interactions/events/{event['id']}/reviews",
        json={"rating": 5, "title": "Great", "comment": "What a night"},
        headers=fan.headers,
    )
    assert review.status == 201, await review.text()
    reply = await p.client.put(
        f"/api/interactions/events/{event['id']}/reviews/{fan.id}/reply",
        json={"text": "Thank you!"},
        headers=org.headers,
    )
    assert reply.status in (200, 201), await reply.text()
    mine = await (await p.client.get(f"{API}/me/tickets", headers=fan.headers)).json()
    assert mine["total"] == 2 and {t["status"] for t in mine["items"]} == {"VALID"}


async def test_sold_out_max_per_order_and_sales_window_are_refused(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    small = await new_type(p, org, event, capacity=3, maxPerOrder=2)
    later = await new_type(p, org, event, name="Late", salesStart=in_days(1))
    buyer = await account(p, "bea")
    assert (await order(p, buyer.headers, event["id"], [(small["id"], 3)])).status == 400  # over maxPerOrder
    assert (await order(p, buyer.headers, event["id"], [(small["id"], 11)])).status == 400  # over the order limit
    assert (await order(p, buyer.headers, event["id"], [(later["id"], 1)])).status == 409  # not on sale yet
    assert (await order(p, buyer.headers, event["id"], [("nope", 1)])).status == 400
    assert (await order(p, buyer.headers, event["id"], [(small["id"], 2)])).status == 201
    sold_out = await order(p, buyer.headers, event["id"], [(small["id"], 2)])
    assert sold_out.status == 409 and "left" in (await sold_out.json())["message"]
    assert (await order(p, buyer.headers, event["id"], [(small["id"], 1)])).status == 201
    left = await (await p.client.get(f"{API}/ticket-types/{small['id']}")).json()
    assert (left["available"], left["sold"]) == (0, 3)
    missing_key = await p.client.post(
        f"{API}/orders", json={"eventId": event["id"], "lines": [{"typeId": small["id"], "quantity": 1}]},
        headers=buyer.headers,
    )  # fmt: skip
    assert missing_key.status == 400


async def test_the_same_idempotency_key_gives_the_same_order_even_in_parallel(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event, capacity=10)
    buyer = await account(p, "ida")
    key = "checkout-123"
    first, second = await asyncio.gather(
        order(p, buyer.headers, event["id"], [(standard["id"], 2)], key),
        order(p, buyer.headers, event["id"], [(standard["id"], 2)], key),
    )
    bodies = [await first.json(), await second.json()]
    assert sorted([first.status, second.status]) == [200, 201], bodies
    assert bodies[0]["id"] == bodies[1]["id"]
    again = await order(p, buyer.headers, event["id"], [(standard["id"], 2)], key)
    assert again.status == 200 and (await again.json())["id"] == bodies[0]["id"]
    other_body = await order(p, buyer.headers, event["id"], [(standard["id"], 1)], key)
    assert other_body.status == 409
    state = await (await p.client.get(f"{API}/ticket-types/{standard['id']}")).json()
    assert (state["sold"], state["available"]) == (2, 8), "reserved once"


async def test_twin_requests_never_give_back_the_tickets_of_the_order_that_won(platform, account):
    """Three copies of each request at once, ten keys: each order reserved once, its holds become
    sold, and no twin's clean-up gives the winner's tickets back (which would oversell)."""
    p = await platform()
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event, capacity=30)
    buyer = await account(p, "twins")
    keys = [uuid4().hex for _ in range(10)]
    answers = await asyncio.gather(
        *(order(p, buyer.headers, event["id"], [(standard["id"], 2)], key) for key in keys for _ in range(3))
    )
    assert {a.status for a in answers} <= {200, 201, 409}
    ids = {(await a.json())["id"] for a in answers if a.status in (200, 201)}
    placed = await p.kernel.read.collection("ticketing_orders").count_documents({"event_id": event["id"]})
    tickets = await p.kernel.read.collection("ticketing_tickets").count_documents({"event_id": event["id"]})
    assert len(ids) == placed and tickets == 2 * placed

    async def settled():
        shards = await p.kernel.read.collection("ticketing_inventory").find({"type_id": standard["id"]}).to_list(None)
        return all(not s["holds"] for s in shards) and shards

    shards = await wait_until(settled)
    assert sum(s["sold"] for s in shards) == tickets
    assert sum(s["available"] for s in shards) == 30 - tickets


async def test_many_concurrent_buyers_never_oversell(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    capacity = 100
    standard = await new_type(p, org, event, capacity=capacity, maxPerOrder=4)  # two shards
    tokens = [p.auth(f"buyer{i}") for i in range(60)]
    wants = [1 + i % 4 for i in range(60)]  # 150 tickets wanted
    answers = await asyncio.gather(
        *(order(p, headers, event["id"], [(standard["id"], q)]) for headers, q in zip(tokens, wants, strict=True))
    )
    statuses = [a.status for a in answers]
    assert set(statuses) <= {201, 409}, statuses
    sold = sum(q for a, q in zip(answers, wants, strict=True) if a.status == 201)
    assert sold <= capacity
    shards = await p.kernel.read.collection("ticketing_inventory").find({"type_id": standard["id"]}).to_list(None)
    assert len(shards) == 2
    for shard in shards:  # the invariant of every shard
        assert shard["available"] + shard["sold"] + sum(h["qty"] for h in shard["holds"].values()) == shard["capacity"]
        assert shard["available"] >= 0 and shard["holds"] == {}
    assert sum(s["sold"] for s in shards) == sold
    assert await p.kernel.read.collection("ticketing_tickets").count_documents({}) == sold


async def test_a_reservation_whose_order_never_came_is_given_back(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event, capacity=4)
    # A process that died between reserving and confirming leaves a hold behind.
    lapsed = datetime.now(UTC) - timedelta(seconds=1)
    await p.kernel.read.collection("ticketing_inventory").update_one(
        {"_id": f"{standard['id']}:0"},
        {"$inc": {"available": -3}, "$set": {"holds.deadbeef": {"qty": 3, "until": lapsed}}},
    )
    assert (await (await p.client.get(f"{API}/ticket-types/{standard['id']}")).json())["available"] == 1

    from eventonight_ticketing.plugin import services

    assert await services(p.kernel).orders.release_lapsed() == 1
    assert (await (await p.client.get(f"{API}/ticket-types/{standard['id']}")).json())["available"] == 4


async def test_sales_close_when_the_event_is_cancelled(platform, account, settings):
    p = await platform()
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event)
    publish_event(settings, "event.cancelled", {"eventId": event["id"], "status": "CANCELLED", "creatorId": org.id})

    async def closed():
        return await p.kernel.read.collection("ticketing_events").find_one({"_id": event["id"], "sales_closed": True})

    await wait_until(closed)
    response = await order(p, p.auth("late"), event["id"], [(standard["id"], 1)])
    assert response.status == 409


async def test_orders_and_tickets_are_private_to_buyer_and_hosts(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event)
    buyer, other = p.auth("buyer"), p.auth("stranger")
    placed = await (await order(p, buyer, event["id"], [(standard["id"], 1)])).json()
    assert (await p.client.get(f"{API}/orders/{placed['id']}", headers=buyer)).status == 200
    assert (await p.client.get(f"{API}/orders/{placed['id']}", headers=org.headers)).status == 200
    assert (await p.client.get(f"{API}/orders/{placed['id']}", headers=other)).status == 404
    ticket_id = placed["tickets"][0]["id"]
    assert (await p.client.get(f"{API}/tickets/{ticket_id}", headers=other)).status == 404
    assert (await p.client.get(f"{API}/tickets/{ticket_id}", headers=buyer)).status == 200
    assert (await (await p.client.get(f"{API}/me/orders", headers=other)).json())["total"] == 0


async def test_capacity_moves_only_above_what_is_sold_and_sold_types_are_archived_not_deleted(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event, capacity=5)
    path = f"{API}/ticket-types/{standard['id']}"
    assert (await order(p, p.auth("b1"), event["id"], [(standard["id"], 3)])).status == 201
    assert (await p.client.patch(path, json={"capacity": 2}, headers=org.headers)).status == 409
    grown = await p.client.patch(path, json={"capacity": 8}, headers=org.headers)
    assert grown.status == 200 and ((await grown.json())["available"], (await grown.json())["sold"]) == (5, 3)
    shrunk = await (await p.client.patch(path, json={"capacity": 3}, headers=org.headers)).json()
    assert (shrunk["capacity"], shrunk["available"]) == (3, 0)
    assert (await p.client.delete(path, headers=org.headers)).status == 409
    archived = await p.client.patch(path, json={"status": "ARCHIVED"}, headers=org.headers)
    assert archived.status == 200
    assert (await order(p, p.auth("b2"), event["id"], [(standard["id"], 1)])).status == 409, "archived: not on sale"
    assert (await p.client.patch(path, json={}, headers=org.headers)).status == 400


async def test_giving_tickets_back_partly_then_wholly_ends_the_participation(platform, account, bus_tap):
    tap = await bus_tap("ticketing.order.*")
    p = await platform()
    org, event = await hosted_event(p, account, date=in_days(10))
    standard = await new_type(p, org, event, capacity=5)
    fan = await account(p, "fanny", known_in=("events_users", "interactions_users"))
    placed = await (await order(p, fan.headers, event["id"], [(standard["id"], 3)])).json()
    path = f"{API}/orders/{placed['id']}/refunds"
    first_ticket = placed["tickets"][0]["id"]
    partial = await p.client.post(path, json={"ticketIds": [first_ticket]}, headers=fan.headers)
    assert partial.status == 200, await partial.text()
    body = await partial.json()
    assert body["status"] == "PARTIALLY_REFUNDED"
    assert [t["status"] for t in body["tickets"]].count("CANCELLED") == 1
    assert (await p.client.post(path, json={"ticketIds": [first_ticket]}, headers=fan.headers)).status == 409
    assert (await p.client.post(path, json={"ticketIds": ["nope"]}, headers=fan.headers)).status == 400
    assert (await p.client.post(path, json={}, headers=p.auth("stranger"))).status == 404
    state = await (await p.client.get(f"{API}/ticket-types/{standard['id']}")).json()
    assert (state["available"], state["sold"]) == (3, 2), "given back while on sale: sold again"

    async def participating(expected):
        answer = await p.client.get(f"/api/interactions/users/{fan.id}/participations/{event['id']}")
        return (await answer.json()).get("participating") is expected

    await wait_until(lambda: participating(True))
    whole = await (await p.client.post(path, json={"reason": "cannot come"}, headers=fan.headers)).json()
    assert whole["status"] == "REFUNDED"
    changed = await tap.wait_for("ticketing.order.changed")
    assert changed[0]["payload"] == {
        "orderId": placed["id"], "userId": fan.id, "eventId": event["id"], "ticketCount": 2, "cancelledCount": 1,
    }  # fmt: skip
    [cancelled] = await tap.wait_for("ticketing.order.cancelled")
    assert cancelled["payload"]["ticketCount"] == 2 and cancelled["payload"]["reason"] == "cannot come"
    await wait_until(lambda: participating(False))

    async def none_sold():
        return (await (await p.client.get(f"/api/events/{event['id']}")).json()).get("ticketsSold") == 0

    await wait_until(none_sold)
    assert (await p.client.post(path, json={}, headers=fan.headers)).status == 409, "nothing left to refund"


async def test_buyers_follow_the_refund_policy_and_hosts_do_not_have_to(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account, date=in_days(1))  # inside the 48-hour cut-off
    standard = await new_type(p, org, event)
    final = await new_type(p, org, event, name="Final sale", refundable=False)
    buyer = p.auth("buyer")
    soon = await (await order(p, buyer, event["id"], [(standard["id"], 1)])).json()
    response = await p.client.post(f"{API}/orders/{soon['id']}/refunds", json={}, headers=buyer)
    assert response.status == 403 and "hours before" in (await response.json())["message"]
    assert (await p.client.post(f"{API}/orders/{soon['id']}/refunds", json={}, headers=org.headers)).status == 200

    org2, later_event = await hosted_event(p, account, date=in_days(10))
    no_refund = await new_type(p, org2, later_event, name="Final sale", refundable=False)
    kept = await (await order(p, buyer, later_event["id"], [(no_refund["id"], 1)])).json()
    refused = await p.client.post(f"{API}/orders/{kept['id']}/refunds", json={}, headers=buyer)
    assert refused.status == 403 and "not refundable" in (await refused.json())["message"]
    assert final["refundable"] is False


async def test_a_deleted_account_gives_back_its_tickets_for_events_to_come(platform, account, settings):
    p = await platform()
    org, event = await hosted_event(p, account, date=in_days(10))
    standard = await new_type(p, org, event, capacity=4)
    placed = await (await order(p, p.auth("leaver"), event["id"], [(standard["id"], 2)])).json()
    publish_event(settings, "user.deleted", {"userId": "leaver"})

    async def given_back():
        state = await (await p.client.get(f"{API}/ticket-types/{standard['id']}")).json()
        return state["available"] == 4

    await wait_until(given_back)
    stored = await p.kernel.read.collection("ticketing_orders").find_one({"_id": placed["id"]})
    assert stored["status"] == "REFUNDED" and stored["history"][-1]["reason"] == "account_deleted"


async def test_a_cancelled_event_gives_every_holder_their_tickets_back_once(platform, account, bus_tap, settings):
    tap = await bus_tap("ticketing.order.cancelled")
    p = await platform()
    org, event = await hosted_event(p, account, date=in_days(10))
    standard = await new_type(p, org, event, capacity=20)
    orders = [
        await (await order(p, p.auth(f"h{i}"), event["id"], [(standard["id"], 1 + i % 2)])).json() for i in range(4)
    ]
    scanned = {"ticketId": orders[0]["tickets"][0]["id"], "scanId": uuid4().hex}
    assert (
        await p.client.post(f"{API}/events/{event['id']}/checkins", json=scanned, headers=org.headers)
    ).status == 200
    cancelled = await p.client.post(f"/api/events/{event['id']}/cancel", headers=org.headers)
    assert cancelled.status == 200, await cancelled.text()
    # The bus may deliver the cancellation again: still one run, each order refunded once.
    publish_event(settings, "event.cancelled", {"eventId": event["id"], "status": "CANCELLED", "creatorId": org.id})

    async def finished():
        status = await (await p.client.get(f"{API}/events/{event['id']}/refund-status", headers=org.headers)).json()
        return status if status["state"] == "finished" else None

    status = await wait_until(finished, 30)
    assert (status["orders"], status["tickets"], status["reason"]) == (4, 6, "cancelled")
    messages = await tap.wait_for("ticketing.order.cancelled", 4)
    assert sorted(m["payload"]["orderId"] for m in messages) == sorted(o["id"] for o in orders)
    assert {m["payload"]["reason"] for m in messages} == {"event_cancelled"}
    stored = await p.kernel.read.collection("ticketing_orders").find({"event_id": event["id"]}).to_list(None)
    assert {o["status"] for o in stored} == {"REFUNDED"} and all(
        [h["status"] for h in o["history"]] == ["PAID", "REFUNDED"] for o in stored
    )
    assert (await p.client.get(f"{API}/events/{event['id']}/refund-status", headers=p.auth("x"))).status == 403


async def test_a_ticket_given_back_after_a_sell_out_is_on_sale_again_a_second_later(platform, account):
    """Late buyers are refused from memory for at most a second (SOLD_OUT_MEMORY_SECONDS); a replayed
    key still gets its own order."""
    from eventonight_ticketing.application.orders import SOLD_OUT_MEMORY_SECONDS

    p = await platform()
    org, event = await hosted_event(p, account)
    single = await new_type(p, org, event, capacity=1)
    first, late = await account(p, "early"), await account(p, "late")
    key = uuid4().hex
    placed = await (await order(p, first.headers, event["id"], [(single["id"], 1)], key=key)).json()
    assert (await order(p, late.headers, event["id"], [(single["id"], 1)])).status == 409
    replay = await order(p, first.headers, event["id"], [(single["id"], 1)], key=key)
    assert replay.status == 200 and (await replay.json())["id"] == placed["id"], "its order, not sold out"
    refund = await p.client.post(f"{API}/orders/{placed['id']}/refunds", json={}, headers=org.headers)
    assert refund.status == 200
    await asyncio.sleep(SOLD_OUT_MEMORY_SECONDS + 0.1)
    assert (await order(p, late.headers, event["id"], [(single["id"], 1)])).status == 201
