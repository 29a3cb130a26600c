"""Request bodies of the users API (validated with pydantic; 400 with field details otherwise)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, field_validator, model_validator

USERNAME_PATTERN = r"^[A-Za-z0-9._-]{3,30}$"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RegisterBody(Body):
    username: str = Field(pattern=USERNAME_PATTERN, description="3-30 letters, digits, '.', '_' or '-'")
    email: EmailStr
    password: str = Field(min_length=8, max_length=256)
    role: Literal["member", "organization"]
    name: str = Field(default="", max_length=100)


class LoginBody(Body):
    login: str | None = Field(default=None, description="username or email")
    username: str | None = None
    email: str | None = None
    password: str = Field(min_length=1, max_length=256)

    @model_validator(mode="after")
    def one_login(self) -> LoginBody:
        given = [v for v in (self.login, self.username, self.email) if v]
        if len(given) != 1:
            raise ValueError("give exactly one of login, username or email")
        self.login = given[0]
        return self


class RefreshBody(Body):
    refresh_token: str = Field(alias="refreshToken", min_length=1, max_length=200)


class AccountUpdate(Body):
    username: str | None = Field(default=None, pattern=USERNAME_PATTERN)
    email: EmailStr | None = None
    dark_mode: bool | None = Field(default=None, alias="darkMode")
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    gender: Literal["female", "male", "non-binary", "other", "prefer-not-to-say"] | None = None
    birth_date: date | None = Field(default=None, alias="birthDate")
    interests: list[str] | None = Field(default=None, max_length=20)

    @field_validator("birth_date")
    @classmethod
    def in_the_past(cls, value: date | None) -> date | None:
        if value is not None and (value >= date.today() or value.year < 1900):
            raise ValueError("birthDate must be a past date after 1900")
        return value


class ProfileUpdate(Body):
    name: str | None = Field(default=None, max_length=100)
    bio: str | None = Field(default=None, max_length=500)
    contacts: list[HttpUrl] | None = Field(default=None, max_length=10)


class UpdateBody(Body):
    account: AccountUpdate | None = None
    profile: ProfileUpdate | None = None


class PasswordBody(Body):
    current_password: str = Field(alias="currentPassword", min_length=1, max_length=256)
    new_password: str = Field(alias="newPassword", min_length=8, max_length=256)
    confirm_password: str = Field(alias="confirmPassword", min_length=1, max_length=256)
