"""Conversations between members and organizations: rules, unread counts, search, privacy."""

import asyncio

from eventonight.hooks.testing import wait_until

KNOWN = ("chat_users",)
API = "/api/chat"


async def body(response, status=200):
    assert response.status == status, await response.text()
    return await response.json()


async def test_conversation_flow_unread_counts_and_reading(platform, account, bus_tap):
    tap = await bus_tap("chat.#")
    p = await platform()
    c = p.client
    alice = await account(p, "alice", known_in=KNOWN)
    club = await account(p, "club", role="organization", known_in=KNOWN)
    start = f"{API}/users/{alice.id}/conversations"

    first = await body(
        await c.post(start, json={"recipientId": club.id, "content": "  Hi! Tickets left?  "}, headers=alice.headers),
        201,
    )
    conversation_id = first["conversationId"]
    assert first["message"]["content"] == "Hi! Tickets left?"
    again = await body(
        await c.post(start, json={"recipientId": club.id, "content": "Hello?"}, headers=alice.headers), 201
    )
    assert again["conversationId"] == conversation_id, "an existing conversation is appended to"

    club_inbox = await body(await c.get(f"{API}/users/{club.id}/conversations", headers=club.headers))
    [entry] = club_inbox["items"]
    assert entry["unreadCount"] == 2 and entry["otherParty"]["userId"] == alice.id
    assert entry["otherParty"]["name"] == "alice" and entry["lastMessage"]["preview"] == "Hello?"
    assert (await body(await c.get(f"{API}/users/{club.id}/unread/count", headers=club.headers)))["unread"] == 2

    # The organization answers in the conversation the member opened.
    reply = f"{API}/users/{club.id}/conversations/{conversation_id}/messages"
    await body(await c.post(reply, json={"content": "Yes, 20 left"}, headers=club.headers), 201)
    messages = await body(await c.get(f"{reply}?limit=2", headers=club.headers))
    assert [m["content"] for m in messages["items"]] == ["Yes, 20 left", "Hello?"]
    assert messages["hasMore"] is True and messages["total"] == 3
    older = await body(await c.get(f"{reply}?limit=2&before={messages['nextBefore']}", headers=club.headers))
    assert [m["content"] for m in older["items"]] == ["Hi! Tickets left?"] and older["hasMore"] is False
    second = await body(await c.get(f"{reply}?limit=1&offset=1", headers=club.headers))
    assert [m["content"] for m in second["items"]] == ["Hello?"] and second["offset"] == 1, "offset pages"
    assert (await c.get(f"{reply}?offset=-1", headers=club.headers)).status == 400
    # Reading is safe: a GET (a prefetch, a second tab) marks nothing read; PATCH …/read does.
    assert (await body(await c.get(f"{API}/users/{club.id}/unread/count", headers=club.headers)))["unread"] == 2
    read = f"{API}/users/{club.id}/conversations/{conversation_id}/read"
    assert (await c.patch(read, headers=club.headers)).status == 204
    assert (await body(await c.get(f"{API}/users/{club.id}/unread/count", headers=club.headers)))["unread"] == 0

    alice_view = await body(
        await c.get(f"{API}/users/{alice.id}/conversations/{conversation_id}", headers=alice.headers)
    )
    assert alice_view["unreadCount"] == 1 and alice_view["otherParty"]["role"] == "organization"
    assert (
        await c.patch(f"{API}/users/{alice.id}/conversations/{conversation_id}/read", headers=alice.headers)
    ).status == 204
    assert (await body(await c.get(f"{API}/users/{alice.id}/unread/count", headers=alice.headers)))["unread"] == 0
    alice_messages = await body(
        await c.get(f"{API}/users/{alice.id}/conversations/{conversation_id}/messages", headers=alice.headers)
    )
    assert all(m["read"] for m in alice_messages["items"])

    between = await body(await c.get(f"{API}/conversations/{club.id}/{alice.id}", headers=alice.headers))
    assert between["id"] == conversation_id
    assert (await body(await c.get(f"{API}/conversations/{club.id}/{alice.id}", headers=club.headers)))[
        "id"
    ] == conversation_id
    # The conversation and its messages in one call, for either party; nobody else.
    both = await body(await c.get(f"{API}/conversations/{club.id}/{alice.id}/messages?limit=2", headers=club.headers))
    assert both["conversation"]["id"] == conversation_id and both["total"] == 3
    assert [m["content"] for m in both["items"]] == ["Yes, 20 left", "Hello?"] and both["hasMore"] is True
    stranger = await account(p, "stranger", known_in=KNOWN)
    assert (await c.get(f"{API}/conversations/{club.id}/{alice.id}/messages", headers=stranger.headers)).status == 404

    created = await tap.wait_for("chat.message.created", count=3)
    assert created[0]["payload"]["senderId"] == alice.id and created[0]["payload"]["recipientId"] == club.id
    assert set(created[0]["payload"]) == {"conversationId", "messageId", "senderId", "recipientId", "preview"}


