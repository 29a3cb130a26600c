"""Register, log in, refresh with rotation and reuse detection, log out, throttling."""

import asyncio

from eventonight.hooks.testing import Settings, bearer, wait_until


async def test_full_session_cycle(platform, register):
    p = await platform()
    c = p.client
    registered = await register(c, "alice", name="Alice Moreau")
    assert registered["tokenType"] == "Bearer" and registered["expiresIn"] == 300
    user_id = registered["user"]["id"]
    assert registered["user"]["account"]["email"] == "alice@example.org"
    assert "password" not in str(registered["user"]).lower()

    # Log in by username and by email (case-insensitive).
    for login in ({"username": "alice"}, {"email": "ALICE@example.org"}, {"login": "Alice"}):
        response = await c.post("/api/users/login", json={**login, "password": "correct horse"})
        assert response.status == 200, await response.text()
    pair = await response.json()
    me = await c.get(f"/api/users/{user_id}", headers=bearer(pair["accessToken"]))
    assert (await me.json())["account"]["email"] == "alice@example.org"

    # Refresh rotates: a new pair, and the old refresh token is spent.
    response = await c.post("/api/users/refresh", json={"refreshToken": pair["refreshToken"]})
    assert response.status == 200
    rotated = await response.json()
    assert rotated["refreshToken"] != pair["refreshToken"]
    assert (await c.get(f"/api/users/{user_id}", headers=bearer(rotated["accessToken"]))).status == 200

    # Presenting the spent token again is reuse: the whole session dies, including its newest tokens.
    reuse = await c.post("/api/users/refresh", json={"refreshToken": pair["refreshToken"]})
    assert reuse.status == 401 and "reuse" in (await reuse.json())["message"]
    assert (await c.post("/api/users/refresh", json={"refreshToken": rotated["refreshToken"]})).status == 401
    response = await c.put(
        f"/api/users/{user_id}", json={"profile": {"bio": "x"}}, headers=bearer(rotated["accessToken"])
    )
    assert response.status == 401

    # Other sessions are unaffected; logout ends one.
    other = await (await c.post("/api/users/login", json={"login": "alice", "password": "correct horse"})).json()
    assert (await c.post("/api/users/logout", json={"refreshToken": other["refreshToken"]})).status == 204
    assert (await c.post("/api/users/refresh", json={"refreshToken": other["refreshToken"]})).status == 401
    assert (await c.post("/api/users/logout", json={"refreshToken": "never-issued"})).status == 401


async def test_access_token_carries_role_and_session(platform, register):
    p = await platform()
    org = await register(p.client, "club", role="organization")
    principal = await p.kernel.tokens.verify(org["accessToken"])
    assert principal.role == "organization" and principal.user_id == org["user"]["id"]
    assert principal.claims["sid"]
    jwks = await (await p.client.get("/api/users/public-keys")).json()
    assert jwks == await (await p.client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"])


async def test_registration_rejects_bad_input_and_changes_nothing(platform, register):
    p = await platform()
    c = p.client
    await register(c, "taken", email="taken@example.org")
    base = {"username": "newbie", "email": "newbie@example.org", "password": "long enough", "role": "member"}
    cases = [
        ({"email": "not-an-email"}, 400, "email"),
        ({"password": "short"}, 400, "password"),
        ({"username": "no spaces allowed"}, 400, "username"),
        ({"username": "ab"}, 400, "username"),
        ({"role": "admin"}, 400, "role"),
        ({"username": "TAKEN"}, 409, "username"),
        ({"email": "Taken@Example.org"}, 409, "email"),
    ]
    for change, status, field in cases:
        response = await c.post("/api/users/register", json={**base, **change})
        body = await response.json()
        assert response.status == status, (change, body)
        assert field in {d["field"] for d in body.get("details", [])}, (change, body)
    assert (await c.post("/api/users/register", json={**base, "extra": 1})).status == 400
    assert (
        await c.post("/api/users/register", data="nope", headers={"Content-Type": "application/json"})
    ).status == 400
    # Nothing of the rejected attempts was stored.
    users = p.kernel.read.collection("users_users")
    assert await users.count_documents({}) == 1


async def test_wrong_credentials_are_401(platform, register):
    p = await platform()
    await register(p.client, "bob")
    for body in ({"login": "bob", "password": "wrong password"}, {"login": "nobody", "password": "whatever1"}):
        response = await p.client.post("/api/users/login", json=body)
        assert response.status == 401
        assert (await response.json())["message"] == "wrong username/email or password"
    assert (await p.client.post("/api/users/login", json={"password": "x"})).status == 400


async def test_repeated_failures_are_throttled_until_the_window_passes(platform, settings, register, monkeypatch):
    monkeypatch.setenv("EVENTONIGHT_USERS_LOGIN_WINDOW_SECONDS", "3")
    p = await platform()
    c = p.client
    await register(c, "carla")
    for _ in range(5):
        assert (await c.post("/api/users/login", json={"login": "carla", "password": "wrong password"})).status == 401
    throttled = await c.post("/api/users/login", json={"login": "carla", "password": "correct horse"})
    assert throttled.status == 429
    assert 1 <= int(throttled.headers["Retry-After"]) <= 3
    # Another account is not affected.
    await register(c, "dan")
    assert (await c.post("/api/users/login", json={"login": "dan", "password": "correct horse"})).status == 200

    async def unlocked():
        response = await c.post("/api/users/login", json={"login": "carla", "password": "correct horse"})
        return response.status == 200

    await wait_until(unlocked, timeout=10, interval=0.5)
    # A success resets the count: four new failures do not lock the account.
    for _ in range(4):
        await c.post("/api/users/login", json={"login": "carla", "password": "wrong password"})
    assert (await c.post("/api/users/login", json={"login": "carla", "password": "correct horse"})).status == 200


async def test_concurrent_refreshes_of_one_token_yield_one_winner(platform, register):
    p = await platform()
    pair = await register(p.client, "erin")
    responses = await asyncio.gather(
        *(p.client.post("/api/users/refresh", json={"refreshToken": pair["refreshToken"]}) for _ in range(5))
    )
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) <= 1 and all(s in (200, 401) for s in statuses), statuses


async def test_users_routes_vanish_when_the_plugin_is_removed(platform, settings):
    p = await platform(settings_override=Settings(**{**settings.model_dump(), "disabled_plugins": ["users"]}))
    assert (await p.client.post("/api/users/login", json={"login": "a", "password": "b"})).status == 404
    assert (await p.client.get("/ready")).status == 200
    document = await (await p.client.get("/api/openapi.json")).json()
    assert not any(path.startswith("/api/users") for path in document["paths"])
