"""Interactions: the rules for follows, likes, participations and reviews (no framework imports)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eventonight.hooks.errors import Conflict, DomainError, Forbidden, NotFound


@dataclass
class KnownEvent:
    """The local copy of an event (from event.* domain events)."""

    id: str
    title: str
    date: datetime | None
    creator_id: str
    collaborator_ids: list[str]
    status: str

    @property
    def hosts(self) -> list[str]:
        return [self.creator_id, *self.collaborator_ids]


def check_follow(follower_id: str, followed_id: str) -> None:
    if follower_id == followed_id:
        raise DomainError("nobody can follow themselves", "followedId")


def check_likeable(event: KnownEvent | None) -> KnownEvent:
    if event is None or event.status == "DRAFT":
        raise NotFound("event not found")
    if event.status != "PUBLISHED":
        raise Conflict(f"only published events can be liked; this one is {event.status}")
    return event


def check_reviewable(event: KnownEvent | None, participating: bool, now: datetime) -> KnownEvent:
    if event is None or event.status == "DRAFT":
        raise NotFound("event not found")
    if not participating:
        raise Forbidden("only participants (ticket holders) may review an event")
    if event.date is None or event.date > now:
        raise Conflict("an event can be reviewed once it has started")
    return event


def check_rating(rating: int) -> int:
    if not 1 <= rating <= 5:
        raise DomainError("rating must be between 1 and 5", "rating")
    return rating


def statistics(ratings: dict[int, int]) -> dict:
    """Average, distribution 1-5 and total from ``{rating: count}``."""
    distribution = {str(r): ratings.get(r, 0) for r in range(1, 6)}
    total = sum(ratings.get(r, 0) for r in range(1, 6))
    average = round(sum(r * ratings.get(r, 0) for r in range(1, 6)) / total, 2) if total else None
    return {"average": average, "distribution": distribution, "total": total}
