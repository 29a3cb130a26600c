"""The badges example's tests use the kernel's fixtures (``pytest_plugins = ["eventonight.hooks.testing"]``
in the repository's root conftest; a plugin in its own repository puts that line in its own conftest.py)."""

import pytest


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch):
    """The users plugin hashes with argon2id; small parameters keep registration quick in tests."""
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("EVENTONIGHT_USERS_ARGON2_PARALLELISM", "1")
