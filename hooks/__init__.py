"""The public plugin API of eventonight.

A plugin imports only this package (and, in its presentation layer, the kernel's
HTTP helpers)::

    from eventonight.hooks import hookimpl

    @hookimpl
    def eventonight_routes(kernel):
        ...

The hook specifications with their contracts are in :mod:`eventonight.hooks.specs`.
"""

from eventonight.hooks.markers import HOOK_API_VERSION, PROJECT, hookimpl, hookspec
from eventonight.hooks.types import Consumer, DomainEvent, ScheduledJob

__all__ = [
    "HOOK_API_VERSION",
    "PROJECT",
    "Consumer",
    "DomainEvent",
    "ScheduledJob",
    "hookimpl",
    "hookspec",
]
