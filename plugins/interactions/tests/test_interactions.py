"""Follows, likes, participations and reviews against real storage and the real broker."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from eventonight.hooks.testing import publish_event, wait_until

KNOWN = ("interactions_users",)
API = "/api/interactions"


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat().replace("+00:00", "Z")


async def create_event(p, org, **overrides):
    body = {
        "title": "Jazz Night",
        "date": in_days(5),
        "location": {"city": "Berlin", "lat": 52.5, "lon": 13.4},
        "tags": ["jazz"],
        "status": "PUBLISHED",
    }
    body.update(overrides)
    response = await p.client.post("/api/events", json=body, headers=org.headers)
    assert response.status == 201, await response.text()
    event = await response.json()

    async def known():
        doc = await p.kernel.read.collection("interactions_events").find_one({"_id": event["id"]})
        return doc is not None and doc["status"] == event["status"]

    await wait_until(known)
    return event


async def body(response, status=200):
    assert response.status == status, await response.text()
    return await response.json()


async def test_follow_unfollow_lists_and_rules(platform, account, bus_tap):
    tap = await bus_tap("interactions.follow.#")
    p = await platform()
    c = p.client
    alice = await account(p, "alice", known_in=KNOWN)
    club = await account(p, "club", role="organization", known_in=KNOWN)
    bob = await account(p, "bob", known_in=KNOWN)
    path = f"{API}/users/{alice.id}/following"

    assert (await c.post(path, json={"followedId": club.id})).status == 401
    assert (await c.post(path, json={"followedId": club.id}, headers=bob.headers)).status == 403
    assert (await c.post(path, json={"followedId": alice.id}, headers=alice.headers)).status == 400
    assert (await c.post(path, json={"followedId": "nobody"}, headers=alice.headers)).status == 404
    created = await body(await c.post(path, json={"followedId": club.id}, headers=alice.headers), 201)
    assert created["followedId"] == club.id
    assert (await c.post(path, json={"followedId": club.id}, headers=alice.headers)).status == 409
    await c.post(f"{API}/users/{bob.id}/following", json={"followedId": club.id}, headers=bob.headers)

    assert (await body(await c.get(f"{path}/{club.id}")))["following"] is True
    assert (await body(await c.get(f"{API}/users/{club.id}/following/{alice.id}")))["following"] is False
    followers = await body(await c.get(f"{API}/users/{club.id}/followers?limit=1"))
    assert followers["total"] == 2 and followers["hasMore"] is True and len(followers["items"]) == 1
    assert followers["items"][0]["name"] in ("alice", "bob")  # names from the local copy of user data
    following = await body(await c.get(path))
    assert [f["userId"] for f in following["items"]] == [club.id] and following["items"][0]["role"] == "organization"
    summary = await body(await c.get(f"{API}/users/{club.id}"))
    assert summary["followersCount"] == 2 and summary["followingCount"] == 0
    assert summary["followers"]["total"] == 2

    assert (await c.delete(f"{path}/{club.id}", headers=bob.headers)).status == 403
    assert (await c.delete(f"{path}/{club.id}", headers=alice.headers)).status == 204
    assert (await c.delete(f"{path}/{club.id}", headers=alice.headers)).status == 404
    follows = await tap.wait_for("interactions.follow.created", count=2)
    assert {"followerId": alice.id, "followedId": club.id} in [f["payload"] for f in follows]
    [unfollow] = await tap.wait_for("interactions.follow.deleted")
    assert unfollow["payload"] == {"followerId": alice.id, "followedId": club.id}


async def test_likes_only_on_published_events(platform, account, bus_tap):
    tap = await bus_tap("interactions.like.#")
    p = await platform()
    c = p.client
    club = await account(p, "club", role="organization", known_in=KNOWN)
    alice = await account(p, "alice", known_in=KNOWN)
    event = await create_event(p, club)
    draft = await create_event(p, club, status="DRAFT", title="Draft")
    likes = f"{API}/events/{event['id']}/likes"

    assert (await c.post(likes)).status == 401
    assert (await c.post(f"{API}/events/{draft['id']}/likes", headers=alice.headers)).status == 404
    assert (await c.post(f"{API}/events/unknown/likes", headers=alice.headers)).status == 404
    await body(await c.post(likes, headers=alice.headers), 201)
    # Liking twice is a 409: the like exists (documented choice).
    assert (await c.post(likes, headers=alice.headers)).status == 409
    assert (await body(await c.get(f"{API}/users/{alice.id}/likes/{event['id']}")))["liked"] is True
    liked = await body(await c.get(f"{API}/users/{alice.id}/likes"))
    assert liked["items"][0]["title"] == "Jazz Night"
    likers = await body(await c.get(likes))
    assert likers["total"] == 1 and likers["items"][0]["userId"] == alice.id
    assert (await c.delete(f"{likes}/{alice.id}", headers=club.headers)).status == 403
    assert (await c.delete(f"{likes}/{alice.id}", headers=alice.headers)).status == 204
    assert (await c.delete(f"{likes}/{alice.id}", headers=alice.headers)).status == 404
    [created] = await tap.wait_for("interactions.like.created")
    assert created["payload"]["eventCreatorId"] == club.id and created["payload"]["userId"] == alice.id
    await tap.wait_for("interactions.like.deleted")

    await c.post(f"/api/events/{event['id']}/cancel", headers=club.headers)

    async def cancelled():
        return (await p.kernel.read.collection("interactions_events").find_one({"_id": event["id"]}))[
            "status"
        ] == "CANCELLED"

    await wait_until(cancelled)
    assert (await c.post(likes, headers=alice.headers)).status == 409


async def test_like_counts_stay_exact_under_concurrency(platform, account):
    p = await platform()
    club = await account(p, "club", role="organization", known_in=KNOWN)
    event = await create_event(p, club)
    fans = await asyncio.gather(*(account(p, f"fan{i}", known_in=()) for i in range(50)))
    await wait_until(lambda: _count(p, "interactions_users", {}, 51))
    likes = f"{API}/events/{event['id']}/likes"
    responses = await asyncio.gather(*(p.client.post(likes, headers=f.headers) for f in fans))
    assert sorted(r.status for r in responses) == [201] * 50
    again = await asyncio.gather(*(p.client.post(likes, headers=f.headers) for f in fans[:10]))
    assert [r.status for r in again] == [409] * 10
    assert (await body(await p.client.get(f"{likes}?limit=1")))["total"] == 50

    # The events plugin's count, kept from the like events, is exact too.
    async def counted():
        return (await body(await p.client.get(f"/api/events/{event['id']}")))["likes"] == 50

    await wait_until(counted, timeout=30)


async def _count(p, collection, query, expected):
    return await p.kernel.read.collection(collection).count_documents(query) >= expected


async def test_participations_follow_ticket_orders_and_survive_redelivery(platform, account, settings):
    p = await platform()
    c = p.client
    club = await account(p, "club", role="organization", known_in=KNOWN)
    alice = await account(p, "alice", known_in=KNOWN)
    event = await create_event(p, club)
    order = {"orderId": "o1", "userId": alice.id, "eventId": event["id"], "ticketCount": 2}
    message_id = publish_event(settings, "ticketing.order.confirmed", order)
    publish_event(settings, "ticketing.order.confirmed", order, event_id=message_id)  # redelivered
    publish_event(settings, "ticketing.order.confirmed", {**order, "orderId": "o2", "ticketCount": 1})
    participating = f"{API}/users/{alice.id}/participations/{event['id']}"

    async def is_participant():
        return (await body(await c.get(participating)))["participating"]

    await wait_until(is_participant)
    participants = await body(await c.get(f"{API}/events/{event['id']}/participants"))
    assert participants["total"] == 1 and participants["items"][0]["userId"] == alice.id
    mine = await body(await c.get(f"{API}/users/{alice.id}/participations"))
    assert mine["items"][0]["title"] == "Jazz Night"

    # One order cancelled: still a participant; both cancelled: not any more.
    publish_event(settings, "ticketing.order.cancelled", {**order, "orderId": "o1"})
    publish_event(settings, "ticketing.order.cancelled", {**order, "orderId": "o2"})

    async def not_participant():
        return not (await body(await c.get(participating)))["participating"]

    await wait_until(not_participant)
    assert (await body(await c.get(f"{API}/events/{event['id']}/participants")))["total"] == 0


@pytest.fixture
async def reviewed_setup(platform, account, settings):
    p = await platform()
    club = await account(p, "club", role="organization", known_in=KNOWN)
    partner = await account(p, "partner", role="organization", known_in=KNOWN)
    alice = await account(p, "alice", known_in=KNOWN)
    bob = await account(p, "bob", known_in=KNOWN)
    event = await create_event(p, club, collaborators=[partner.id])
    for user in (alice, bob):
        publish_event(
            settings,
            "ticketing.order.confirmed",
            {"orderId": f"o-{user.id}", "userId": user.id, "eventId": event["id"], "ticketCount": 1},
        )

    async def both_participate():
        return (
            await p.kernel.read.collection("interactions_participations").count_documents({"event_id": event["id"]})
            == 2
        )

    await wait_until(both_participate)
    return p, club, partner, alice, bob, event


async def start_event(p, event):
    """Let the event start: its date moves into the past, as the clock would move it."""
    past = datetime.now(UTC) - timedelta(hours=1)
    await p.kernel.read.collection("interactions_events").update_one({"_id": event["id"]}, {"$set": {"date": past}})


async def test_reviews_rules_edits_replies_and_statistics(reviewed_setup, account, bus_tap):
    tap = await bus_tap("interactions.review.#")
    p, club, partner, alice, bob, event = reviewed_setup
    c = p.client
    reviews = f"{API}/events/{event['id']}/reviews"
    review = {"rating": 5, "title": "Superb", "comment": "Best night"}

    assert (await c.post(reviews, json=review, headers=alice.headers)).status == 409, "not started yet"
    await start_event(p, event)
    outsider = await account(p, "outsider", known_in=KNOWN)
    assert (await c.post(reviews, json=review, headers=outsider.headers)).status == 403
    assert (await c.post(reviews, json={**review, "rating": 6}, headers=alice.headers)).status == 400
    created = await body(await c.post(reviews, json=review, headers=alice.headers), 201)
    assert created["author"]["userId"] == alice.id and created["event"]["title"] == "Jazz Night"
    assert (await c.post(reviews, json=review, headers=alice.headers)).status == 409, "one per user per event"
    await body(await c.post(reviews, json={"rating": 2, "title": "Meh"}, headers=bob.headers), 201)

    # Edit: only the author.
    assert (await c.put(f"{reviews}/{alice.id}", json={"rating": 4}, headers=bob.headers)).status == 403
    edited = await body(await c.put(f"{reviews}/{alice.id}", json={"rating": 4}, headers=alice.headers))
    assert edited["rating"] == 4 and edited["title"] == "Superb"

    # Reply: only the event's creator; one reply, editable.
    reply = f"{reviews}/{alice.id}/reply"
    assert (await c.put(reply, json={"text": "Thanks!"}, headers=partner.headers)).status == 403
    assert (await c.put(reply, json={"text": "Thanks!"}, headers=alice.headers)).status == 403
    assert (await body(await c.put(reply, json={"text": "Thanks!"}, headers=club.headers)))["reply"][
        "text"
    ] == "Thanks!"
    assert (await body(await c.put(reply, json={"text": "Thank you!"}, headers=club.headers)))["reply"][
        "text"
    ] == "Thank you!"

    listing = await body(await c.get(reviews))
    assert listing["total"] == 2
    assert (await body(await c.get(f"{API}/users/{alice.id}/reviews/{event['id']}")))["reply"]["text"] == "Thank you!"
    assert (await body(await c.get(f"{API}/users/{bob.id}/reviews")))["items"][0]["rating"] == 2
    for org in (club, partner):  # co-hosts see the reviews too
        stats = await body(await c.get(f"{API}/organizations/{org.id}/reviews/statistics"))
        assert stats["total"] == 2 and stats["average"] == 3.0
        assert stats["distribution"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 0}
    low = await body(await c.get(f"{API}/organizations/{club.id}/reviews?rating=2"))
    assert [r["author"]["userId"] for r in low["items"]] == [bob.id]
    assert (await c.get(f"{API}/organizations/{club.id}/reviews?rating=9")).status == 400

    assert (await c.delete(f"{reviews}/{bob.id}", headers=alice.headers)).status == 403
    assert (await c.delete(f"{reviews}/{bob.id}", headers=bob.headers)).status == 204
    assert (await c.get(f"{API}/users/{bob.id}/reviews/{event['id']}")).status == 404
    [created_event] = (await tap.wait_for("interactions.review.created", count=2))[:1]
    assert created_event["payload"]["eventCreatorId"] == club.id
    assert created_event["payload"]["collaboratorIds"] == [partner.id]
    await tap.wait_for("interactions.review.updated")
    await tap.wait_for("interactions.review.deleted")


async def test_deleting_users_and_events_cascades(reviewed_setup):
    p, club, _, alice, bob, event = reviewed_setup
    c = p.client
    await start_event(p, event)
    await body(
        await c.post(
            f"{API}/events/{event['id']}/reviews", json={"rating": 5, "title": "Great"}, headers=alice.headers
        ),
        201,
    )
    await body(await c.post(f"{API}/events/{event['id']}/likes", headers=alice.headers), 201)
    await body(
        await c.post(f"{API}/users/{alice.id}/following", json={"followedId": club.id}, headers=alice.headers), 201
    )
    assert (await c.delete(f"/api/users/{alice.id}", headers=alice.headers)).status == 204

    async def gone():
        followers = await body(await c.get(f"{API}/users/{club.id}/followers"))
        likes = await body(await c.get(f"{API}/events/{event['id']}/likes"))
        participants = await body(await c.get(f"{API}/events/{event['id']}/participants"))
        return followers["total"] == 0 and likes["total"] == 0 and participants["total"] == 1

    await wait_until(gone)
    # The review stays for the organization's statistics, anonymised.
    reviews = await body(await c.get(f"{API}/events/{event['id']}/reviews"))
    assert reviews["total"] == 1 and reviews["items"][0]["author"] == {
        "userId": None,
        "name": "Deleted user",
        "avatarUrl": None,
    }
    assert (await body(await c.get(f"{API}/organizations/{club.id}/reviews/statistics")))["total"] == 1

    # A published event is never deleted by itself; its organization's account deletion takes it,
    # and with it its likes and participations.
    await body(await c.post(f"{API}/events/{event['id']}/likes", headers=bob.headers), 201)
    assert (await c.delete(f"/api/events/{event['id']}", headers=club.headers)).status == 409
    assert (await c.delete(f"/api/users/{club.id}", headers=club.headers)).status == 204

    async def event_gone():
        likes = await body(await c.get(f"{API}/events/{event['id']}/likes"))
        participants = await body(await c.get(f"{API}/events/{event['id']}/participants"))
        return likes["total"] == 0 and participants["total"] == 0

    await wait_until(event_gone)
