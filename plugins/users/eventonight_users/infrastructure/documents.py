"""odmantic documents of the users plugin (collections prefixed ``users_``)."""

from __future__ import annotations

from datetime import datetime

from odmantic import Field, Index, Model


class UserDocument(Model):
    model_config = {
        "collection": "users_users",
        "indexes": lambda: [
            Index(UserDocument.username_lower, unique=True, name="username_unique"),
            Index(UserDocument.email, unique=True, name="email_unique"),
            Index(UserDocument.search_keys, UserDocument.username_lower, name="search"),
        ],
    }

    id: str = Field(primary_field=True)
    role: str
    username: str
    username_lower: str
    email: str
    password_hash: str
    dark_mode: bool = False
    language: str = "en"
    gender: str | None = None
    birth_date: str | None = None  # ISO date: BSON has no date-only type
    interests: list[str] = []
    name: str = ""
    avatar_url: str | None = None
    bio: str = ""
    contacts: list[str] = []
    search_keys: list[str] = []
    created_at: datetime
    updated_at: datetime


class SessionDocument(Model):
    model_config = {
        "collection": "users_sessions",
        "indexes": lambda: [Index(SessionDocument.user_id, name="by_user")],
    }

    id: str = Field(primary_field=True)
    user_id: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class RefreshTokenDocument(Model):
    model_config = {
        "collection": "users_refresh_tokens",
        "indexes": lambda: [
            Index(RefreshTokenDocument.session_id, name="by_session"),
            Index(RefreshTokenDocument.user_id, name="by_user"),
        ],
    }

    id: str = Field(primary_field=True)  # sha256 of the token
    session_id: str
    user_id: str
    role: str
    active: bool = True
    expires_at: datetime


class LoginFailureDocument(Model):
    model_config = {"collection": "users_login_failures"}

    id: str = Field(primary_field=True)  # "<user id>|<client>"
    user_id: str = Field(default="", index=True)
    failures: list[datetime] = []


MODELS = [UserDocument, SessionDocument, RefreshTokenDocument, LoginFailureDocument]
