"""Paid orders end to end: the real stripe library against the bundled fake, real database and broker.

Each test names the failure of docs/ticketing.md ("What goes wrong, and what happens") it shows.
"""

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import aiohttp
import stripe
from eventonight_ticketing.plugin import services
from test_ticketing import API, hosted_event, new_type, order

from eventonight.hooks.testing import publish_event, wait_until


async def paid_setup(platform, account, fake, *, capacity=10, price=2500, **type_fields):
    p = await platform()
    fake.attach(p)
    org, event = await hosted_event(p, account)
    vip = await new_type(p, org, event, name="VIP", priceMinor=price, capacity=capacity, **type_fields)
    return p, org, event, vip


async def available(p, type_id):
    return (await (await p.client.get(f"{API}/ticket-types/{type_id}")).json())["available"]


async def order_of(p, headers, order_id):
    return await (await p.client.get(f"{API}/orders/{order_id}", headers=headers)).json()


async def status_becomes(p, headers, order_id, status):
    async def reached():
        return (await order_of(p, headers, order_id))["status"] == status

    await wait_until(reached)
    return await order_of(p, headers, order_id)


def session_id(placed):
    return placed["checkoutUrl"].rsplit("/", 1)[-1]


async def test_pay_on_the_checkout_page_and_the_webhook_issues_the_tickets(platform, account, fake_stripe, bus_tap):
    tap = await bus_tap("ticketing.order.confirmed")
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "payer", known_in=("events_users", "interactions_users"))
    key = uuid4().hex
    response = await order(p, fan.headers, event["id"], [(vip["id"], 2)], key=key)
    assert response.status == 201, await response.text()
    placed = await response.json()
    assert placed["status"] == "PENDING" and placed["totalMinor"] == 5000 and placed["tickets"] == []
    assert placed["checkoutUrl"].startswith(fake_stripe.url + "/pay/cs_")
    assert await available(p, vip["id"]) == 8, "held while the buyer pays"
    [create] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert create["key"] == f"etn-cs-{placed['id']}"
    item = create["params"]["line_items"][0]
    assert item["price_data"]["unit_amount"] == "2500" and item["quantity"] == "2"
    assert item["price_data"]["currency"] == "eur"
    # The buyer pays on the provider's page (a browser's form post), which sends them back.
    async with aiohttp.ClientSession() as browser:
        async with browser.post(placed["checkoutUrl"], data={"action": "pay"}, allow_redirects=False) as paid:
            assert paid.status == 303 and "/api/ticketing/checkout/return" in paid.headers["Location"]
    done = await status_becomes(p, fan.headers, placed["id"], "PAID")
    assert len(done["tickets"]) == 2 and {t["status"] for t in done["tickets"]} == {"VALID"}
    [confirmed] = await tap.wait_for("ticketing.order.confirmed")
    assert confirmed["payload"] == {
        "orderId": placed["id"], "userId": fan.id, "eventId": event["id"], "eventTitle": "Jazz Night",
        "ticketCount": 2, "totalMinor": 5000, "currency": "EUR",
    }  # fmt: skip
    assert await available(p, vip["id"]) == 8

    async def sold():  # the holds become sold right after the confirmation commits
        return (await (await p.client.get(f"{API}/ticket-types/{vip['id']}")).json())["sold"] == 2

    await wait_until(sold)

    async def participating():
        answer = await p.client.get(f"/api/interactions/users/{fan.id}/participations/{event['id']}")
        return (await answer.json()).get("participating")

    await wait_until(participating)

    async def told():
        listing = await (await p.client.get("/api/notifications", headers=fan.headers)).json()
        return any(n["type"] == "ticket.purchase.confirmed" for n in listing["items"])

    await wait_until(told)
    # The same request again: the same order, the same checkout session, nothing reserved twice.
    again = await order(p, fan.headers, event["id"], [(vip["id"], 2)], key=key)
    assert again.status == 200 and (await again.json())["id"] == placed["id"]
    assert len(fake_stripe.sessions) == 1 and await available(p, vip["id"]) == 8


async def test_a_resumed_checkout_gets_the_same_session_back(platform, account, fake_stripe):
    """Crash after the provider made the session: resuming sends the same key, so the same session."""
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "resumer")
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    resumed = await p.client.post(f"{API}/orders/{placed['id']}/checkout-session", headers=fan.headers)
    assert resumed.status == 200
    assert (await resumed.json())["checkoutUrl"] == placed["checkoutUrl"]
    creates = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert len(creates) == 2 and creates[0]["key"] == creates[1]["key"] and len(fake_stripe.sessions) == 1
    other = await account(p, "snoop")
    assert (await p.client.post(f"{API}/orders/{placed['id']}/checkout-session", headers=other.headers)).status == 404


