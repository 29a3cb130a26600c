"""Builds the use cases on top of the kernel: transactions, repositories, hashing, tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from eventonight.hooks import Rate, RateLimiter
from eventonight_users.application.accounts import AccountService
from eventonight_users.application.ports import Repos
from eventonight_users.application.queries import UserQueries
from eventonight_users.domain.throttling import ThrottlePolicy
from eventonight_users.infrastructure.passwords import Argon2Hasher
from eventonight_users.infrastructure.repositories import MongoLoginFailures, MongoSessions, MongoUsers


class UsersSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_USERS_", extra="ignore")

    refresh_token_ttl_days: float = Field(default=30, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_window_seconds: float = Field(default=15 * 60, gt=0)
    # Per client address (see the kernel's trusted_proxy_hops), as "count/seconds": attempts beyond
    # these get 429 with Retry-After. Registrations and logins each cost an argon2 hash.
    login_rate_per_client: str = "10/60"
    register_rate_per_client: str = "5/600"
    refresh_rate_per_client: str = "30/60"
    # argon2id parameters (RFC 9106 "second recommended" option by default)
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=64 * 1024, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    @field_validator("login_rate_per_client", "register_rate_per_client", "refresh_rate_per_client")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        Rate.parse(value)
        return value


class ClientLimits:
    """Per-client-address limits of the unauthenticated, expensive endpoints."""

    def __init__(self, settings: UsersSettings) -> None:
        self.login = RateLimiter(Rate.parse(settings.login_rate_per_client))
        self.register = RateLimiter(Rate.parse(settings.register_rate_per_client))
        self.refresh = RateLimiter(Rate.parse(settings.refresh_rate_per_client))


class KernelTokens:
    """The kernel's signing service, seen through the users plugin's port."""

    def __init__(self, kernel: Any) -> None:
        self.kernel = kernel

    @property
    def access_ttl_seconds(self) -> int:
        return self.kernel.tokens.access_ttl_seconds

    def issue_access(self, user_id: str, role: str, session_id: str) -> str:
        return self.kernel.tokens.issue_access_token(user_id, role, {"sid": session_id})

    async def revoke(self, *, session: str | None = None, subject: str | None = None) -> None:
        await self.kernel.revocations.revoke(session=session, subject=subject)


def _repos(data: Any) -> Repos:
    """The repositories over a data handle: a unit of work, or ``kernel.read`` (whose ``record`` refuses)."""
    return Repos(users=MongoUsers(data), sessions=MongoSessions(data), failures=MongoLoginFailures(data), events=data)


def _tag_catalogue(kernel: Any):
    """The events plugin's tag catalogue when it is installed (its hook), else none: interests are free."""

    def catalogue() -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for result in kernel.hooks.call_robust("events_tag_catalogue"):
            for category, tags in (result.value or {}).items():
                merged[category] = merged.get(category, []) + list(tags)
        return merged

    return catalogue


class Users:
    """The plugin's services, built once the kernel has started."""

    def __init__(self, kernel: Any, settings: UsersSettings) -> None:
        runner, reader = kernel.runners(_repos)

        async def transaction(work):
            return await runner(lambda repos, _: work(repos))

        async def direct(work):
            return await reader(lambda repos, _: work(repos))

        self.settings = settings
        self.hasher = Argon2Hasher(settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism)
        self.accounts = AccountService(
            transaction,
            direct,
            self.hasher,
            KernelTokens(kernel),
            _tag_catalogue(kernel),
            refresh_ttl=timedelta(days=settings.refresh_token_ttl_days),
            throttle=ThrottlePolicy(settings.login_max_failures, timedelta(seconds=settings.login_window_seconds)),
            audit=kernel.audit,
        )
        self.queries = UserQueries(direct)
        self.limits = ClientLimits(settings)

    def within(self, uow: Any):
        """A transaction runner for work inside a unit of work someone else opened."""

        async def run(work):
            return await work(_repos(uow))

        return run
