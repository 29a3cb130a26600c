"""Request bodies of the interactions API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from eventonight.hooks.http import MAX_OFFSET


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


class Page(Body):
    limit: int = Field(default=20, ge=1, le=100)
    offset: int = Field(default=0, ge=0, le=MAX_OFFSET)


class ReviewsQuery(Page):
    search: str | None = Field(default=None, min_length=1, max_length=100, description="words of title or comment")
    rating: int | None = Field(default=None, ge=1, le=5)
    role: Literal["member", "organization"] | None = Field(default=None, description="the reviewer's role")


class ParticipationsQuery(Page):
    organization: str | None = Field(default=None, max_length=100, description="events it hosts")
    reviewed: bool | None = Field(default=None, description="true: reviewed ones; false: still to review")
    status: str | None = Field(default=None, max_length=60, description="comma-separated event statuses")
    title: str | None = Field(default=None, min_length=1, max_length=100, description="part of the title")
    sort: Literal["date", "since", "title"] = "date"
    order: Literal["asc", "desc"] = "asc"


class ReplyBody(Body):
    text: str = Field(min_length=1, max_length=2000)