async def test_a_crash_between_the_order_and_the_session_is_resumed_or_expired(platform, account, fake_stripe):
    """Crash after TX1: the order waits without a session; the same key resumes it, or expiry frees it."""
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "crasher")
    key = uuid4().hex
    found = services(p.kernel)
    # What a process that died right after committing the order left: a PENDING order, no session.
    placed, created = await found.orders.place(fan.id, event["id"], [(vip["id"], 2)], key)
    assert created and placed["status"] == "PENDING" and not fake_stripe.sessions
    retried = await order(p, fan.headers, event["id"], [(vip["id"], 2)], key=key)
    assert retried.status == 200 and (await retried.json())["checkoutUrl"]
    assert len(fake_stripe.sessions) == 1 and await available(p, vip["id"]) == 8
    # Another one that is never resumed: the expiry job gives its tickets back after expiresAt + grace.
    lost, _ = await found.orders.place(fan.id, event["id"], [(vip["id"], 3)], uuid4().hex)
    assert await available(p, vip["id"]) == 5
    await p.kernel.transaction(
        lambda uow: uow.collection("ticketing_orders").update_one(
            {"_id": lost["_id"]}, {"$set": {"expires_at": lost["expires_at"].replace(year=2000)}}
        )
    )
    assert await found.checkout.expire_due() == 1
    assert (await order_of(p, fan.headers, lost["_id"]))["status"] == "EXPIRED"
    assert await available(p, vip["id"]) == 8


async def test_provider_down_at_checkout_answers_503_and_gives_the_tickets_back(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "unlucky")
    fake_stripe.fail_next(3, 500)  # the first try and stripe's two retries
    response = await order(p, fan.headers, event["id"], [(vip["id"], 2)])
    assert response.status == 503 and response.headers["Retry-After"]
    assert (await response.json())["message"]
    assert await available(p, vip["id"]) == 10, "released at once"
    [stuck] = await p.kernel.read.collection("ticketing_orders").find().to_list(None)
    assert stuck["status"] == "EXPIRED" and stuck["history"][-1]["reason"] == "provider_unavailable"
    # A provider that hangs past the client's timeout is the same failure.
    fake_stripe.timeout_seconds = 3
    fake_stripe.fail_next(3, "timeout")
    slow = await order(p, fan.headers, event["id"], [(vip["id"], 1)])
    assert slow.status == 503 and await available(p, vip["id"]) == 10


async def test_cancel_is_an_authenticated_delete_that_closes_the_session(platform, account, fake_stripe, bus_tap):
    tap = await bus_tap("ticketing.order.expired")
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan, other = await account(p, "quitter"), await account(p, "stranger")
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 3)])).json()
    assert (await p.client.delete(f"{API}/orders/{placed['id']}")).status == 401
    assert (await p.client.delete(f"{API}/orders/{placed['id']}", headers=other.headers)).status == 404
    assert (await p.client.get(f"{API}/checkout/return?orderId={placed['id']}&result=cancel")).status == 200
    assert (await order_of(p, fan.headers, placed["id"]))["status"] == "PENDING", "the return page changes nothing"
    cancelled = await p.client.delete(f"{API}/orders/{placed['id']}", headers=fan.headers)
    assert cancelled.status == 200 and (await cancelled.json())["status"] == "EXPIRED"
    assert fake_stripe.sessions[session_id(placed)]["status"] == "expired"
    assert await available(p, vip["id"]) == 10
    [expired] = await tap.wait_for("ticketing.order.expired")
    assert expired["payload"] == {"orderId": placed["id"], "userId": fan.id, "eventId": event["id"],
                                  "reason": "cancelled_by_buyer"}  # fmt: skip
    again = await p.client.delete(f"{API}/orders/{placed['id']}", headers=fan.headers)
    assert again.status == 409
    # The provider down: the order is cancelled all the same; a payment that still gets through
    # follows the late-payment rule (tickets, since some are left).
    second = await (await order(p, fan.headers, event["id"], [(vip["id"], 2)])).json()
    fake_stripe.fail_next(6, 500)
    down = await p.client.delete(f"{API}/orders/{second['id']}", headers=fan.headers)
    assert down.status == 200 and (await down.json())["status"] == "EXPIRED"
    assert await available(p, vip["id"]) == 10
    fake_stripe.faults.api.clear()
    fake_stripe.pay(session_id(second))
    late = await status_becomes(p, fan.headers, second["id"], "PAID")
    assert len(late["tickets"]) == 2 and await available(p, vip["id"]) == 8


