"""Use cases that change accounts: register, log in, refresh, log out, update, delete."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import uuid4

from eventonight_users.application.ports import (
    AuditLog,
    PasswordHasher,
    Repos,
    TagCatalogue,
    TokenIssuer,
    Transaction,
)
from eventonight_users.domain import events
from eventonight_users.domain.accounts import (
    ROLES,
    Account,
    DomainError,
    NotFound,
    Profile,
    Throttled,
    Unauthorized,
    User,
    check_interests,
    check_password,
    check_username,
)
from eventonight_users.domain.throttling import ThrottlePolicy

# Verified against when the login names no account, so both paths cost one argon2 verify.
_DUMMY_PASSWORD = "not-a-password-" + secrets.token_hex(8)


def hash_refresh_token(token: str) -> str:
    # Refresh tokens are 256 random bits: a fast hash is enough to make a stolen database useless.
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    session_id: str
    user: User | None = None  # absent on refresh, which touches no user data

    def view(self) -> dict[str, Any]:
        view = {
            "accessToken": self.access_token,
            "refreshToken": self.refresh_token,
            "tokenType": "Bearer",
            "expiresIn": self.expires_in,
        }
        if self.user is not None:
            view["user"] = self.user.owner_view()
        return view


@dataclass
class AccountChanges:
    """A partial update; ``None`` means "leave as is" (use ``clear`` to empty an optional field)."""

    username: str | None = None
    email: str | None = None
    dark_mode: bool | None = None
    language: str | None = None
    gender: str | None = None
    birth_date: date | None = None
    interests: list[str] | None = None
    name: str | None = None
    bio: str | None = None
    contacts: list[str] | None = None
    clear: frozenset[str] = frozenset()


class AccountService:
    def __init__(
        self,
        transaction: Transaction,
        direct: Transaction,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        tag_catalogue: TagCatalogue,
        *,
        refresh_ttl: timedelta,
        throttle: ThrottlePolicy,
        audit: AuditLog,
    ) -> None:
        self.transaction = transaction
        # Single-document operations that need no transaction (reads, refresh-token rotation).
        self.direct = direct
        self.hasher = hasher
        self.tokens = tokens
        self.tag_catalogue = tag_catalogue
        self.refresh_ttl = refresh_ttl
        self.throttle = throttle
        self.audit = audit
        self._dummy_hash: str | None = None

    # -- sessions ----------------------------------------------------------
    async def _open_session(self, repos: Repos, user: User) -> TokenPair:
        now = _now()
        session_id = await repos.sessions.create(user.id, now, now + self.refresh_ttl)
        refresh = secrets.token_urlsafe(32)
        await repos.sessions.add_token(
            hash_refresh_token(refresh), session_id, user.id, user.role, now + self.refresh_ttl
        )
        access = self.tokens.issue_access(user.id, user.role, session_id)
        return TokenPair(access, refresh, self.tokens.access_ttl_seconds, session_id, user)

    async def register(self, *, username: str, email: str, password: str, role: str, name: str = "") -> TokenPair:
        check_username(username)
        check_password(password)
        if role not in ROLES:
            raise DomainError("role must be 'member' or 'organization'", "role")
        password_hash = await self.hasher.hash(password)
        now = _now()
        user = User(
            id=uuid4().hex,
            role=role,
            account=Account(username=username, email=email.lower()),
            profile=Profile(name=name.strip()),
            password_hash=password_hash,
            created_at=now,
            updated_at=now,
        )

        async def work(repos: Repos) -> TokenPair:
            await repos.users.add(user)
            await repos.events.record(events.USER_CREATED, user.public_fields())
            return await self._open_session(repos, user)

        pair = await self.transaction(work)
        await self.audit.record("user.registered", user_id=user.id, role=role)
        return pair

    async def login(self, login: str, password: str, client: str = "") -> TokenPair:
        """Log in; ``client`` identifies the caller (its address).

        Failures lock the account for that client only, so a stranger guessing passwords
        slows himself down and never locks the owner out."""
        # The lockout key: which client failed, without keeping its address with the account.
        client = hashlib.sha256(client.encode()).hexdigest()[:24]

        async def find(repos: Repos):
            user = await repos.users.by_login(login.strip())
            failures = await repos.failures.recent(user.id, client) if user else []
            return user, failures

        user, failures = await self.direct(find)
        if user is None:
            await self._verify_dummy(password)
            await self.audit.record("login.failed", reason="unknown login", login=login)
            raise Unauthorized("wrong username/email or password")
        now = _now()
        retry_after = self.throttle.retry_after(failures, now)
        if retry_after is not None:
            await self.audit.record("login.locked", user_id=user.id, retry_after=retry_after)
            raise Throttled(retry_after)
        if not await self.hasher.verify(user.password_hash, password):

            async def fail(repos: Repos) -> None:
                await repos.failures.add(user.id, client, now, now - self.throttle.window)

            await self.transaction(fail)
            await self.audit.record("login.failed", user_id=user.id, reason="wrong password")
            raise Unauthorized("wrong username/email or password")

        async def succeed(repos: Repos) -> TokenPair:
            await repos.failures.clear(user.id, client)
            return await self._open_session(repos, user)

        pair = await self.transaction(succeed)
        await self.audit.record("login.succeeded", user_id=user.id, session=pair.session_id)
        return pair

    async def _verify_dummy(self, password: str) -> None:
        if self._dummy_hash is None:
            self._dummy_hash = await self.hasher.hash(_DUMMY_PASSWORD)
        await self.hasher.verify(self._dummy_hash, password)

    async def refresh(self, refresh_token: str) -> TokenPair:
        token_hash = hash_refresh_token(refresh_token)

        async def work(repos: Repos) -> TokenPair | Any:
            now = _now()
            token = await repos.sessions.take_token(token_hash)
            if token is None:
                known = await repos.sessions.find_token(token_hash)
                if known is None:
                    raise Unauthorized("invalid refresh token")
                # Presented again after rotation: someone else may hold it. End the whole session.
                await repos.sessions.revoke(known.session_id, now)
                return known
            # Revoking a session or deleting a user deactivates or deletes its tokens, so an
            # active, unexpired token is all the proof needed: no session or user lookup.
            if token.expires_at <= now:
                raise Unauthorized("refresh token expired")
            refresh = secrets.token_urlsafe(32)
            await repos.sessions.add_token(
                hash_refresh_token(refresh), token.session_id, token.user_id, token.role, token.expires_at
            )
            access = self.tokens.issue_access(token.user_id, token.role, token.session_id)
            return TokenPair(access, refresh, self.tokens.access_ttl_seconds, token.session_id)

        # No transaction: taking the old token is one atomic document update and nothing
        # else must commit with it (a crash before the insert only ends the session).
        result = await self.direct(work)
        if not isinstance(result, TokenPair):
            await self.tokens.revoke(session=result.session_id)
            await self.audit.record("token.reuse_detected", user_id=result.user_id, session=result.session_id)
            raise Unauthorized("refresh token reuse detected; the session has been revoked")
        return result

    async def logout(self, refresh_token: str) -> None:
        token_hash = hash_refresh_token(refresh_token)

        async def work(repos: Repos):
            token = await repos.sessions.find_token(token_hash)
            if token is None:
                raise Unauthorized("invalid refresh token")
            await repos.sessions.revoke(token.session_id, _now())
            return token

        token = await self.transaction(work)
        await self.tokens.revoke(session=token.session_id)
        await self.audit.record("logout", user_id=token.user_id, session=token.session_id)

    # -- account -------------------------------------------------------------
    async def update(self, user_id: str, changes: AccountChanges) -> User:
        if changes.username is not None:
            check_username(changes.username)
        interests = None
        if changes.interests is not None:
            interests = check_interests(changes.interests, self.tag_catalogue())

        async def work(repos: Repos) -> User:
            user = await repos.users.get(user_id)
            if user is None:
                raise NotFound("user not found")
            before = user.public_fields()
            account, profile = user.account, user.profile
            account = replace(
                account,
                username=changes.username if changes.username is not None else account.username,
                email=changes.email.lower() if changes.email is not None else account.email,
                dark_mode=changes.dark_mode if changes.dark_mode is not None else account.dark_mode,
                language=changes.language if changes.language is not None else account.language,
                gender=None if "gender" in changes.clear else (changes.gender or account.gender),
                birth_date=None if "birthDate" in changes.clear else (changes.birth_date or account.birth_date),
                interests=interests if interests is not None else account.interests,
            )
            profile = replace(
                profile,
                name=changes.name.strip() if changes.name is not None else profile.name,
                bio=changes.bio if changes.bio is not None else profile.bio,
                contacts=changes.contacts if changes.contacts is not None else profile.contacts,
            )
            updated = replace(user, account=account, profile=profile, updated_at=_now())
            await repos.users.save(updated)
            if updated.public_fields() != before:
                await repos.events.record(events.USER_UPDATED, updated.public_fields())
            if updated.account.interests != user.account.interests:
                await repos.events.record(
                    events.USER_INTERESTS_UPDATED, {"userId": user.id, "interests": updated.account.interests}
                )
            return updated

        return await self.transaction(work)

    async def set_avatar(self, user_id: str, avatar_url: str | None, *, within: Transaction | None = None) -> User:
        """``within``: run in a transaction the caller already holds (a bus consumer's)."""

        async def work(repos: Repos) -> User:
            user = await repos.users.get(user_id)
            if user is None:
                raise NotFound("user not found")
            if user.profile.avatar_url == avatar_url:
                return user  # already so (the avatar endpoint and the media event both say it)
            updated = replace(user, profile=replace(user.profile, avatar_url=avatar_url), updated_at=_now())
            await repos.users.save(updated)
            await repos.events.record(events.USER_UPDATED, updated.public_fields())
            return updated

        return await (within or self.transaction)(work)

    async def change_password(self, user_id: str, current: str, new: str, confirm: str, session_id: str | None) -> None:
        check_password(new, "newPassword")
        if new != confirm:
            raise DomainError("newPassword and confirmPassword differ", "confirmPassword")
        user = await self.direct(lambda repos: repos.users.get(user_id))
        if user is None:
            raise NotFound("user not found")
        if not await self.hasher.verify(user.password_hash, current):
            await self.audit.record("password.change_failed", user_id=user_id, reason="wrong current password")
            raise Unauthorized("current password is incorrect")
        new_hash = await self.hasher.hash(new)

        async def work(repos: Repos) -> list[str]:
            fresh = await repos.users.get(user_id)
            await repos.users.save(replace(fresh, password_hash=new_hash, updated_at=_now()))
            return await repos.sessions.revoke_all(user_id, _now(), keep=session_id)

        revoked_sessions = await self.transaction(work)
        for revoked in revoked_sessions:
            await self.tokens.revoke(session=revoked)
        await self.audit.record("password.changed", user_id=user_id, sessions_revoked=len(revoked_sessions))

    async def delete(self, user_id: str) -> None:
        async def work(repos: Repos) -> None:
            if not await repos.users.delete(user_id):
                raise NotFound("user not found")
            await repos.sessions.delete_user(user_id)
            await repos.failures.clear(user_id)
            await repos.events.record(events.USER_DELETED, {"userId": user_id})

        await self.transaction(work)
        await self.tokens.revoke(subject=user_id)
        await self.audit.record("user.deleted", user_id=user_id)
