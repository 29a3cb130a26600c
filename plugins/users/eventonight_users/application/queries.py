"""Read-side use cases: one user, search."""

from __future__ import annotations

from eventonight_users.application.ports import Repos, Transaction
from eventonight_users.domain.accounts import ROLES, DomainError, NotFound, User

MAX_SEARCH_LIMIT = 20


class UserQueries:
    def __init__(self, read: Transaction) -> None:
        self.read = read  # no transaction: a plain read is enough and cheaper

    async def get(self, user_id: str) -> User:
        user = await self.read(lambda repos: repos.users.get(user_id))
        if user is None:
            raise NotFound("user not found")
        return user

    async def search(self, prefix: str, role: str | None, limit: int, offset: int) -> tuple[list[User], int]:
        if role is not None and role not in ROLES:
            raise DomainError("role must be 'member' or 'organization'", "role")
        if not 1 <= limit <= MAX_SEARCH_LIMIT:
            raise DomainError(f"limit must be between 1 and {MAX_SEARCH_LIMIT}", "limit")

        async def work(repos: Repos):
            return await repos.users.search(prefix.strip().lower(), role, limit, offset)

        return await self.read(work)