async def test_who_may_talk_to_whom(platform, account):
    p = await platform()
    c = p.client
    alice = await account(p, "alice", known_in=KNOWN)
    bob = await account(p, "bob", known_in=KNOWN)
    club = await account(p, "club", role="organization", known_in=KNOWN)
    other_club = await account(p, "otherclub", role="organization", known_in=KNOWN)

    def start(user):
        return f"{API}/users/{user.id}/conversations"

    assert (
        await c.post(start(alice), json={"recipientId": bob.id, "content": "hey"}, headers=alice.headers)
    ).status == 403
    assert (
        await c.post(start(club), json={"recipientId": alice.id, "content": "promo!"}, headers=club.headers)
    ).status == 403
    assert (
        await c.post(start(alice), json={"recipientId": "nobody", "content": "hi"}, headers=alice.headers)
    ).status == 404
    assert (
        await c.post(start(alice), json={"recipientId": alice.id, "content": "me"}, headers=alice.headers)
    ).status == 400
    for content in ("   ", "x" * 2001):
        response = await c.post(start(alice), json={"recipientId": club.id, "content": content}, headers=alice.headers)
        assert response.status == 400
    assert (
        await c.post(start(alice), json={"recipientId": club.id, "content": "hi"}, headers=bob.headers)
    ).status == 403
    assert (await c.post(start(alice), json={"recipientId": club.id, "content": "hi"})).status == 401
    await body(
        await c.post(start(club), json={"recipientId": other_club.id, "content": "collab?"}, headers=club.headers), 201
    )
    first = await body(
        await c.post(start(alice), json={"recipientId": club.id, "content": "hi"}, headers=alice.headers), 201
    )
    # After the member wrote first, the organization may write through the start endpoint too.
    await body(await c.post(start(club), json={"recipientId": alice.id, "content": "hello"}, headers=club.headers), 201)

    # Strangers get 404 for a conversation, as if it did not exist.
    conversation = first["conversationId"]
    for path in (
        f"{API}/users/{bob.id}/conversations/{conversation}",
        f"{API}/users/{bob.id}/conversations/{conversation}/messages",
    ):
        assert (await c.get(path, headers=bob.headers)).status == 404
    assert (
        await c.post(
            f"{API}/users/{bob.id}/conversations/{conversation}/messages", json={"content": "x"}, headers=bob.headers
        )
    ).status == 404
    assert (await c.get(f"{API}/users/{alice.id}/conversations/{conversation}", headers=bob.headers)).status == 403
    assert (await c.get(f"{API}/conversations/{club.id}/{alice.id}", headers=bob.headers)).status == 404
    assert (
        await c.get(f"{API}/users/{alice.id}/conversations/{conversation}/messages?before=zzz", headers=alice.headers)
    ).status == 400