def signed(payload: dict, secret: str, timestamp: int | None = None) -> tuple[str, dict]:
    body = json.dumps(payload)
    header = stripe.WebhookSignature.generate_signature_header(body, secret, timestamp=timestamp)
    return body, {"Stripe-Signature": header, "Content-Type": "application/json"}


async def test_forged_stale_replayed_reordered_and_unknown_webhooks_change_nothing(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "webhooked")
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    sid = session_id(placed)
    completed = {"id": "evt_forged", "object": "event", "type": "checkout.session.completed",
                 "data": {"object": {"id": sid, "object": "checkout.session", "status": "complete",
                                     "payment_status": "paid", "metadata": {"orderId": placed["id"]}}}}  # fmt: skip
    hook = f"{API}/webhooks/stripe"
    # Forged: a wrong secret. Stale: signed correctly 10 minutes ago. Both 400, nothing written.
    body, headers = signed(completed, "whsec_wrong")
    forged = await p.client.post(hook, data=body, headers=headers)
    assert forged.status == 400 and "signature" in (await forged.json())["message"]
    body, headers = signed(completed, fake_stripe.webhook_secret, timestamp=int(time.time()) - 600)
    assert (await p.client.post(hook, data=body, headers=headers)).status == 400
    assert (await p.client.post(hook, data=body)).status == 400, "no signature at all"
    # Correctly signed but lying (the session was not paid): the re-fetch shows it open, nothing happens.
    body, headers = signed(completed, fake_stripe.webhook_secret)
    assert (await p.client.post(hook, data=body, headers=headers)).status == 200
    assert (await order_of(p, fan.headers, placed["id"]))["status"] == "PENDING"
    # Unknown types are acknowledged and ignored.
    body, headers = signed({**completed, "id": "evt_other", "type": "customer.created"}, fake_stripe.webhook_secret)
    answer = await p.client.post(hook, data=body, headers=headers)
    assert answer.status == 200 and (await answer.json())["result"] == "ignored"
    # Reordered: the completion is held back, then "expired" arrives first: the re-fetch says paid.
    fake_stripe.faults.webhooks = "hold"
    fake_stripe.pay(sid)
    late_expired = {**completed, "id": "evt_expired_late", "type": "checkout.session.expired"}
    body, headers = signed(late_expired, fake_stripe.webhook_secret)
    assert (await p.client.post(hook, data=body, headers=headers)).status == 200
    assert (await order_of(p, fan.headers, placed["id"]))["status"] == "PAID"
    # Duplicated: the held completion, twice; then the same "expired" replayed inside the tolerance.
    fake_stripe.faults.webhooks = None
    fake_stripe.held *= 2
    fake_stripe.release_webhooks(reverse=True)
    await fake_stripe.drain()
    assert (await p.client.post(hook, data=body, headers=headers)).status == 200
    replay = await (await p.client.post(hook, data=body, headers=headers)).json()
    assert replay["result"] == "duplicate"
    final = await order_of(p, fan.headers, placed["id"])
    assert final["status"] == "PAID" and len(final["tickets"]) == 1
    assert await p.kernel.read.collection("ticketing_tickets").count_documents({"order_id": placed["id"]}) == 1


async def test_a_webhook_whose_refetch_fails_answers_5xx_so_the_provider_retries(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "retried")
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    fake_stripe.faults.webhooks = "hold"
    fake_stripe.pay(session_id(placed))
    [event_] = fake_stripe.held
    fake_stripe.faults.webhooks = None
    fake_stripe.fail_next(3, 500)  # the re-fetch and its retries fail
    body, headers = signed(event_, fake_stripe.webhook_secret)
    answer = await p.client.post(f"{API}/webhooks/stripe", data=body, headers=headers)
    assert answer.status == 503 and (await order_of(p, fan.headers, placed["id"]))["status"] == "PENDING"
    assert (await p.client.post(f"{API}/webhooks/stripe", data=body, headers=headers)).status == 200
    assert (await order_of(p, fan.headers, placed["id"]))["status"] == "PAID"


