"""Hook implementations of the interactions plugin (entry point ``interactions``)."""

from __future__ import annotations

from eventonight.hooks import hookimpl
from eventonight_interactions.infrastructure.settings import InteractionsSettings
from eventonight_interactions.infrastructure.store import INDEXES, Store
from eventonight_interactions.infrastructure.wiring import build
from eventonight_interactions.presentation import openapi
from eventonight_interactions.presentation.consumers import consumers
from eventonight_interactions.presentation.handlers import InteractionsApi

HOOK_API_VERSION = 1
NAME = "interactions"


def services(kernel):
    return kernel.plugin_service(NAME, lambda: build(kernel, NAME))


@hookimpl
def eventonight_settings():
    return InteractionsSettings


@hookimpl
def eventonight_indexes():
    return INDEXES


@hookimpl
async def eventonight_startup(kernel):
    # Reviews stored before the reviewer's role was kept with them (the role filter reads it).
    await Store(kernel.read).backfill_reviewer_roles()
    # Likes and follows stored before their counters were kept.
    await Store(kernel.read).backfill_counters()


@hookimpl
def eventonight_routes(kernel):
    return InteractionsApi(services(kernel)).routes()


@hookimpl
def eventonight_openapi(kernel):
    return openapi.fragment(InteractionsApi(services(kernel)).routes())


@hookimpl
def eventonight_consumers(kernel):
    return consumers(kernel)
