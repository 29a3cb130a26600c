"""The public plugin API of eventonight: everything a plugin may import.

A plugin, built-in or third-party, imports from this package only:

- ``eventonight.hooks``: markers (``hookimpl``, ``hookspec``), the hook API
  version, the data types that cross the boundary (``DomainEvent``,
  ``Consumer``, ``ScheduledJob``, ``HookResult``), what a plugin is handed
  (``PluginKernel``, ``UnitOfWork``, ``DataHandle``) and the errors it raises
  (``DomainError`` and its kinds), and ``Rate``/``RateLimiter`` for abuse limits;
- ``eventonight.hooks.errors`` and ``eventonight.hooks.types``: the same errors
  and types with no framework import, for domain code;
- ``eventonight.hooks.http``: helpers for aiohttp handlers and OpenAPI fragments;
- ``eventonight.hooks.copies``: applying a batch of changes to a local copy of others' data;
- ``eventonight.hooks.kept``: pages a process keeps while the version they were read at holds;
- ``eventonight.hooks.testing``: pytest fixtures (``pytest_plugins = ["eventonight.hooks.testing"]``).

This module imports no framework (domain code may import it); the HTTP
helpers and fixtures are in their own modules. The hook specifications are in :mod:`eventonight.hooks.specs`.
"""

from __future__ import annotations

from eventonight.hooks.errors import (
    Conflict,
    DomainError,
    Forbidden,
    MissingPlugin,
    NotFound,
    TooManyRequests,
    Unauthenticated,
)
from eventonight.hooks.markers import HOOK_API_VERSION, PROJECT, hookimpl, hookspec
from eventonight.hooks.ratelimit import Rate, RateLimiter
from eventonight.hooks.types import (
    Consumer,
    DataHandle,
    DomainEvent,
    HookResult,
    PluginKernel,
    ScheduledJob,
    UnitOfWork,
)

__all__ = [
    "HOOK_API_VERSION",
    "PROJECT",
    "Conflict",
    "Consumer",
    "DataHandle",
    "DomainError",
    "DomainEvent",
    "Forbidden",
    "HookResult",
    "MissingPlugin",
    "NotFound",
    "PluginKernel",
    "Rate",
    "RateLimiter",
    "ScheduledJob",
    "TooManyRequests",
    "Unauthenticated",
    "UnitOfWork",
    "hookimpl",
    "hookspec",
]