async def test_dropped_webhooks_are_made_good_by_reconciliation(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "lostmail")
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 2)])).json()
    fake_stripe.faults.webhooks = "drop"
    fake_stripe.pay(session_id(placed))
    # Dropped at the source: the fake sends nothing, so there is nothing to wait for.
    assert [d["status"] for d in fake_stripe.deliveries] == ["dropped"]
    assert (await order_of(p, fan.headers, placed["id"]))["status"] == "PENDING"
    old = datetime.now(UTC) - timedelta(hours=1)
    await p.kernel.transaction(
        lambda uow: uow.collection("ticketing_orders").update_many({}, {"$set": {"session_at": old}})
    )
    assert await services(p.kernel).checkout.reconcile() >= 1
    assert (await order_of(p, fan.headers, placed["id"]))["status"] == "PAID"


async def test_a_delayed_payment_method_keeps_the_hold_until_its_result(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "sepa")
    first = await (await order(p, fan.headers, event["id"], [(vip["id"], 2)])).json()
    second = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    fake_stripe.pay(session_id(first), delayed=True)
    fake_stripe.pay(session_id(second), delayed=True)

    async def processing():
        return (await order_of(p, fan.headers, first["id"])).get("paymentProcessing")

    await wait_until(processing)
    assert (await order_of(p, fan.headers, first["id"]))["status"] == "PENDING"
    fake_stripe.finish_delayed(session_id(first), succeeded=True)
    fake_stripe.finish_delayed(session_id(second), succeeded=False)
    assert len((await status_becomes(p, fan.headers, first["id"], "PAID"))["tickets"]) == 2
    await status_becomes(p, fan.headers, second["id"], "EXPIRED")
    assert await available(p, vip["id"]) == 8
    # A delayed payment still open when the event begins: the order expires, its tickets go back.
    third = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    fake_stripe.pay(session_id(third), delayed=True)

    async def third_processing():
        return (await order_of(p, fan.headers, third["id"])).get("paymentProcessing")

    await wait_until(third_processing)
    found = services(p.kernel)
    assert await found.checkout.expire_due() == 0, "waiting for its result, even past expiresAt"
    began = datetime.now(UTC) - timedelta(minutes=1)
    await p.kernel.transaction(
        lambda uow: uow.collection("ticketing_events").update_one({"_id": event["id"]}, {"$set": {"date": began}})
    )
    assert await found.checkout.expire_due() == 1
    assert (await order_of(p, fan.headers, third["id"]))["status"] == "EXPIRED"
    assert await available(p, vip["id"]) == 8


async def test_a_payment_after_expiry_gets_tickets_if_left_else_its_money_back(platform, account, fake_stripe, bus_tap):
    tap = await bus_tap("ticketing.refund.*")
    p, org, event, vip = await paid_setup(platform, account, fake_stripe, capacity=1)
    fan, rival = await account(p, "slowpoke"), await account(p, "rival")
    found = services(p.kernel)
    late = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    fake_stripe.expire_now(session_id(late))
    await status_becomes(p, fan.headers, late["id"], "EXPIRED")
    assert await available(p, vip["id"]) == 1
    # Stock left: the late payment still gets its ticket.
    fake_stripe.faults.pay_after_expiry = True
    fake_stripe.pay(session_id(late))
    assert len((await status_becomes(p, fan.headers, late["id"], "PAID"))["tickets"]) == 1
    assert await available(p, vip["id"]) == 0
    # None left: the money goes back automatically, exactly once, and no ticket.
    await p.client.post(f"{API}/orders/{late['id']}/refunds", json={}, headers=org.headers)
    assert await available(p, vip["id"]) == 1
    unlucky = await (await order(p, rival.headers, event["id"], [(vip["id"], 1)])).json()
    fake_stripe.expire_now(session_id(unlucky))
    await status_becomes(p, rival.headers, unlucky["id"], "EXPIRED")
    winner = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    fake_stripe.pay(session_id(winner))
    await status_becomes(p, fan.headers, winner["id"], "PAID")
    fake_stripe.faults.webhooks = "duplicate"
    fake_stripe.pay(session_id(unlucky))
    refunded = await status_becomes(p, rival.headers, unlucky["id"], "REFUNDED")
    assert refunded["tickets"] == [] and refunded["refundedMinor"] == 2500
    await fake_stripe.drain()
    await found.payments.tick()
    intent = fake_stripe.sessions[session_id(unlucky)]["payment_intent"]
    paid_back = [r for r in fake_stripe.refunds.values() if r["payment_intent"] == intent]
    assert [r["amount"] for r in paid_back] == [2500]
    refunds = await (await p.client.get(f"{API}/orders/{unlucky['id']}/refunds", headers=rival.headers)).json()
    assert [(r["reason"], r["state"]) for r in refunds["items"]] == [("late_payment", "succeeded")]
    created = [m for m in await tap.wait_for("ticketing.refund.created", 2) if m["payload"]["orderId"] == unlucky["id"]]
    assert created[0]["payload"]["reason"] == "late_payment" and created[0]["payload"]["amountMinor"] == 2500
    assert await available(p, vip["id"]) == 0


