"""Write side: create, edit, publish, cancel, delete, complete; and the local copies kept from other plugins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

from eventonight_events.application.ports import Repos, TagCatalogue, Transaction
from eventonight_events.domain import events as de
from eventonight_events.domain.model import (
    CANCELLED,
    COMPLETED,
    DRAFT,
    PUBLISHED,
    DomainError,
    Event,
    Forbidden,
    InvalidTransition,
    NotFound,
    check_collaborators,
    check_publishable,
    check_tags,
    transition,
)

_UNSET: Any = object()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class EventInput:
    """Fields of a create or edit; ``_UNSET`` leaves a field as it is on edit."""

    title: Any = _UNSET
    description: Any = _UNSET
    date: Any = _UNSET
    location: Any = _UNSET
    tags: Any = _UNSET
    collaborators: Any = _UNSET


UNSET = _UNSET


class EventCommands:
    def __init__(
        self,
        transaction: Transaction,
        tag_catalogue: TagCatalogue,
        validate_publish: Callable[[dict], None] = lambda summary: None,
    ) -> None:
        #: Other plugins' veto on publishing (raises a DomainError to refuse).
        self.validate_publish = validate_publish
        self.transaction = transaction
        self.tag_catalogue = tag_catalogue

    async def _load(self, repos: Repos, event_id: str, user_id: str) -> Event:
        event = await repos.events.get(event_id)
        if event is None or not event.visible_to(user_id):
            raise NotFound("event not found")
        return event

    async def _apply(self, repos: Repos, event: Event, data: EventInput) -> None:
        if data.title is not _UNSET:
            event.title = (data.title or "").strip()
        if data.description is not _UNSET:
            event.description = data.description or ""
        if data.date is not _UNSET:
            event.date = data.date
        if data.location is not _UNSET:
            event.location = data.location
        if data.tags is not _UNSET:
            event.tags = check_tags(data.tags or [], self.tag_catalogue())
        if data.collaborators is not _UNSET:
            wanted = list(dict.fromkeys(data.collaborators or []))
            organizations = await repos.directory.organizations(wanted)
            event.collaborator_ids = check_collaborators(wanted, event.creator_id, organizations)

    async def create(self, creator_id: str, status: str, data: EventInput) -> Event:
        if status not in (DRAFT, PUBLISHED):
            raise DomainError("status must be DRAFT or PUBLISHED", "status")
        now = _now()
        event = Event(id=uuid4().hex, creator_id=creator_id, status=status, created_at=now, updated_at=now)

        async def work(repos: Repos) -> Event:
            await self._apply(repos, event, data)
            if status == PUBLISHED:
                check_publishable(event, now)
                self.validate_publish(event.summary())
                event.published_at = now
            await repos.events.add(event)
            await repos.outbox.record(de.EVENT_CREATED, event.summary())
            if status == PUBLISHED:
                await repos.outbox.record(de.EVENT_PUBLISHED, event.summary())
            return event

        return await self.transaction(work)

    async def update(self, event_id: str, user_id: str, data: EventInput) -> Event:
        async def work(repos: Repos) -> Event:
            event = await self._load(repos, event_id, user_id)
            if not event.is_member(user_id):
                raise Forbidden("only the creator or a collaborator may edit this event")
            if data.collaborators is not _UNSET and user_id != event.creator_id:
                raise Forbidden("only the creator may change the collaborators")
            if event.status in (CANCELLED, COMPLETED):
                raise InvalidTransition(f"a {event.status} event cannot be edited")
            await self._apply(repos, event, data)
            if event.status == PUBLISHED:
                check_publishable(event, _now())
            event.updated_at = _now()
            await repos.events.save(event)
            await repos.outbox.record(de.EVENT_UPDATED, event.summary())
            return event

        return await self.transaction(work)

    async def publish(self, event_id: str, user_id: str) -> Event:
        async def work(repos: Repos) -> Event:
            event = await self._load(repos, event_id, user_id)
            if not event.is_member(user_id):
                raise Forbidden("only the creator or a collaborator may publish this event")
            transition(event, PUBLISHED)
            now = _now()
            check_publishable(event, now)
            self.validate_publish(event.summary())
            event.published_at = event.updated_at = now
            await repos.events.save(event)
            await repos.outbox.record(de.EVENT_PUBLISHED, event.summary())
            return event

        return await self.transaction(work)

    async def cancel(self, event_id: str, user_id: str) -> Event:
        async def work(repos: Repos) -> Event:
            event = await self._load(repos, event_id, user_id)
            if user_id != event.creator_id:
                raise Forbidden("only the creator may cancel this event")
            transition(event, CANCELLED)
            event.updated_at = _now()
            await repos.events.save(event)
            await repos.outbox.record(de.EVENT_CANCELLED, event.summary())
            return event

        return await self.transaction(work)

    async def delete(self, event_id: str, user_id: str) -> None:
        async def work(repos: Repos) -> None:
            event = await self._load(repos, event_id, user_id)
            if user_id != event.creator_id:
                raise Forbidden("only the creator may delete this event")
            if event.status != DRAFT:
                # Followers, likers and ticket holders know a published event: it ends, it is not erased.
                raise InvalidTransition(
                    f"a {event.status.lower()} event cannot be deleted, only drafts can; "
                    f"cancel it instead: POST /api/events/{event.id}/cancel"
                )
            await repos.events.delete(event.id)
            await repos.outbox.record(de.EVENT_DELETED, event.summary())

        await self.transaction(work)

    async def check_member(self, event_id: str, user_id: str) -> Event:
        """For the poster endpoints: the event, if ``user_id`` may change it."""

        async def work(repos: Repos) -> Event:
            event = await self._load(repos, event_id, user_id)
            if not event.is_member(user_id):
                raise Forbidden("only the creator or a collaborator may change the poster")
            return event

        return await self.transaction(work)

    async def set_poster(self, event_id: str, poster_url: str | None, *, repos: Repos | None = None) -> Event | None:
        """``repos``: run in a transaction the caller already holds (a bus consumer's)."""

        async def work(repos: Repos) -> Event | None:
            event = await repos.events.get(event_id)
            if event is None:
                raise NotFound("event not found")
            if event.poster_url == poster_url:
                return event  # already so (the poster endpoint and the media event both say it)
            event.poster_url, event.updated_at = poster_url, _now()
            await repos.events.save(event)
            await repos.outbox.record(de.EVENT_UPDATED, event.summary())
            return event

        if repos is not None:
            try:
                return await work(repos)
            except NotFound:
                return None  # deleted meanwhile: nothing to point at the image
        return await self.transaction(work)

    async def complete_due(self, limit: int = 200) -> int:
        """Mark published events whose date has passed COMPLETED; returns how many."""

        async def work(repos: Repos) -> int:
            due = await repos.events.due_for_completion(_now(), limit)
            for event in due:
                transition(event, COMPLETED)
                event.updated_at = _now()
                await repos.events.save(event)
                await repos.outbox.record(de.EVENT_COMPLETED, event.summary())
            return len(due)

        total = 0
        while (done := await self.transaction(work)) > 0:
            total += done
            if done < limit:
                break
        return total

    # -- local copies of other plugins' data (bus consumers) ---------------------------------
    async def user_deleted(self, repos: Repos, user_id: str) -> None:
        await repos.directory.delete_user(user_id)
        for event in await repos.events.with_collaborator(user_id):
            event.collaborator_ids = [c for c in event.collaborator_ids if c != user_id]
            event.updated_at = _now()
            await repos.events.save(event)
            await repos.outbox.record(de.EVENT_UPDATED, event.summary())
        # An organization's own events go with it.
        for event in await repos.events.created_by(user_id):
            await repos.events.delete(event.id)
            await repos.outbox.record(de.EVENT_DELETED, event.summary())
