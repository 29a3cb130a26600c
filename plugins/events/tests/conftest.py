import pytest

from eventonight.kernel.testing import bearer, wait_until


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_PARALLELISM", "1")


class Account:
    def __init__(self, body):
        self.id = body["user"]["id"]
        self.token = body["accessToken"]
        self.headers = bearer(self.token)


@pytest.fixture
def account():
    """``await account(p, "club", role="organization")``: registered through the users API and known to events."""

    async def make(p, username, role="member"):
        response = await p.client.post(
            "/api/users/register",
            json={"username": username, "email": f"{username}@example.org", "password": "password1", "role": role},
        )
        assert response.status == 201, await response.text()
        acc = Account(await response.json())

        async def known():
            return await p.kernel.database.db["events_users"].find_one({"_id": acc.id})

        await wait_until(known)  # user.created travelled outbox -> broker -> events consumer
        return acc

    return make
