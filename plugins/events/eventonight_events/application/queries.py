"""Read side: one event, search, feeds, tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from eventonight.hooks.errors import Unauthenticated as BaseUnauthenticated
from eventonight_events.application.ports import EventFilter, Ranking, Repos, TagCatalogue, Transaction
from eventonight_events.domain.model import (
    CANCELLED,
    COMPLETED,
    DRAFT,
    PUBLIC_STATUSES,
    PUBLISHED,
    DomainError,
    Event,
    NotFound,
)
from eventonight_events.domain.search import query_tokens

SORTS = ("date", "title", "price", "popularity")
FEEDS = ("upcoming", "popular", "recently_added", "feed")
POPULAR_WINDOW = timedelta(days=7)
POPULAR_SIZE = 500
RANKING_REFRESH = timedelta(seconds=5)


class Unauthenticated(BaseUnauthenticated):
    """The feed needs a signed-in user (401)."""


@dataclass
class SearchParams:
    q: str = ""
    tags: list[str] = field(default_factory=list)
    all_tags: bool = False
    date_from: datetime | None = None
    date_to: datetime | None = None
    organization: str | None = None
    city: str | None = None
    venue: str | None = None
    near: tuple[float, float, float] | None = None
    min_price: float | None = None
    max_price: float | None = None
    # None: the catalogue a visitor expects, upcoming published events (unless a date window is
    # asked for); several statuses are allowed.
    status: tuple[str, ...] | None = None
    sort: str = "date"
    descending: bool = False
    limit: int = 20
    offset: int = 0


def search_filter(params: SearchParams, viewer: str | None) -> EventFilter:
    """What a catalogue search asks of the repository (its checks raise DomainError kinds)."""
    if params.sort not in SORTS:
        raise DomainError(f"sort must be one of {', '.join(SORTS)}", "sort")
    if params.date_from and params.date_to and params.date_from > params.date_to:
        raise DomainError("from must not be after to", "from")
    flt = EventFilter(
        statuses=PUBLIC_STATUSES,
        text=query_tokens(params.q),
        tags=params.tags,
        all_tags=params.all_tags,
        date_from=params.date_from,
        date_to=params.date_to,
        organization=params.organization,
        city=params.city,
        venue=params.venue,
        near=params.near,
        min_price=params.min_price,
        max_price=params.max_price,
    )
    if params.status:
        unknown = [s for s in params.status if s not in (DRAFT, PUBLISHED, COMPLETED, CANCELLED)]
        if unknown:
            raise DomainError("status takes DRAFT, PUBLISHED, COMPLETED or CANCELLED, comma-separated", "status")
        flt.statuses = tuple(dict.fromkeys(params.status))
        if {DRAFT, CANCELLED} & set(flt.statuses):
            if viewer is None:
                raise Unauthenticated("log in to list your own draft or cancelled events")
            flt.member = viewer  # one's own events only
    elif params.date_from is None and params.date_to is None:
        # Past events only when asked for (status=COMPLETED, or a date window).
        flt.statuses, flt.upcoming = (PUBLISHED,), True
    return flt


class EventQueries:
    def __init__(self, read: Transaction, tag_catalogue: TagCatalogue) -> None:
        self.read = read
        self.tag_catalogue = tag_catalogue

    async def get(self, event_id: str, viewer: str | None) -> Event:
        event = await self.read(lambda repos: repos.events.get(event_id))
        if event is None or not event.visible_to(viewer):
            raise NotFound("event not found")  # a draft is "not found" for others, not "forbidden"
        return event

    async def search(self, params: SearchParams, viewer: str | None) -> tuple[list[Event], int]:
        flt = search_filter(params, viewer)
        return await self.read(
            lambda repos: repos.events.search(flt, params.sort, params.descending, params.limit, params.offset)
        )

    async def feed(self, kind: str, viewer: str | None, limit: int, offset: int) -> tuple[list[Event], int]:
        now = datetime.now(UTC)
        upcoming = EventFilter(statuses=(PUBLISHED,), upcoming=True)
        if kind == "upcoming":
            return await self.read(lambda repos: repos.events.search(upcoming, "date", False, limit, offset))
        if kind == "recently_added":
            return await self.read(lambda repos: repos.events.search(upcoming, "published", True, limit, offset))
        if kind == "popular":

            async def popular(repos: Repos):
                ranking = await self.popular_ranking(repos, now)
                page = [e for e in await repos.events.many(ranking.ids[offset : offset + limit]) if e.is_upcoming(now)]
                return page, len(ranking.ids)

            return await self.read(popular)
        if kind == "feed":
            if viewer is None:
                raise Unauthenticated("the personal feed needs a logged-in user")

            async def personal(repos: Repos):
                interests = await repos.directory.interests(viewer)
                followed = await repos.directory.followed_by(viewer)
                flt = EventFilter(
                    statuses=(PUBLISHED,), upcoming=True, tags=interests, creators=followed, any_tags_or_creators=True
                )
                if not interests and not followed:
                    return [], 0
                return await repos.events.search(flt, "date", False, limit, offset)

            return await self.read(personal)
        raise NotFound(f"no feed {kind!r}; feeds: {', '.join(FEEDS)}")

    async def popular_ranking(self, repos: Repos, now: datetime, *, refresh: bool = False) -> Ranking:
        """The upcoming events with the most likes and sales in the last week, best first.

        Kept and shared: recomputed when there was activity since and it is older than
        RANKING_REFRESH, or when ``refresh`` (the scheduled job) — a like shows within seconds,
        and a burst of likes costs one recomputation per interval, not one per request.
        """
        kept, activity = await repos.directory.ranking("popular")
        fresh = kept is not None and (kept.activity == activity or now - kept.at < RANKING_REFRESH)
        if fresh and not refresh:
            return kept
        ranked = await repos.directory.popular(now - POPULAR_WINDOW, POPULAR_SIZE)
        upcoming = {e.id for e in await repos.events.many(ranked) if e.is_upcoming(now)}
        ranking = Ranking([i for i in ranked if i in upcoming], now, activity)
        await repos.directory.keep_ranking("popular", ranking)
        return ranking

    async def refresh_popular(self) -> None:
        """Recompute the popular ranking (a scheduled job, so that requests rarely have to)."""
        await self.read(lambda repos: self.popular_ranking(repos, datetime.now(UTC), refresh=True))

    def tags(self, category: str | None = None) -> dict[str, list[str]]:
        catalogue = self.tag_catalogue()
        if category is None:
            return catalogue
        if category not in catalogue:
            raise NotFound(f"no tag category {category!r}")
        return {category: catalogue[category]}
