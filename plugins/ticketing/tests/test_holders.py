"""Holders' and hosts' views: sales, my events, attendee names (codes issued anew), the original's aliases."""

from test_ticketing import API, hosted_event, new_type, order


async def test_sales_suggested_names_and_deleting_every_type_until_something_sold(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    fan = await account(p, "salesfan")
    names = await (await p.client.get(f"{API}/ticket-types/suggested-names")).json()
    assert "VIP" in names["items"] and "Standard" in names["items"]
    first = await new_type(p, org, event, name="Early", priceMinor=900, capacity=5)
    await new_type(p, org, event, name="Late", priceMinor=1500, capacity=5)
    sales = await (await p.client.get(f"{API}/events/{event['id']}/sales")).json()
    assert (sales["onSale"], sales["lowestPriceMinor"], sales["currency"], sales["available"]) == (True, 900, "EUR", 10)
    put = await p.client.put(f"{API}/ticket-types/{first['id']}", json={"priceMinor": 1000}, headers=org.headers)
    assert put.status == 200 and (await put.json())["priceMinor"] == 1000, "PUT is PATCH's alias"
    path = f"{API}/events/{event['id']}/ticket-types"
    assert (await p.client.delete(path, headers=fan.headers)).status == 403
    assert (await p.client.delete(path, headers=org.headers)).status == 204
    assert (await (await p.client.get(path)).json())["items"] == []
    free = await new_type(p, org, event, name="Free", capacity=3)
    assert (await order(p, fan.headers, event["id"], [(free["id"], 1)])).status == 201
    refused = await p.client.delete(path, headers=org.headers)
    assert refused.status == 409 and len((await (await p.client.get(path)).json())["items"]) == 1
    _, draft = await hosted_event(p, account, status="DRAFT")
    assert (await p.client.get(f"{API}/events/{draft['id']}/sales")).status == 404


async def test_my_events_tickets_and_pdf_are_the_holders_own(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    later_org, later = await hosted_event(p, account, title="Later", date="2099-01-01T20:00:00Z")
    await new_type(p, later_org, later)  # on sale, but not bought: not among the holder's events
    fan, other = await account(p, "holder"), await account(p, "nosy")
    entry = await new_type(p, org, event)
    assert (await order(p, fan.headers, event["id"], [(entry["id"], 2)])).status == 201
    mine = await (await p.client.get(f"{API}/me/events", headers=fan.headers)).json()
    assert [(e["eventId"], e["tickets"]) for e in mine["items"]] == [(event["id"], 2)]
    assert (await (await p.client.get(f"{API}/me/events?status=CANCELLED", headers=fan.headers)).json())["items"] == []
    assert (await p.client.get(f"{API}/me/events?order=sideways", headers=fan.headers)).status == 400
    alias = await p.client.get(f"{API}/users/{fan.id}/tickets?status=VALID", headers=fan.headers)
    assert alias.status == 200 and (await alias.json())["total"] == 2
    assert (await p.client.get(f"{API}/users/{fan.id}/tickets", headers=other.headers)).status == 403
    pdf = await p.client.get(f"{API}/me/events/{event['id']}/pdf", headers=fan.headers)
    assert pdf.status == 200 and (await pdf.read()).startswith(b"%PDF")
    assert pdf.headers["Cache-Control"] == "private, no-store"
    assert (await p.client.get(f"{API}/me/events/{event['id']}/pdf", headers=other.headers)).status == 404


async def test_renaming_the_attendee_issues_a_new_code_and_revokes_the_old_one(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    entry = await new_type(p, org, event)
    fan, other = await account(p, "renamer"), await account(p, "thief")
    placed = await (await order(p, fan.headers, event["id"], [(entry["id"], 1)])).json()
    ticket_id = placed["tickets"][0]["id"]
    old_code = (await (await p.client.get(f"{API}/tickets/{ticket_id}", headers=fan.headers)).json())["qr"]
    path = f"{API}/tickets/{ticket_id}"
    assert (await p.client.patch(path, json={"attendeeName": "Ann"}, headers=other.headers)).status == 404
    assert (await p.client.patch(path, json={"attendeeName": ""}, headers=fan.headers)).status == 400
    renamed = await p.client.patch(path, json={"attendeeName": "Ann Lee"}, headers=fan.headers)
    assert renamed.status == 200
    body = await renamed.json()
    assert body["attendeeName"] == "Ann Lee" and body["qr"] != old_code
    revocations = await (await p.client.get(f"{API}/events/{event['id']}/revocations", headers=org.headers)).json()
    assert [(r["ticketId"], r["rev"]) for r in revocations["reissued"]] == [(ticket_id, 1)]
    scan = f"{API}/events/{event['id']}/checkins"
    stale = await p.client.post(scan, json={"qr": old_code, "scanId": "scan-old-1"}, headers=org.headers)
    assert stale.status == 422 and (await stale.json())["details"][0]["type"] == "revoked"
    fresh = await p.client.post(scan, json={"qr": body["qr"], "scanId": "scan-new-1"}, headers=org.headers)
    assert fresh.status == 200
    used = await p.client.patch(path, json={"attendeeName": "Bob"}, headers=fan.headers)
    assert used.status == 409, "a used ticket keeps its name"


async def test_the_originals_verify_alias_and_the_hosts_orders_and_report(platform, account):
    p = await platform()
    org, event = await hosted_event(p, account)
    entry = await new_type(p, org, event, capacity=5)
    fan = await account(p, "verified")
    placed = await (await order(p, fan.headers, event["id"], [(entry["id"], 2)])).json()
    ticket_id = placed["tickets"][0]["id"]
    verify = f"{API}/tickets/{ticket_id}/verify"
    assert (await p.client.put(verify, headers=fan.headers)).status == 403
    first = await (await p.client.put(verify, headers=org.headers)).json()
    second = await (await p.client.put(verify, headers=org.headers)).json()
    assert first == {"verified": True} and second["verified"] is False and second["checkedIn"]["type"] == "already_used"
    orders = f"{API}/events/{event['id']}/orders"
    assert (await p.client.get(orders, headers=fan.headers)).status == 403
    listed = await (await p.client.get(orders + "?status=PAID", headers=org.headers)).json()
    assert listed["total"] == 1 and listed["items"][0]["userId"] == fan.id
    assert listed["items"][0]["username"] == "verified", "known from user.created"
    assert (await (await p.client.get(orders + "?status=EXPIRED", headers=org.headers)).json())["total"] == 0
    assert (await p.client.get(orders + "?status=BOGUS", headers=org.headers)).status == 400
    report = await (await p.client.get(f"{API}/events/{event['id']}/report", headers=org.headers)).json()
    assert report["types"][0]["sold"] == 2 and report["types"][0]["available"] == 3
    assert report["orders"] == {"PAID": {"orders": 1, "totalMinor": 0}}
    assert report["tickets"] == {"valid": 1, "checkedIn": 1}
    assert (await p.client.get(f"{API}/events/{event['id']}/report", headers=fan.headers)).status == 403