async def test_paying_twice_or_the_wrong_amount_is_refunded_without_tickets(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "twice")
    found = services(p.kernel)
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).json()
    # A second session for the same order (e.g. made after the provider forgot the idempotency key).
    params = {**fake_stripe.calls("POST", "/v1/checkout/sessions")[0]["params"]}
    duplicate = fake_stripe._create_session(None, params)["id"]
    fake_stripe.pay(session_id(placed))
    await status_becomes(p, fan.headers, placed["id"], "PAID")
    fake_stripe.pay(duplicate)

    async def refund_recorded():
        return await p.kernel.read.collection("ticketing_refunds").find_one({"reason": "duplicate_payment"})

    await wait_until(refund_recorded)
    final = await order_of(p, fan.headers, placed["id"])
    assert final["status"] == "PAID" and len(final["tickets"]) == 1
    # The wrong amount: no tickets, the order ends, the money goes back.
    wrong = await (await order(p, fan.headers, event["id"], [(vip["id"], 2)])).json()
    fake_stripe.sessions[session_id(wrong)]["amount_total"] = 100
    fake_stripe.pay(session_id(wrong))
    ended = await status_becomes(p, fan.headers, wrong["id"], "EXPIRED")
    assert ended["tickets"] == []
    await wait_until(lambda: p.kernel.read.collection("ticketing_refunds").find_one({"reason": "amount_mismatch"}))
    await found.payments.tick()
    assert sorted(r["amount"] for r in fake_stripe.refunds.values()) == [100, 2500]
    assert await available(p, vip["id"]) == 9


async def test_money_refunds_partial_full_and_a_provider_that_keeps_failing(
    platform, account, fake_stripe, monkeypatch, bus_tap
):
    monkeypatch.setenv("EVENTONIGHT_TICKETING_REFUND_RETRY_BASE_SECONDS", "0.01")
    monkeypatch.setenv("EVENTONIGHT_TICKETING_REFUND_MAX_ATTEMPTS", "3")
    tap = await bus_tap("ticketing.refund.*", "ticketing.order.*")
    p, org, event, vip = await paid_setup(platform, account, fake_stripe)
    fan = await account(p, "refunder")
    found = services(p.kernel)
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 3)])).json()
    fake_stripe.pay(session_id(placed))
    tickets = (await status_becomes(p, fan.headers, placed["id"], "PAID"))["tickets"]
    part = await p.client.post(
        f"{API}/orders/{placed['id']}/refunds", json={"ticketIds": [tickets[0]["id"]]}, headers=fan.headers
    )
    assert part.status == 200 and (await part.json())["status"] == "PARTIALLY_REFUNDED"
    [changed] = await tap.wait_for("ticketing.order.changed")
    assert changed["payload"]["ticketCount"] == 2 and changed["payload"]["cancelledCount"] == 1
    assert [r["amount"] for r in fake_stripe.refunds.values()] == [2500], "paid out at once"
    assert fake_stripe.calls("POST", "/v1/refunds")[0]["key"].startswith("etn-rf-")
    await tap.wait_for("ticketing.refund.succeeded")
    # The provider is down for the rest: the refund is owed, retried with back-off, then marked failed.
    fake_stripe.fail_next(100, 500)
    whole = await p.client.post(f"{API}/orders/{placed['id']}/refunds", json={}, headers=org.headers)
    assert whole.status == 200 and (await whole.json())["status"] == "REFUNDED"
    await tap.wait_for("ticketing.order.cancelled")
    for _ in range(3):
        await asyncio.sleep(0.05)
        await found.payments.tick()
    states = [r["state"] for r in (await (await p.client.get(
        f"{API}/orders/{placed['id']}/refunds", headers=fan.headers)).json())["items"]]  # fmt: skip
    assert states == ["succeeded", "failed"]
    [failed] = await tap.wait_for("ticketing.refund.failed")
    assert failed["payload"]["amountMinor"] == 5000
    fake_stripe.faults.api.clear()
    assert len(fake_stripe.refunds) == 1, "a failed refund is not paid twice"


