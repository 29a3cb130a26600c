import pytest


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """Real argon2id, with small parameters so a test suite can hash hundreds of passwords."""
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_PARALLELISM", "1")


@pytest.fixture
def register():
    """``await register(client, "alice", role=...)`` -> the registration response body."""

    async def make(client, username, *, role="member", password="correct horse", name="", email=None):
        response = await client.post(
            "/api/users/register",
            json={
                "username": username,
                "email": email or f"{username}@example.org",
                "password": password,
                "role": role,
                "name": name,
            },
        )
        assert response.status == 201, await response.text()
        return await response.json()

    return make
