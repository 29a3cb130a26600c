"""The demo: users first (tryfirst), then events, then free tickets (trylast), and a newcomer gets one."""

from uuid import uuid4


async def test_demo_data_in_call_order_gives_every_published_demo_event_a_free_ticket(platform):
    p = await platform()
    results = await p.kernel.hooks.acall("eventonight_demo_data")
    order = [r.plugin for r in results]
    assert order[0] == "users" and order[-1] == "ticketing" and order.index("events") < order.index("ticketing")
    [ticketing_lines] = [r.value for r in results if r.plugin == "ticketing"]
    assert "free entry tickets for" in ticketing_lines[0]
    published = await p.kernel.read.collection("events_events").count_documents({"status": "PUBLISHED"})
    types = await p.kernel.read.collection("ticketing_ticket_types").find().to_list(None)
    assert published and len(types) == published and {t["price_minor"] for t in types} == {0}

    event_id = types[0]["event_id"]
    bought = await p.client.post(
        "/api/ticketing/orders",
        json={"eventId": event_id, "lines": [{"typeId": types[0]["_id"], "quantity": 2}]},
        headers={**p.auth("newcomer"), "Idempotency-Key": uuid4().hex},
    )
    assert bought.status == 201 and len((await bought.json())["tickets"]) == 2

    again = await p.kernel.hooks.acall("eventonight_demo_data")
    assert await p.kernel.read.collection("ticketing_ticket_types").count_documents({}) == len(types), "idempotent"
    assert "for 0 demo events" in next(r.value for r in again if r.plugin == "ticketing")[0]
