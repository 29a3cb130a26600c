"""MongoDB implementations of the application ports."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from uuid import uuid4

from odmantic.exceptions import DuplicateKeyError as OdmanticDuplicateKeyError
from pymongo.errors import DuplicateKeyError

from eventonight_users.application.ports import RefreshToken
from eventonight_users.domain.accounts import Account, Conflict, Profile, User, search_keys
from eventonight_users.infrastructure.documents import (
    LoginFailureDocument,
    RefreshTokenDocument,
    SessionDocument,
    UserDocument,
)


def to_document(user: User) -> UserDocument:
    a, p = user.account, user.profile
    return UserDocument(
        id=user.id,
        role=user.role,
        username=a.username,
        username_lower=a.username.lower(),
        email=a.email.lower(),
        password_hash=user.password_hash,
        dark_mode=a.dark_mode,
        language=a.language,
        gender=a.gender,
        birth_date=a.birth_date.isoformat() if a.birth_date else None,
        interests=a.interests,
        name=p.name,
        avatar_url=p.avatar_url,
        bio=p.bio,
        contacts=p.contacts,
        search_keys=search_keys(a, p),
        created_at=user.created_at,
        updated_at=user.updated_at,
    )


def to_user(doc: UserDocument) -> User:
    return User(
        id=doc.id,
        role=doc.role,
        account=Account(
            username=doc.username,
            email=doc.email,
            dark_mode=doc.dark_mode,
            language=doc.language,
            gender=doc.gender,
            birth_date=date.fromisoformat(doc.birth_date) if doc.birth_date else None,
            interests=list(doc.interests),
        ),
        profile=Profile(name=doc.name, avatar_url=doc.avatar_url, bio=doc.bio, contacts=list(doc.contacts)),
        password_hash=doc.password_hash,
        created_at=doc.created_at,
        updated_at=doc.updated_at,
    )


def _conflict(exc: Exception) -> Conflict:
    driver_error = getattr(exc, "driver_error", exc)  # odmantic wraps pymongo's error
    details = getattr(driver_error, "details", None) or {}
    pattern = details.get("keyPattern") or {}
    field = "email" if "email" in pattern or "email_unique" in details.get("errmsg", "") else "username"
    return Conflict(f"this {field} is already taken", field)


class MongoUsers:
    def __init__(self, data: Any) -> None:
        self.engine, self.collection = data.engine, data.collection

    async def add(self, user: User) -> None:
        try:
            await self.collection(UserDocument).insert_one(to_document(user).model_dump_doc())
        except DuplicateKeyError as exc:
            raise _conflict(exc) from exc

    async def save(self, user: User) -> None:
        try:
            await self.engine.save(to_document(user))
        except (DuplicateKeyError, OdmanticDuplicateKeyError) as exc:
            raise _conflict(exc) from exc

    async def get(self, user_id: str) -> User | None:
        doc = await self.engine.find_one(UserDocument, UserDocument.id == user_id)
        return to_user(doc) if doc else None

    async def by_login(self, login: str) -> User | None:
        key = login.lower()
        field = UserDocument.email if "@" in key else UserDocument.username_lower
        doc = await self.engine.find_one(UserDocument, field == key)
        return to_user(doc) if doc else None

    async def delete(self, user_id: str) -> bool:
        deleted = await self.engine.remove(UserDocument, UserDocument.id == user_id)
        return deleted > 0

    async def search(self, prefix: str, role: str | None, limit: int, offset: int) -> tuple[list[User], int]:
        query: dict[str, Any] = {}
        if prefix:
            # An anchored, escaped regex on a multikey index: a prefix scan on MongoDB and SecantusDB alike.
            query["search_keys"] = {"$regex": f"^{re.escape(prefix)}"}
        if role:
            query["role"] = role
        collection = self.collection(UserDocument)
        total = await collection.count_documents(query)
        cursor = collection.find(query).sort("username_lower", 1).skip(offset).limit(limit)
        docs = [UserDocument.model_validate_doc(d) async for d in cursor]
        return [to_user(d) for d in docs], total


class MongoSessions:
    def __init__(self, data: Any) -> None:
        self.engine, self.collection = data.engine, data.collection

    async def create(self, user_id: str, now: datetime, expires_at: datetime) -> str:
        doc = SessionDocument(id=uuid4().hex, user_id=user_id, created_at=now, expires_at=expires_at)
        await self.engine.save(doc)
        return doc.id

    async def add_token(self, token_hash: str, session_id: str, user_id: str, role: str, expires_at: datetime) -> None:
        doc = RefreshTokenDocument(
            id=token_hash, session_id=session_id, user_id=user_id, role=role, expires_at=expires_at
        )
        await self.engine.save(doc)

    async def take_token(self, token_hash: str) -> RefreshToken | None:
        # A conditional update_one is the atomic "take": exactly one caller sees modified_count 1.
        # (Not find_one_and_update: SecantusDB scans the collection for it, MongoDB does not.)
        collection = self.collection(RefreshTokenDocument)
        result = await collection.update_one({"_id": token_hash, "active": True}, {"$set": {"active": False}})
        if result.modified_count != 1:
            return None
        raw = await collection.find_one({"_id": token_hash})
        return _token(RefreshTokenDocument.model_validate_doc(raw)) if raw else None

    async def find_token(self, token_hash: str) -> RefreshToken | None:
        doc = await self.engine.find_one(RefreshTokenDocument, RefreshTokenDocument.id == token_hash)
        return _token(doc) if doc else None

    async def revoke(self, session_id: str, now: datetime) -> None:
        await self.collection(SessionDocument).update_one(
            {"_id": session_id, "revoked_at": None}, {"$set": {"revoked_at": now}}
        )
        await self.collection(RefreshTokenDocument).update_many({"session_id": session_id}, {"$set": {"active": False}})

    async def revoke_all(self, user_id: str, now: datetime, keep: str | None = None) -> list[str]:
        query: dict[str, Any] = {"user_id": user_id, "revoked_at": None}
        if keep:
            query["_id"] = {"$ne": keep}
        sessions = self.collection(SessionDocument)
        ids = [d["_id"] async for d in sessions.find(query, {"_id": 1})]
        for session_id in ids:
            await self.revoke(session_id, now)
        return ids

    async def delete_user(self, user_id: str) -> None:
        await self.engine.remove(SessionDocument, SessionDocument.user_id == user_id)
        await self.engine.remove(RefreshTokenDocument, RefreshTokenDocument.user_id == user_id)


def _token(doc: RefreshTokenDocument) -> RefreshToken:
    return RefreshToken(doc.id, doc.session_id, doc.user_id, doc.role, doc.active, doc.expires_at)


class MongoLoginFailures:
    def __init__(self, data: Any) -> None:
        self.engine, self.collection = data.engine, data.collection

    async def recent(self, user_id: str, client: str) -> list[datetime]:
        key = f"{user_id}|{client}"
        doc = await self.engine.find_one(LoginFailureDocument, LoginFailureDocument.id == key)
        return list(doc.failures) if doc else []

    async def add(self, user_id: str, client: str, at: datetime, keep_after: datetime) -> None:
        collection, key = self.collection(LoginFailureDocument), f"{user_id}|{client}"
        await collection.update_one({"_id": key}, {"$pull": {"failures": {"$lte": keep_after}}})
        await collection.update_one(
            {"_id": key}, {"$push": {"failures": at}, "$set": {"user_id": user_id}}, upsert=True
        )

    async def clear(self, user_id: str, client: str | None = None) -> None:
        if client is not None:
            await self.engine.remove(LoginFailureDocument, LoginFailureDocument.id == f"{user_id}|{client}")
        else:
            await self.engine.remove(LoginFailureDocument, LoginFailureDocument.user_id == user_id)
