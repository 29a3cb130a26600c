"""What the use cases need from the outside world (implemented in infrastructure/)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from eventonight_users.domain.accounts import User

T = TypeVar("T")


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises ``Conflict`` naming ``username`` or ``email`` when taken."""

    async def save(self, user: User) -> None:
        """Replace; raises ``Conflict`` naming ``username`` or ``email`` when taken."""

    async def get(self, user_id: str) -> User | None: ...

    async def by_login(self, login: str) -> User | None:
        """By username or email, case-insensitively."""

    async def delete(self, user_id: str) -> bool: ...

    async def search(self, prefix: str, role: str | None, limit: int, offset: int) -> tuple[list[User], int]: ...


@dataclass
class RefreshToken:
    token_hash: str
    session_id: str
    user_id: str
    role: str
    active: bool
    expires_at: datetime


class SessionRepository(Protocol):
    async def create(self, user_id: str, now: datetime, expires_at: datetime) -> str: ...

    async def add_token(
        self, token_hash: str, session_id: str, user_id: str, role: str, expires_at: datetime
    ) -> None: ...

    async def take_token(self, token_hash: str) -> RefreshToken | None:
        """Mark an active token rotated and return it; None if it is not active."""

    async def find_token(self, token_hash: str) -> RefreshToken | None: ...

    async def revoke(self, session_id: str, now: datetime) -> None: ...

    async def revoke_all(self, user_id: str, now: datetime, keep: str | None = None) -> list[str]: ...

    async def delete_user(self, user_id: str) -> None: ...


class LoginFailures(Protocol):
    """Failed logins per account *and client*: one client's failures never lock another out."""

    async def recent(self, user_id: str, client: str) -> list[datetime]: ...

    async def add(self, user_id: str, client: str, at: datetime, keep_after: datetime) -> None: ...

    async def clear(self, user_id: str, client: str | None = None) -> None:
        """Forget the failures of one client on the account, or of every client (``None``)."""


class AuditLog(Protocol):
    """The platform's audit trail of security events (never a secret in ``details``)."""

    async def record(self, kind: str, *, user_id: str | None = None, **details: Any) -> None: ...


class EventRecorder(Protocol):
    async def record(self, event_type: str, payload: dict[str, Any]) -> None: ...


@dataclass
class Repos:
    users: UserRepository
    sessions: SessionRepository
    failures: LoginFailures
    events: EventRecorder


#: Runs ``work(repos)`` in one transaction, re-running it on transient conflicts.
Transaction = Callable[[Callable[[Repos], Awaitable[T]]], Awaitable[T]]


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...

    async def verify(self, password_hash: str, password: str) -> bool: ...


class TokenIssuer(Protocol):
    access_ttl_seconds: int

    def issue_access(self, user_id: str, role: str, session_id: str) -> str: ...

    async def revoke(self, *, session: str | None = None, subject: str | None = None) -> None: ...


class TagCatalogue(Protocol):
    def __call__(self) -> dict[str, list[str]]: ...
