"""Request bodies of the interactions API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FollowBody(Body):
    followed_id: str = Field(alias="followedId", min_length=1, max_length=100)


class ReviewBody(Body):
    rating: int = Field(ge=1, le=5)
    title: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=5000)


class ReviewEditBody(Body):
    rating: int | None = Field(default=None, ge=1, le=5)
    title: str | None = Field(default=None, min_length=1, max_length=200)
    comment: str | None = Field(default=None, max_length=5000)


class ReplyBody(Body):
    text: str = Field(min_length=1, max_length=2000)