async def test_inbox_order_and_search_by_name(platform, account):
    p = await platform()
    c = p.client
    alice = await account(p, "alice", known_in=KNOWN)
    jazz = await account(p, "jazzcellar", role="organization", known_in=KNOWN)
    techno = await account(p, "technobunker", role="organization", known_in=KNOWN)
    start = f"{API}/users/{alice.id}/conversations"
    await body(await c.post(start, json={"recipientId": jazz.id, "content": "one"}, headers=alice.headers), 201)
    await body(await c.post(start, json={"recipientId": techno.id, "content": "two"}, headers=alice.headers), 201)
    inbox = await body(await c.get(start, headers=alice.headers))
    assert [i["otherParty"]["userId"] for i in inbox["items"]] == [techno.id, jazz.id]
    await body(await c.post(start, json={"recipientId": jazz.id, "content": "three"}, headers=alice.headers), 201)
    inbox = await body(await c.get(start, headers=alice.headers))
    assert [i["otherParty"]["userId"] for i in inbox["items"]] == [jazz.id, techno.id], "newest activity first"

    found = await body(await c.get(f"{start}/search?q=JAZZ", headers=alice.headers))
    assert [i["otherParty"]["userId"] for i in found["items"]] == [jazz.id]
    assert (await body(await c.get(f"{start}/search?q=nobody", headers=alice.headers)))["total"] == 0
    assert (await c.get(f"{start}/search", headers=alice.headers)).status == 400
    # Organizations not written to yet are found too, as new contacts.
    jazzbar = await account(p, "jazzbar", role="organization", known_in=KNOWN)
    await account(p, "jazzfan", known_in=KNOWN)  # a member: not someone one may write to first
    found = await body(await c.get(f"{start}/search?q=jazz", headers=alice.headers))
    assert [i["otherParty"]["userId"] for i in found["items"]] == [jazz.id]
    assert [n["userId"] for n in found["newContacts"]] == [jazzbar.id] and found["newContacts"][0]["role"] == (
        "organization"
    )


async def test_unread_counter_exact_under_concurrent_sends(platform, account):
    p = await platform()
    c = p.client
    alice = await account(p, "alice", known_in=KNOWN)
    club = await account(p, "club", role="organization", known_in=KNOWN)
    first = await body(
        await c.post(
            f"{API}/users/{alice.id}/conversations",
            json={"recipientId": club.id, "content": "0"},
            headers=alice.headers,
        ),
        201,
    )
    path = f"{API}/users/{alice.id}/conversations/{first['conversationId']}/messages"
    responses = await asyncio.gather(
        *(c.post(path, json={"content": str(i)}, headers=alice.headers) for i in range(1, 21))
    )
    assert sorted(r.status for r in responses) == [201] * 20
    assert (await body(await c.get(f"{API}/users/{club.id}/unread/count", headers=club.headers)))["unread"] == 21
    messages = await body(
        await c.get(
            f"{API}/users/{club.id}/conversations/{first['conversationId']}/messages?limit=100", headers=club.headers
        )
    )
    assert messages["total"] == 21 and len({m["id"] for m in messages["items"]}) == 21


async def test_deleted_user_keeps_messages_but_shows_as_deleted(platform, account):
    p = await platform()
    c = p.client
    alice = await account(p, "alice", known_in=KNOWN)
    club = await account(p, "club", role="organization", known_in=KNOWN)
    first = await body(
        await c.post(
            f"{API}/users/{alice.id}/conversations",
            json={"recipientId": club.id, "content": "bye"},
            headers=alice.headers,
        ),
        201,
    )
    assert (await c.delete(f"/api/users/{alice.id}", headers=alice.headers)).status == 204

    async def shown_deleted():
        inbox = await body(await c.get(f"{API}/users/{club.id}/conversations", headers=club.headers))
        return inbox["items"][0]["otherParty"]["deleted"]

    await wait_until(shown_deleted)
    path = f"{API}/users/{club.id}/conversations/{first['conversationId']}/messages"
    messages = await body(await c.get(path, headers=club.headers))
    assert [m["content"] for m in messages["items"]] == ["bye"]
    assert (await c.post(path, json={"content": "anyone?"}, headers=club.headers)).status == 400
