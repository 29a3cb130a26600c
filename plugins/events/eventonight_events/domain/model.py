"""The event entity, its lifecycle and its rules (no framework imports)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from eventonight.hooks.errors import Conflict, DomainError, Forbidden, NotFound  # noqa: F401 - re-exported

DRAFT, PUBLISHED, COMPLETED, CANCELLED = "DRAFT", "PUBLISHED", "COMPLETED", "CANCELLED"
STATUSES = (DRAFT, PUBLISHED, COMPLETED, CANCELLED)
PUBLIC_STATUSES = (PUBLISHED, COMPLETED)
MAX_COLLABORATORS = 20
MAX_TAGS = 15


class InvalidTransition(Conflict):
    """The lifecycle does not allow this from the current status (409)."""


@dataclass
class Location:
    name: str | None = None
    country: str | None = None
    city: str | None = None
    address: str | None = None
    postcode: str | None = None
    lat: float | None = None
    lon: float | None = None

    @property
    def has_coordinates(self) -> bool:
        return self.lat is not None and self.lon is not None


@dataclass
class Event:
    id: str
    creator_id: str
    status: str
    title: str = ""
    description: str = ""
    date: datetime | None = None
    location: Location | None = None
    tags: list[str] = field(default_factory=list)
    collaborator_ids: list[str] = field(default_factory=list)
    poster_url: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    published_at: datetime | None = None
    # Read data from other plugins' events.
    lowest_price: float | None = None
    currency: str | None = None
    likes: int = 0
    tickets_sold: int = 0

    def is_upcoming(self, now: datetime) -> bool:
        """Published and not begun yet."""
        return self.status == PUBLISHED and self.date is not None and self.date >= now

    def is_member(self, user_id: str | None) -> bool:
        """Creator or collaborator."""
        return user_id is not None and (user_id == self.creator_id or user_id in self.collaborator_ids)

    def visible_to(self, user_id: str | None) -> bool:
        return self.status in PUBLIC_STATUSES or self.is_member(user_id)

    def summary(self) -> dict:
        """The fields other plugins copy (payload of every event.* domain event)."""
        return {
            "eventId": self.id,
            "title": self.title,
            "date": self.date,
            "creatorId": self.creator_id,
            "collaboratorIds": list(self.collaborator_ids),
            "status": self.status,
            "city": self.location.city if self.location else None,
            "posterUrl": self.poster_url,
        }


def check_publishable(event: Event, now: datetime) -> None:
    if not event.title.strip():
        raise DomainError("a published event needs a title", "title")
    if event.date is None:
        raise DomainError("a published event needs a date", "date")
    if event.date <= now:
        raise DomainError("a published event needs a date in the future", "date")
    location = event.location
    if location is None or not (location.has_coordinates or (location.city or "").strip()):
        raise DomainError("a published event needs a location with coordinates or a city", "location")


def check_tags(tags: list[str], catalogue: dict[str, list[str]]) -> list[str]:
    cleaned = list(dict.fromkeys(t.strip() for t in tags if t.strip()))
    if len(cleaned) > MAX_TAGS:
        raise DomainError(f"at most {MAX_TAGS} tags", "tags")
    known = {t for ts in catalogue.values() for t in ts}
    unknown = [t for t in cleaned if t not in known]
    if unknown:
        raise DomainError(f"unknown tag(s): {', '.join(unknown)}; see GET /api/events/tags", "tags")
    return cleaned


def check_collaborators(collaborator_ids: list[str], creator_id: str, organizations: set[str]) -> list[str]:
    cleaned = list(dict.fromkeys(collaborator_ids))
    if creator_id in cleaned:
        raise DomainError("the creator cannot be a collaborator", "collaborators")
    if len(cleaned) > MAX_COLLABORATORS:
        raise DomainError(f"at most {MAX_COLLABORATORS} collaborators", "collaborators")
    unknown = [c for c in cleaned if c not in organizations]
    if unknown:
        raise DomainError(f"not an organization: {', '.join(unknown)}", "collaborators")
    return cleaned


def transition(event: Event, target: str) -> None:
    allowed = {
        PUBLISHED: (DRAFT,),
        CANCELLED: (DRAFT, PUBLISHED),
        COMPLETED: (PUBLISHED,),
    }[target]
    if event.status not in allowed:
        raise InvalidTransition(f"cannot go from {event.status} to {target}")
    event.status = target
