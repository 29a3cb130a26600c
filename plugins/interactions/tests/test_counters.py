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


async def test_page_totals_are_kept_counters_equal_to_the_documents_through_every_removal(platform, account):
    """Like and follow pages read their totals from kept counters: after likes, unlikes, follows,
    an unfollow, a deleted account and a deleted event, every total equals a count of the
    documents, and counting afresh (the startup backfill for older data) gives the same."""
    from eventonight_interactions.infrastructure.store import COUNTED, Store

    p = await platform()
    c = p.client
    club = await account(p, "club", role="organization", known_in=KNOWN)
    events = [await create_event(p, club, title=f"Night {i}") for i in range(2)]
    fans = [await account(p, f"fan{i}", known_in=KNOWN) for i in range(4)]
    for i, fan in enumerate(fans):
        for event in events[: 1 + i % 2]:
            await body(await c.post(f"{API}/events/{event['id']}/likes", headers=fan.headers), 201)
        for other in [club, *fans[:i]]:
            await body(
                await c.post(f"{API}/users/{fan.id}/following", json={"followedId": other.id}, headers=fan.headers), 201
            )
    unlike = await c.delete(f"{API}/events/{events[0]['id']}/likes/{fans[1].id}", headers=fans[1].headers)
    unfollow = await c.delete(f"{API}/users/{fans[3].id}/following/{fans[0].id}", headers=fans[3].headers)
    assert (unlike.status, unfollow.status) == (204, 204)
    assert (await c.delete(f"/api/users/{fans[2].id}", headers=fans[2].headers)).status == 204

    async def gone():
        return await p.kernel.read.collection("interactions_users").find_one({"_id": fans[2].id}) is None

    await wait_until(gone)
    draft = await create_event(p, club, status="DRAFT", title="Draft")
    assert (await c.delete(f"/api/events/{draft['id']}", headers=club.headers)).status == 204

    db = p.kernel.read

    async def totals() -> dict[str, int]:
        shown = {}
        for event in events:
            shown[f"likes of {event['title']}"] = (await body(await c.get(f"{API}/events/{event['id']}/likes")))[
                "total"
            ]
        for user in [club, *fans]:
            for path in ("likes", "following", "followers"):
                shown[f"{path} of {user.id}"] = (await body(await c.get(f"{API}/users/{user.id}/{path}")))["total"]
        return shown

    async def counted() -> dict[str, int]:
        likes, follows = db.collection("interactions_likes"), db.collection("interactions_follows")
        truth = {}
        for event in events:
            truth[f"likes of {event['title']}"] = await likes.count_documents({"event_id": event["id"]})
        for user in [club, *fans]:
            truth[f"likes of {user.id}"] = await likes.count_documents({"user_id": user.id})
            truth[f"following of {user.id}"] = await follows.count_documents({"follower": user.id})
            truth[f"followers of {user.id}"] = await follows.count_documents({"followed": user.id})
        return truth

    kept = await totals()
    assert kept == await counted()
    assert kept[f"followers of {club.id}"] == 3 and kept["likes of Night 0"] == 2, "the removals were counted"
    # Counting afresh from the documents, as a start on older data does, agrees.
    await db.collection("interactions_counters").delete_many({})
    assert await Store(db).backfill_counters() is True
    assert await totals() == kept
    assert await db.collection("interactions_counters").find_one({"_id": COUNTED})
    assert await Store(db).backfill_counters() is False, "once"


async def test_newest_first_pages_read_from_the_kept_times_match_a_plain_query(platform):
    """Pages of likes start at the kept recent times; after removals (times left behind) and
    with ties on the time, every page still equals the plain sorted query."""
    from datetime import UTC, datetime, timedelta

    from eventonight_interactions.infrastructure.store import RING, Store

    p = await platform(consumers=False)
    base = datetime.now(UTC).replace(microsecond=0)
    users = [f"u{i:02d}" for i in range(RING + 8)]
    for i, user in enumerate(users):
        at = base + timedelta(seconds=i // 3)  # three likes share each second

        async def like(uow, user=user, at=at):
            await Store(uow).add_like("e1", user, at)

        await p.kernel.transaction(like)

    async def unlike(uow):
        for user in users[-6:-1]:  # recent ones: their times stay in the kept rings
            assert await Store(uow).remove_like("e1", user)

    await p.kernel.transaction(unlike)
    read = Store(p.kernel.read)
    plain = [d["_id"] async for d in read._c("likes").find({"event_id": "e1"}).sort([("created_at", -1), ("_id", 1)])]
    for limit, offset in [(10, 0), (5, 5), (20, 0), (10, 20), (3, 31), (20, 30)]:
        docs, total = await read.likes_of_event("e1", limit, offset)
        assert total == len(plain) == len(users) - 5
        assert [d["_id"] for d in docs] == plain[offset : offset + limit], (limit, offset)
