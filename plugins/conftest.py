"""Fixtures shared by the plugins' tests in this repository."""

import pytest

from eventonight.hooks.testing import bearer, wait_until


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Real argon2id, with small parameters so a test suite can hash hundreds of passwords."""
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_PARALLELISM", "1")


class Account:
    def __init__(self, body):
        self.id = body["user"]["id"]
        self.token = body["accessToken"]
        self.refresh_token = body["refreshToken"]
        self.headers = bearer(self.token)


@pytest.fixture
def account():
    """``await account(p, "club", role="organization", known_in=("events_users",))``.

    Registers through the users API, then waits until the user.created domain event
    reached the local copies named in ``known_in`` (outbox -> broker -> consumer).
    """

    async def make(p, username, role="member", known_in=("events_users",)):
        response = await p.client.post(
            "/api/users/register",
            json={"username": username, "email": f"{username}@example.org", "password": "password1", "role": role},
        )
        assert response.status == 201, await response.text()
        acc = Account(await response.json())
        for collection in known_in:

            async def known(collection=collection):
                return await p.kernel.read.collection(collection).find_one({"_id": acc.id})

            await wait_until(known)
        return acc

    return make
