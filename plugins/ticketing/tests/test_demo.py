"""The demo: users first (tryfirst), then events, then ticket types (trylast); paid demo orders go
through the bundled Stripe fake mounted in the platform, and a newcomer buys, pays, downloads and
checks in a ticket the way the README says."""

import aiohttp
from test_payments import status_becomes
from test_ticketing import API, hosted_event, new_type, order

from eventonight.hooks.testing import free_port, wait_until


async def test_demo_data_gives_every_published_event_types_and_pays_two_orders_at_the_demo_checkout(platform, caplog):
    p = await platform(public_port=free_port())
    results = await p.kernel.hooks.acall("eventonight_demo_data")
    order_ = [r.plugin for r in results]
    assert order_[0] == "users" and order_[-1] == "ticketing" and order_.index("events") < order_.index("ticketing")
    [ticketing_lines] = [r.value for r in results if r.plugin == "ticketing"]
    assert "free 'Entry' and paid 'Supporter'" in ticketing_lines[0]
    published = await p.kernel.read.collection("events_events").count_documents({"status": "PUBLISHED"})
    types = await p.kernel.read.collection("ticketing_ticket_types").find().to_list(None)
    assert published and len(types) == 2 * published and {t["price_minor"] for t in types} == {0, 1500}

    async def paid_orders():
        return await p.kernel.read.collection("ticketing_orders").count_documents({"status": "PAID"}) == 2

    await wait_until(paid_orders, timeout=30)
    buyers = {u["_id"] for u in await p.kernel.read.collection("ticketing_users").find(
        {"username": {"$in": ["alice", "bob"]}}).to_list(None)}  # fmt: skip
    paid = await p.kernel.read.collection("ticketing_orders").find({"status": "PAID"}).to_list(None)
    assert {o["user_id"] for o in paid} == buyers and {o["total_minor"] for o in paid} == {1500}
    assert any("DEMO PAYMENTS - no money moves" in r.getMessage() for r in caplog.records)

    again = await p.kernel.hooks.acall("eventonight_demo_data")
    assert "for 0 demo events" in next(r.value for r in again if r.plugin == "ticketing")[0]
    assert await p.kernel.read.collection("ticketing_orders").count_documents({}) == 2, "fixed keys: no new orders"


async def test_a_newcomer_buys_pays_at_the_demo_checkout_downloads_and_is_checked_in(platform, account):
    """The README's steps, over HTTP only, in demo mode (no Stripe key: the fake inside the platform)."""
    p = await platform(public_port=free_port())
    org, event = await hosted_event(p, account)
    vip = await new_type(p, org, event, name="VIP", priceMinor=1500, capacity=20)
    fan = await account(p, "newcomer")
    placed = await (await order(p, fan.headers, event["id"], [(vip["id"], 2)])).json()
    assert placed["status"] == "PENDING"
    url = placed["checkoutUrl"]
    assert url.startswith(str(p.client.make_url("/api/ticketing/_fakestripe/pay/cs_")))
    async with aiohttp.ClientSession() as browser:
        async with browser.get(url) as page:
            assert page.status == 200 and "no money moves" in await page.text()
        async with browser.post(url, data={"action": "pay"}) as back:  # follows the redirect back to the platform
            assert back.status == 200 and "payment submitted" in (await back.json())["message"]
    paid = await status_becomes(p, fan.headers, placed["id"], "PAID")
    pdf = await p.client.get(f"{API}/orders/{placed['id']}/pdf", headers=fan.headers)
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
    ticket = await (await p.client.get(f"{API}/tickets/{paid['tickets'][0]['id']}", headers=fan.headers)).json()
    checked = await p.client.post(
        f"{API}/events/{event['id']}/checkins", json={"qr": ticket["qr"], "scanId": "door-1-0001"}, headers=org.headers
    )
    assert checked.status == 200 and (await checked.json())["type"] == "ok"
    # A refund of the demo payment goes back through the same fake.
    refunded = await p.client.post(
        f"{API}/orders/{placed['id']}/refunds", json={"ticketIds": [paid["tickets"][1]["id"]]}, headers=fan.headers
    )
    assert refunded.status == 200
    refunds = await (await p.client.get(f"{API}/orders/{placed['id']}/refunds", headers=fan.headers)).json()
    assert [(r["amountMinor"], r["state"]) for r in refunds["items"]] == [(1500, "succeeded")]
