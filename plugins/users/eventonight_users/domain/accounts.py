"""Users: the account and profile entity and the rules it obeys (no framework imports)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from eventonight.hooks.errors import (  # noqa: F401 - re-exported for the plugin
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)

ROLES = ("member", "organization")
USERNAME = re.compile(r"^[A-Za-z0-9._-]{3,30}$")
PASSWORD_MIN, PASSWORD_MAX = 8, 256
GENDERS = ("female", "male", "non-binary", "other", "prefer-not-to-say")
MAX_INTERESTS = 20
MAX_FREE_INTEREST_LENGTH = 40


class Unauthorized(Unauthenticated):
    """Credentials or refresh token are wrong."""


class Throttled(TooManyRequests):
    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after_seconds} s", retry_after_seconds)


@dataclass
class Account:
    username: str
    email: str
    dark_mode: bool = False
    language: str = "en"
    gender: str | None = None
    birth_date: date | None = None
    interests: list[str] = field(default_factory=list)


@dataclass
class Profile:
    name: str = ""
    avatar_url: str | None = None
    bio: str = ""
    contacts: list[str] = field(default_factory=list)


@dataclass
class User:
    id: str
    role: str
    account: Account
    profile: Profile
    password_hash: str
    created_at: datetime
    updated_at: datetime

    def public_view(self) -> dict:
        return {
            "id": self.id,
            "role": self.role,
            "account": {"username": self.account.username},
            "profile": profile_view(self.profile),
            "createdAt": self.created_at,
        }

    def owner_view(self) -> dict:
        a = self.account
        return {
            "id": self.id,
            "role": self.role,
            "account": {
                "username": a.username,
                "email": a.email,
                "darkMode": a.dark_mode,
                "language": a.language,
                "gender": a.gender,
                "birthDate": a.birth_date.isoformat() if a.birth_date else None,
                "interests": list(a.interests),
            },
            "profile": profile_view(self.profile),
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
        }

    def public_fields(self) -> dict:
        """What other plugins copy: the payload of user.created / user.updated."""
        return {
            "userId": self.id,
            "role": self.role,
            "username": self.account.username,
            "name": self.profile.name or self.account.username,
            "avatarUrl": self.profile.avatar_url,
        }


def profile_view(profile: Profile) -> dict:
    return {
        "name": profile.name,
        "avatarUrl": profile.avatar_url,
        "bio": profile.bio,
        "contacts": list(profile.contacts),
    }


def check_username(username: str) -> str:
    if not USERNAME.match(username):
        raise DomainError("username must be 3-30 letters, digits, '.', '_' or '-'", "username")
    return username


def check_password(password: str, field_name: str = "password") -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise DomainError(f"password must be {PASSWORD_MIN}-{PASSWORD_MAX} characters", field_name)
    return password


def check_interests(interests: list[str], catalogue: dict[str, list[str]]) -> list[str]:
    """Interests are catalogue tags when a catalogue exists, short free strings otherwise."""
    cleaned = list(dict.fromkeys(i.strip() for i in interests if i.strip()))
    if len(cleaned) > MAX_INTERESTS:
        raise DomainError(f"at most {MAX_INTERESTS} interests", "interests")
    known = {tag for tags in catalogue.values() for tag in tags}
    if known:
        unknown = [i for i in cleaned if i not in known]
        if unknown:
            raise DomainError(f"unknown interest tag(s): {', '.join(unknown)}", "interests")
    elif any(len(i) > MAX_FREE_INTEREST_LENGTH for i in cleaned):
        raise DomainError(f"interests are at most {MAX_FREE_INTEREST_LENGTH} characters", "interests")
    return cleaned


def search_keys(user_account: Account, profile: Profile) -> list[str]:
    """Lower-case words a prefix search matches: the username and each word of the name."""
    words = [user_account.username.lower(), *(w.lower() for w in profile.name.split())]
    if profile.name:
        words.append(profile.name.lower())
    return list(dict.fromkeys(words))
