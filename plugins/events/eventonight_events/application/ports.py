"""What the events use cases need from outside (implemented in infrastructure/)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from eventonight_events.domain.model import Event

T = TypeVar("T")


@dataclass
class EventFilter:
    statuses: tuple[str, ...]
    text: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    all_tags: bool = False
    date_from: datetime | None = None
    date_to: datetime | None = None
    upcoming: bool = False  # from the moment of the query on (the repository reads the clock)
    organization: str | None = None
    city: str | None = None  # the location's city, whole (case and accents ignored)
    venue: str | None = None  # the location's name, whole
    near: tuple[float, float, float] | None = None  # lat, lon, radius km
    min_price: float | None = None
    max_price: float | None = None
    member: str | None = None  # only events this user creates or co-hosts
    ids: list[str] | None = None
    creators: list[str] | None = None  # with `any_tags_or_creators`: the personal feed's "or"
    any_tags_or_creators: bool = False


@dataclass
class Ranking:
    """A kept ranking of event ids, when it was computed and after how much activity."""

    ids: list[str]
    at: datetime
    activity: int


class EventRepository(Protocol):
    async def add(self, event: Event) -> None: ...
    async def save(self, event: Event) -> None: ...
    async def get(self, event_id: str) -> Event | None: ...
    async def many(self, ids: list[str]) -> list[Event]: ...
    async def delete(self, event_id: str) -> None: ...
    async def search(
        self, flt: EventFilter, sort: str, descending: bool, limit: int, offset: int
    ) -> tuple[list[Event], int]: ...
    async def due_for_completion(self, now: datetime, limit: int) -> list[Event]: ...
    async def with_collaborator(self, user_id: str) -> list[Event]: ...
    async def created_by(self, user_id: str) -> list[Event]: ...
    async def add_likes(self, event_id: str, delta: int) -> None: ...
    async def add_tickets(self, event_id: str, count: int) -> None: ...
    async def set_price(self, event_id: str, lowest: float | None, currency: str | None) -> None: ...


class Directory(Protocol):
    """Local copies of other plugins' data: organizations, interests, follows, activity."""

    async def upsert_user(self, user_id: str, role: str, name: str, avatar_url: str | None) -> None: ...
    async def delete_user(self, user_id: str) -> None: ...
    async def organizations(self, ids: list[str]) -> set[str]: ...
    async def set_interests(self, user_id: str, interests: list[str]) -> None: ...
    async def interests(self, user_id: str) -> list[str]: ...
    async def apply_follows(self, changes: list[tuple[str, str, bool]]) -> None:
        """``(follower, followed, present)`` changes, applied in order."""

    async def followed_by(self, user_id: str) -> list[str]: ...
    async def add_activity(self, event_id: str, weight: int, at: datetime) -> None: ...
    async def popular(self, since: datetime, limit: int) -> list[str]: ...
    async def ranking(self, name: str) -> tuple[Ranking | None, int]: ...
    async def keep_ranking(self, name: str, ranking: Ranking) -> None: ...


class EventRecorder(Protocol):
    async def record(self, event_type: str, payload: dict[str, Any]) -> None: ...


@dataclass
class Repos:
    events: EventRepository
    directory: Directory
    outbox: EventRecorder


Transaction = Callable[[Callable[[Repos], Awaitable[T]]], Awaitable[T]]
TagCatalogue = Callable[[], dict[str, list[str]]]
