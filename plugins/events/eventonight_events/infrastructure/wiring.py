"""Builds the events use cases on the kernel."""

from __future__ import annotations

from typing import Any

from eventonight_events.application.commands import EventCommands
from eventonight_events.application.ports import Repos
from eventonight_events.application.queries import EventQueries
from eventonight_events.infrastructure.catalogue_stats import StatsCache
from eventonight_events.infrastructure.repository import MongoDirectory, MongoEvents

#: The hook through which any plugin adds categories or tags (see hookspecs.py).
TAG_CATALOGUE_HOOK = "events_tag_catalogue"
VALIDATE_PUBLISH_HOOK = "events_validate_publish"


def repos_for(data: Any, stats: StatsCache | None = None) -> Repos:
    """The repositories over a data handle: a unit of work, or ``kernel.read`` (whose ``record``
    refuses); ``stats`` caches the catalogue's statistics, for ``kernel.read`` only."""
    return Repos(events=MongoEvents(data, stats), directory=MongoDirectory(data), outbox=data)


def tag_catalogue(kernel: Any) -> dict[str, list[str]]:
    """Every plugin's ``events_tag_catalogue`` contribution merged (ours included)."""
    merged: dict[str, list[str]] = {}
    for result in kernel.hooks.call_robust(TAG_CATALOGUE_HOOK):
        for category, tags in (result.value or {}).items():
            known = merged.setdefault(category, [])
            known.extend(t for t in tags if t not in known)
    return merged


class EventsServices:
    def __init__(self, kernel: Any) -> None:
        transaction, _ = kernel.runners(repos_for)
        # The statistics' cache lives as long as these services, and serves reads alone (StatsCache).
        stats = StatsCache()
        _, read = kernel.runners(lambda data: repos_for(data, stats))

        def catalogue() -> dict[str, list[str]]:
            return tag_catalogue(kernel)

        def validate_publish(summary: dict) -> None:
            kernel.hooks.call(VALIDATE_PUBLISH_HOOK, event=summary)  # a veto raises

        self.commands = EventCommands(
            lambda work: transaction(lambda repos, _: work(repos)), catalogue, validate_publish
        )
        self.queries = EventQueries(lambda work: read(lambda repos, _: work(repos)), catalogue)
