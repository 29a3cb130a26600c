"""Counters one plugin keeps from another's domain events stay equal to a recount through cascades
and redeliveries (issue 15): an event's likes (events <- interactions) and tickets sold
(events <- ticketing), when a member who liked and bought deletes the account."""

from test_interactions import API, KNOWN, body, create_event

from eventonight.hooks.testing import publish_event, wait_until


async def _shown(p, event_id) -> dict:
    return await body(await p.client.get(f"/api/events/{event_id}"))


async def _equal(p, event_id, field, recount) -> None:
    async def settled():
        return (await _shown(p, event_id))[field] == await recount()

    await wait_until(settled, timeout=30)


async def test_likes_stay_equal_to_a_recount_through_an_account_deletion_and_a_redelivery(
    platform, account, bus_tap, settings
):
    tap = await bus_tap("interactions.like.#")
    p = await platform()
    club = await account(p, "club", role="organization", known_in=KNOWN)
    event = await create_event(p, club)
    fans = [await account(p, f"fan{i}", known_in=KNOWN) for i in range(3)]
    for fan in fans:
        await body(await p.client.post(f"{API}/events/{event['id']}/likes", headers=fan.headers), 201)

    async def recount():
        return (await body(await p.client.get(f"{API}/events/{event['id']}/likes")))["total"]

    await _equal(p, event["id"], "likes", recount)
    assert await recount() == 3
    assert (await p.client.delete(f"/api/users/{fans[0].id}", headers=fans[0].headers)).status == 204
    [gone] = await tap.wait_for("interactions.like.deleted")
    assert gone["payload"]["userId"] == fans[0].id and gone["payload"]["eventCreatorId"] == club.id
    await _equal(p, event["id"], "likes", recount)
    assert (await _shown(p, event["id"]))["likes"] == 2

    # The same announcement delivered again changes nothing.
    publish_event(settings, "interactions.like.deleted", gone["payload"], event_id=gone["id"])
    await body(await p.client.post(f"{API}/events/{event['id']}/likes", headers=club.headers), 201)
    await _equal(p, event["id"], "likes", recount)
    assert (await _shown(p, event["id"]))["likes"] == 3


async def test_tickets_sold_stay_equal_to_a_recount_when_a_holder_deletes_the_account(platform, account):
    p = await platform()
    club = await account(p, "club", role="organization", known_in=(*KNOWN, "ticketing_users"))
    event = await create_event(p, club)

    async def known_to_ticketing():
        return await p.kernel.read.collection("ticketing_events").find_one({"_id": event["id"]})

    await wait_until(known_to_ticketing)
    ticket_type = await body(
        await p.client.post(
            f"/api/ticketing/events/{event['id']}/ticket-types",
            json={"name": "Entry", "priceMinor": 0, "currency": "EUR", "capacity": 50},
            headers=club.headers,
        ),
        201,
    )
    fans = [await account(p, f"holder{i}", known_in=("ticketing_users",)) for i in range(2)]
    for i, fan in enumerate(fans):
        placed = await p.client.post(
            "/api/ticketing/orders",
            json={"eventId": event["id"], "lines": [{"typeId": ticket_type["id"], "quantity": 2}]},
            headers={**fan.headers, "Idempotency-Key": f"order-{i}"},
        )
        assert placed.status == 201, await placed.text()

    async def recount():
        report = await body(await p.client.get(f"/api/ticketing/events/{event['id']}/report", headers=club.headers))
        return sum(t["sold"] for t in report["types"])

    await _equal(p, event["id"], "ticketsSold", recount)
    assert await recount() == 4
    assert (await p.client.delete(f"/api/users/{fans[0].id}", headers=fans[0].headers)).status == 204

    async def cancelled():
        return await recount() == 2

    await wait_until(cancelled, timeout=30)
    await _equal(p, event["id"], "ticketsSold", recount)
