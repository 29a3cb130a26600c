import pytest


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
