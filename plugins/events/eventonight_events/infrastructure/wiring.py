"""Builds the events use cases on the kernel."""

from __future__ import annotations

from typing import Any

from eventonight.kernel.db import OutboxEvents
from eventonight_events.application.commands import EventCommands
from eventonight_events.application.ports import Repos
from eventonight_events.application.queries import EventQueries
from eventonight_events.infrastructure.repository import MongoDirectory, MongoEvents


def repos_for(kernel: Any, uow: Any) -> Repos:
    db, session = kernel.database.db, uow.session if uow is not None else None
    return Repos(events=MongoEvents(db, session), directory=MongoDirectory(db, session), outbox=OutboxEvents(uow))


class EventsServices:
    def __init__(self, kernel: Any) -> None:
        async def transaction(work):
            return await kernel.transaction(lambda uow: work(repos_for(kernel, uow)))

        async def read(work):
            return await work(repos_for(kernel, None))

        self.commands = EventCommands(transaction, kernel.tag_catalogue)
        self.queries = EventQueries(read, kernel.tag_catalogue)
