"""Abuse limits (issue 14): an attacker slows himself down, never his victim; 429 with Retry-After."""

import time

import pytest

from eventonight.hooks import Rate, RateLimiter, TooManyRequests

ATTACKER, OWNER = "203.0.113.9", "198.51.100.7"


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


@pytest.fixture
def default_limits(monkeypatch):
    """The documented defaults (the suite's conftest relaxes them for every other test)."""
    for name in ("LOGIN", "REGISTER", "REFRESH"):
        monkeypatch.delenv(f"EVENTONIGHT_USERS_{name}_RATE_PER_CLIENT", raising=False)


async def _behind_a_proxy(platform, settings):
    return await platform(settings_override=settings.model_copy(update={"trusted_proxy_hops": 1}))


async def test_wrong_passwords_lock_the_guessing_client_out_not_the_owner(platform, settings, register):
    p = await _behind_a_proxy(platform, settings)
    await register(p.client, "victim", password="correct horse")
    guess = {"login": "victim", "password": "not the password"}
    for _ in range(5):
        assert (await p.client.post("/api/users/login", json=guess, headers=_from(ATTACKER))).status == 401
    right = {"login": "victim", "password": "correct horse"}
    locked = await p.client.post("/api/users/login", json=right, headers=_from(ATTACKER))
    assert locked.status == 429 and int(locked.headers["Retry-After"]) >= 1
    assert "Retry-After" in locked.headers and (await locked.json())["statusCode"] == 429
    # A forged entry left of what our proxy saw does not give the attacker a fresh address.
    forged = await p.client.post("/api/users/login", json=right, headers={"X-Forwarded-For": f"10.9.8.7, {ATTACKER}"})
    assert forged.status == 429
    # The owner, from their own address, is not locked out.
    owner = await p.client.post("/api/users/login", json=right, headers=_from(OWNER))
    assert owner.status == 200, await owner.text()


async def test_one_client_trying_many_usernames_is_throttled_others_are_not(
    default_limits, platform, settings, register
):
    p = await _behind_a_proxy(platform, settings)
    await register(p.client, "someone", password="correct horse")
    statuses = []
    for i in range(30):
        response = await p.client.post(
            "/api/users/login", json={"login": f"user{i}", "password": "guess guess"}, headers=_from(ATTACKER)
        )
        statuses.append(response.status)
        if response.status == 429:
            assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429] * 20, statuses
    ok = await p.client.post(
        "/api/users/login", json={"login": "someone", "password": "correct horse"}, headers=_from(OWNER)
    )
    assert ok.status == 200


async def test_bogus_refreshes_from_one_client_are_throttled(default_limits, platform, settings):
    p = await _behind_a_proxy(platform, settings)
    started = time.monotonic()
    statuses = [
        (await p.client.post("/api/users/refresh", json={"refreshToken": f"bogus{i}"}, headers=_from(ATTACKER))).status
        for i in range(40)
    ]
    # 30 at once, refilled at 30 a minute: a slow machine's 40 requests earn some back while they run.
    refilled = int((time.monotonic() - started) * 30 / 60)
    assert statuses[:30] == [401] * 30, statuses
    assert statuses[30:].count(429) >= max(1, 10 - refilled), (statuses, refilled)
    other = await p.client.post("/api/users/refresh", json={"refreshToken": "bogus"}, headers=_from(OWNER))
    assert other.status == 401


async def test_registrations_from_one_client_are_throttled_and_the_refused_one_stores_nothing(
    default_limits, platform, settings
):
    p = await _behind_a_proxy(platform, settings)

    def body(i):
        return {"username": f"signup{i}", "email": f"s{i}@example.org", "password": "correct horse", "role": "member"}

    statuses = [
        (await p.client.post("/api/users/register", json=body(i), headers=_from(ATTACKER))).status for i in range(6)
    ]
    assert statuses == [201] * 5 + [429], statuses
    assert await p.kernel.read.collection("users_users").count_documents({"account.username": "signup5"}) == 0
    assert (await p.client.post("/api/users/register", json=body(6), headers=_from(OWNER))).status == 201


async def test_without_trusted_proxies_the_header_is_ignored(default_limits, platform):
    p = await platform()
    for i in range(10):
        await p.client.post("/api/users/login", json={"login": f"u{i}", "password": "guess guess"})
    # Claiming another address in the header does not reset the limit of the socket's address.
    response = await p.client.post(
        "/api/users/login", json={"login": "u", "password": "guess guess"}, headers=_from(OWNER)
    )
    assert response.status == 429


def test_a_bucket_refills_at_its_rate_and_the_limiter_forgets_the_oldest_keys():
    now = [0.0]
    limiter = RateLimiter(Rate.parse("2/10"), max_keys=3, clock=lambda: now[0])
    limiter.take("a")
    limiter.take("a")
    with pytest.raises(TooManyRequests) as refused:
        limiter.take("a")
    assert refused.value.retry_after_seconds == 5
    now[0] = 5.0
    limiter.take("a")  # one token back after count/seconds
    assert limiter.retry_after("a") == 5
    for key in ("b", "c", "d"):
        limiter.take(key)
    assert len(limiter._buckets) == 3 and "a" not in limiter._buckets
    for bad in ("0/10", "10/0", "ten per minute", "5"):
        with pytest.raises(ValueError):
            Rate.parse(bad)