async def test_a_cancelled_event_refunds_every_paid_order_once_and_ends_unpaid_ones(
    platform, account, fake_stripe, settings
):
    p, org, event, vip = await paid_setup(platform, account, fake_stripe)
    buyers = [await account(p, f"holder{i}") for i in range(3)]
    found = services(p.kernel)
    paid = []
    for buyer in buyers[:2]:
        placed = await (await order(p, buyer.headers, event["id"], [(vip["id"], 2)])).json()
        fake_stripe.pay(session_id(placed))
        await status_becomes(p, buyer.headers, placed["id"], "PAID")
        paid.append(placed)
    waiting = await (await order(p, buyers[2].headers, event["id"], [(vip["id"], 1)])).json()
    payload = {"eventId": event["id"], "creatorId": "x", "status": "CANCELLED"}
    for _ in range(2):  # redelivered: still one refund each
        publish_event(settings, "event.cancelled", payload)

    async def closed():
        return (await p.kernel.read.collection("ticketing_refund_runs").find_one({"_id": event["id"]})) is not None

    await wait_until(closed)
    await found.refund_runs.tick()
    await found.refund_runs.tick()
    await found.payments.tick()
    for buyer, placed in zip(buyers, paid, strict=False):
        assert (await order_of(p, buyer.headers, placed["id"]))["status"] == "REFUNDED"
    assert (await order_of(p, buyers[2].headers, waiting["id"]))["status"] == "EXPIRED"
    assert sorted(r["amount"] for r in fake_stripe.refunds.values()) == [5000, 5000]
    status = await (await p.client.get(f"{API}/events/{event['id']}/refund-status", headers=org.headers)).json()
    assert status["state"] == "finished" and status["orders"] == 2 and status["tickets"] == 4


async def test_bad_orders_are_refused_and_hoarding_is_capped(platform, account, fake_stripe):
    p, _org, event, vip = await paid_setup(platform, account, fake_stripe, maxPerOrder=4)
    fan = await account(p, "hoarder")
    evil = {"eventId": event["id"], "lines": [{"typeId": vip["id"], "quantity": 1}],
            "successUrl": "https://evil.example/phish"}  # fmt: skip
    refused = await p.client.post(f"{API}/orders", json=evil, headers={**fan.headers, "Idempotency-Key": "k1"})
    assert refused.status == 400 and (await refused.json())["details"][0]["field"] == "successUrl"
    for lines, why in (([(vip["id"], 0)], "zero"), ([(vip["id"], -2)], "negative"), ([(vip["id"], 5)], "max")):
        assert (await order(p, fan.headers, event["id"], lines)).status in (400, 422), why
    for _ in range(2):
        assert (await order(p, fan.headers, event["id"], [(vip["id"], 1)])).status == 201
    third = await order(p, fan.headers, event["id"], [(vip["id"], 1)])
    assert third.status == 409 and "unpaid orders" in (await third.json())["message"]
    assert await available(p, vip["id"]) == 8 and len(fake_stripe.sessions) == 2


async def test_checkout_and_payment_do_not_wait_for_a_broker_that_is_down(
    platform, account, fake_stripe, settings, private_rabbit
):
    """Broker down: orders, payments and tickets still commit; order.confirmed is relayed when it is back."""
    p = await platform(settings_override=settings.model_copy(update={"broker_url": private_rabbit.url}))
    fake_stripe.attach(p)
    org, event = await hosted_event(p, account)
    vip = await new_type(p, org, event, name="VIP", priceMinor=2500, capacity=10)
    fan = await account(p, "offline")
    private_rabbit.stop_app()
    try:
        response = await order(p, fan.headers, event["id"], [(vip["id"], 2)])
        assert response.status == 201, await response.text()
        placed = await response.json()
        fake_stripe.pay(session_id(placed))
        done = await status_becomes(p, fan.headers, placed["id"], "PAID")
        assert len(done["tickets"]) == 2
        unsent = await p.kernel.read.collection("kernel_outbox").count_documents(
            {"eventType": "ticketing.order.confirmed"}
        )
        assert unsent == 1, "waiting in the outbox"
    finally:
        private_rabbit.start_app()

    async def counted():
        shown = await (await p.client.get(f"/api/events/{event['id']}")).json()
        return shown.get("ticketsSold") == 2

    await wait_until(counted, timeout=60)
