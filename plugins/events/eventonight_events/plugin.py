"""Hook implementations of the events plugin (entry point ``events``)."""

from __future__ import annotations

import logging

from eventonight.hooks import ScheduledJob, hookimpl
from eventonight_events import hookspecs
from eventonight_events.domain.tags import CATALOGUE
from eventonight_events.infrastructure.documents import INDEXES, RETIRED_INDEXES
from eventonight_events.infrastructure.repository import MongoEvents
from eventonight_events.infrastructure.wiring import EventsServices
from eventonight_events.presentation import demo, openapi
from eventonight_events.presentation.consumers import consumers
from eventonight_events.presentation.handlers import EventsApi

log = logging.getLogger("eventonight.events")
HOOK_API_VERSION = 1
NAME = "events"
COMPLETION_INTERVAL_SECONDS = 60
RANKING_INTERVAL_SECONDS = 60


def services(kernel) -> EventsServices:
    return kernel.plugin_service(NAME, lambda: EventsServices(kernel))


@hookimpl
def eventonight_hookspecs():
    return hookspecs


@hookimpl
def eventonight_indexes():
    return INDEXES


@hookimpl
def eventonight_retired_indexes():
    return RETIRED_INDEXES


@hookimpl
def events_tag_catalogue():
    return CATALOGUE


@hookimpl
async def eventonight_startup(kernel):
    # Events stored by an older version get the search fields this one filters on (venue, city).
    refreshed = await MongoEvents(kernel.read).refresh_search_fields()
    if refreshed:
        log.info("search fields of %d events brought up to date", refreshed)


@hookimpl
def eventonight_routes(kernel):
    return EventsApi(kernel, services(kernel)).routes()


@hookimpl
def eventonight_openapi(kernel):
    return openapi.fragment()


@hookimpl
def eventonight_consumers(kernel):
    return consumers(services(kernel))


@hookimpl
def eventonight_scheduled_jobs(kernel):
    async def complete_past_events(kernel):
        await services(kernel).commands.complete_due()

    async def rank_popular_events(kernel):
        await services(kernel).queries.refresh_popular()

    return [
        ScheduledJob("events.complete-past-events", COMPLETION_INTERVAL_SECONDS, complete_past_events),
        ScheduledJob("events.rank-popular-events", RANKING_INTERVAL_SECONDS, rank_popular_events),
    ]


@hookimpl(optionalhook=True)
async def media_may_change_image(kernel, kind, entity_id, user_id):
    if kind != "poster":
        return None
    event = await services(kernel).queries.read(lambda repos: repos.events.get(entity_id))
    return event is not None and event.is_member(user_id)


@hookimpl
async def eventonight_demo_data(kernel):
    return await demo.seed(kernel, services(kernel))
