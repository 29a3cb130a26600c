"""The original's filters (issue 15): review search, rating and reviewer role; participations by
organization, reviewed or not, status, title, with ordering; hasReviewed; dropping every follow."""

from test_interactions import API, KNOWN, body, create_event, in_days, start_event

from eventonight.hooks.testing import publish_event, wait_until


async def _participate(p, settings, user, events):
    for event in events:
        publish_event(
            settings,
            "ticketing.order.confirmed",
            {"orderId": f"o-{user.id}-{event['id']}", "userId": user.id, "eventId": event["id"], "ticketCount": 1},
        )

    async def all_in():
        found = p.kernel.read.collection("interactions_participations")
        return await found.count_documents({"user_id": user.id}) == len(events)

    await wait_until(all_in)


async def test_reviews_are_searched_and_filtered_by_rating_and_reviewer_role(platform, account, settings):
    p = await platform()
    club = await account(p, "club", role="organization", known_in=KNOWN)
    guest = await account(p, "guestclub", role="organization", known_in=KNOWN)
    alice = await account(p, "alice", known_in=KNOWN)
    event = await create_event(p, club)
    for who in (alice, guest):
        await _participate(p, settings, who, [event])
    await start_event(p, event)
    reviews = f"{API}/events/{event['id']}/reviews"
    await body(await p.client.post(reviews, json={"rating": 5, "title": "Superb trumpet", "comment": "Loved the SAX too"},
                                   headers=alice.headers), 201)  # fmt: skip
    await body(await p.client.post(reviews, json={"rating": 2, "title": "Too loud", "comment": "bring earplugs"},
                                   headers=guest.headers), 201)  # fmt: skip

    async def titles(query):
        return [r["title"] for r in (await body(await p.client.get(f"{reviews}?{query}")))["items"]]

    assert await titles("search=sax") == ["Superb trumpet"], "comment words, case ignored"
    assert await titles("search=too%20LOUD") == ["Too loud"], "every word must match"
    assert await titles("search=.*") == [], "words, not patterns"
    assert len(await titles("search=%20%20")) == 2, "blanks: no words, no filter"
    assert await titles("rating=2") == ["Too loud"]
    assert await titles("role=organization") == ["Too loud"]
    assert await titles("role=member&rating=5") == ["Superb trumpet"]
    for bad in ("rating=6", "role=admin", "search=", "limit=0"):
        assert (await p.client.get(f"{reviews}?{bad}")).status == 400, bad
    by_host = await body(await p.client.get(f"{API}/organizations/{club.id}/reviews?search=earplugs"))
    assert [r["title"] for r in by_host["items"]] == ["Too loud"]
    mine = await body(await p.client.get(f"{API}/users/{alice.id}/reviews?role=member"))
    assert mine["total"] == 1


async def test_participations_filter_sort_and_say_what_is_reviewed(platform, account, settings):
    p = await platform()
    club = await account(p, "club", role="organization", known_in=KNOWN)
    other = await account(p, "other", role="organization", known_in=KNOWN)
    alice = await account(p, "alice", known_in=KNOWN)
    jazz = await create_event(p, club, title="Jazz Night", date=in_days(3))
    blues = await create_event(p, club, title="Blues Brunch", date=in_days(9))
    rock = await create_event(p, other, title="Rock Gala", date=in_days(6))
    await _participate(p, settings, alice, [jazz, blues, rock])
    await start_event(p, jazz)
    await body(
        await p.client.post(f"{API}/events/{jazz['id']}/reviews", json={"rating": 4, "title": "Nice"},
                            headers=alice.headers), 201)  # fmt: skip
    base = f"{API}/users/{alice.id}/participations"

    async def titles(query=""):
        page = await body(await p.client.get(f"{base}?{query}"))
        return [(i["title"], i["hasReviewed"]) for i in page["items"]]

    assert [t for t, _ in await titles()] == ["Jazz Night", "Rock Gala", "Blues Brunch"], "by event date"
    assert [t for t, _ in await titles("sort=title&order=desc")] == ["Rock Gala", "Jazz Night", "Blues Brunch"]
    assert await titles(f"organization={other.id}") == [("Rock Gala", False)]
    assert await titles("reviewed=true") == [("Jazz Night", True)]
    assert [t for t, _ in await titles("reviewed=false")] == ["Rock Gala", "Blues Brunch"]
    assert [t for t, _ in await titles("title=GALA")] == ["Rock Gala"]
    assert [t for t, _ in await titles("status=PUBLISHED,COMPLETED&limit=1&offset=1")] == ["Rock Gala"]
    assert (await p.client.get(f"{base}?status=LOST")).status == 400
    answer = await body(await p.client.get(f"{API}/users/{alice.id}/participations/{jazz['id']}"))
    assert answer == {"participating": True, "hasReviewed": True}
    answer = await body(await p.client.get(f"{API}/users/{alice.id}/participations/{rock['id']}"))
    assert answer == {"participating": True, "hasReviewed": False}


async def test_a_user_drops_every_follow_at_once_and_only_their_own(platform, account, bus_tap):
    tap = await bus_tap("interactions.follow.deleted")
    p = await platform()
    alice = await account(p, "alice", known_in=KNOWN)
    bob = await account(p, "bob", known_in=KNOWN)
    clubs = [await account(p, f"club{i}", role="organization", known_in=KNOWN) for i in range(3)]
    following = f"{API}/users/{alice.id}/following"
    for club in clubs:
        await body(await p.client.post(following, json={"followedId": club.id}, headers=alice.headers), 201)
    assert (await p.client.delete(following, headers=bob.headers)).status == 403
    assert (await body(await p.client.delete(following, headers=alice.headers))) == {"removed": 3}
    assert (await body(await p.client.get(following)))["total"] == 0
    assert len(await tap.wait_for("interactions.follow.deleted", 3)) == 3, "each drop announced"
    assert (await body(await p.client.delete(following, headers=alice.headers))) == {"removed": 0}
