"""Which durable queues exist for which plugin, so that an uninstalled plugin's can be pruned.

AMQP cannot list queues (that needs RabbitMQ's management plugin), so every
worker records the queues it declares for each plugin in ``kernel_queues``.
A queue whose plugin is no longer installed keeps receiving copies of every
event it was bound to, forever: ``eventonight plugins prune`` unbinds and
deletes it, and each start warns about such queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from kombu import Queue

from eventonight.kernel.bus.topology import connection_for, exchange
from eventonight.kernel.db import Database, utcnow
from eventonight.settings import Settings

log = logging.getLogger(__name__)

QUEUES = "kernel_queues"


@dataclass(frozen=True)
class PluginQueues:
    plugin: str
    queues: list[str]
    patterns: list[str]


class QueueRegistry:
    def __init__(self, database: Database, settings: Settings) -> None:
        self._collection = database.db[QUEUES]
        self._settings = settings

    def _key(self, plugin: str) -> str:
        return f"{self._settings.exchange}|{self._settings.queue_prefix}|{plugin}"

    async def record(self, plugin: str, queues: list[str], patterns: list[str]) -> None:
        """Remember the queues a worker declared for ``plugin`` (added to what was known)."""
        await self._collection.update_one(
            {"_id": self._key(plugin)},
            {
                "$set": {
                    "plugin": plugin,
                    "exchange": self._settings.exchange,
                    "prefix": self._settings.queue_prefix,
                    "patterns": patterns,
                    "at": utcnow(),
                },
                "$addToSet": {"queues": {"$each": queues}},
            },
            upsert=True,
        )

    async def known(self) -> list[PluginQueues]:
        query = {"exchange": self._settings.exchange, "prefix": self._settings.queue_prefix}
        return [
            PluginQueues(d["plugin"], list(d.get("queues", [])), list(d.get("patterns", [])))
            async for d in self._collection.find(query)
        ]

    async def depths(self) -> dict[str, int]:
        """Messages waiting in each known queue (for metrics); empty on the in-memory bus."""
        if not (self._settings.broker_url or "").startswith("amqp"):
            return {}
        names = [name for entry in await self.known() for name in entry.queues]
        return await asyncio.to_thread(queue_depths, self._settings, names)

    async def orphans(self, installed: set[str]) -> list[PluginQueues]:
        """Queues of plugins that are not installed (loaded, failed or disabled ones are)."""
        return [entry for entry in await self.known() if entry.plugin not in installed]

    async def prune(self, entries: list[PluginQueues]) -> None:
        """Unbind and delete each entry's queues on the broker, then forget them."""
        await asyncio.to_thread(delete_on_broker, self._settings, entries)
        for entry in entries:
            await self._collection.delete_one({"_id": self._key(entry.plugin)})
            log.warning("pruned the queues of plugin %s: %s", entry.plugin, ", ".join(entry.queues))


def queue_depths(settings: Settings, names: list[str]) -> dict[str, int]:
    depths = {}
    with connection_for(settings.broker_url) as connection:
        for name in names:
            channel = connection.channel()
            try:
                depths[name] = Queue(name, channel=channel).queue_declare(passive=True).message_count
            except Exception:  # noqa: BLE001 - a queue deleted meanwhile has no depth
                pass
            finally:
                with contextlib.suppress(Exception):
                    channel.close()
    return depths


def delete_on_broker(settings: Settings, entries: list[PluginQueues]) -> None:
    ex = exchange(settings.exchange)
    with connection_for(settings.broker_url) as connection:

        def quietly(operation) -> None:
            # A channel per command: a failed one (absent queue or binding, already
            # what we want) closes its channel.
            channel = connection.channel()
            try:
                operation(channel)
            except Exception:  # noqa: BLE001
                pass
            finally:
                with contextlib.suppress(Exception):
                    channel.close()

        for entry in entries:
            main = f"{settings.queue_prefix}.{entry.plugin}"
            for name in entry.queues:
                if name == main:
                    # Unbind first: no new copies arrive while the queue is being deleted.
                    for pattern in entry.patterns:
                        quietly(lambda ch, n=name, p=pattern: Queue(n, channel=ch).unbind_from(ex, routing_key=p))
                quietly(lambda ch, n=name: Queue(n, channel=ch).delete())
