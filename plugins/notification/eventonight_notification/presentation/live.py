"""Live delivery: the streams open in this process, presence, and the broadcast feed from the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import UTC, datetime
from uuid import uuid4

from eventonight.hooks import DomainEvent
from eventonight.kernel.bus.broadcast import BroadcastListener
from eventonight_notification.domain.notifications import NOTIFICATION_CREATED, PRESENCE_CHANGED
from eventonight_notification.infrastructure.store import PRESENCE_TTL, Store

log = logging.getLogger(__name__)
UNREAD_CHANGED = "notification.unread.changed"
HEARTBEAT_SECONDS = 15


class Hub:
    """Streams by user in this process; fed by a broadcast listener so any replica's notification reaches them."""

    def __init__(self, kernel) -> None:
        self.kernel = kernel
        self.process_id = uuid4().hex
        self.streams: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self.listener: BroadcastListener | None = None
        self._heartbeat: asyncio.Task | None = None
        self.stopping = False

    def store(self) -> Store:
        return Store(self.kernel.database.db, None)

    async def start(self) -> None:
        settings = self.kernel.settings
        self.listener = BroadcastListener(
            url=settings.broker_url,
            exchange_name=settings.exchange,
            patterns=[NOTIFICATION_CREATED, UNREAD_CHANGED, PRESENCE_CHANGED],
            callback=self.on_broadcast,
            loop=asyncio.get_running_loop(),
            name="notification-live",
        )
        self.listener.start()
        if not await self.listener.wait_ready(15):
            log.warning("live notification feed not connected yet; it keeps retrying")
        self._heartbeat = asyncio.create_task(self._beat())

    def drain(self) -> None:
        """End every open stream (the process is stopping); clients reconnect elsewhere with Last-Event-ID."""
        self.stopping = True
        for queues in self.streams.values():
            for queue in queues:
                with contextlib.suppress(asyncio.QueueFull):
                    queue.put_nowait(("close", None))

    async def stop(self) -> None:
        self.drain()
        if self._heartbeat:
            self._heartbeat.cancel()
        if self.listener:
            await asyncio.to_thread(self.listener.stop)
        with contextlib.suppress(Exception):
            await self.store().process_gone(self.process_id)

    async def on_broadcast(self, routing_key: str, envelope: dict) -> None:
        payload = envelope.get("payload", {})
        if routing_key == PRESENCE_CHANGED:
            followers = set(await self.store().followers_of([payload["userId"]]))
            for user_id in followers & set(self.streams):
                self._put(user_id, ("presence", payload))
            return
        kind = "notification" if routing_key == NOTIFICATION_CREATED else "unread"
        self._put(payload.get("userId"), (kind, payload))

    def _put(self, user_id: str | None, item) -> None:
        for queue in self.streams.get(user_id or "", ()):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                log.warning("stream of %s is not keeping up; it will resume from Last-Event-ID", user_id)

    async def open(self, user_id: str) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        first = not self.streams[user_id]
        self.streams[user_id].add(queue)
        if first:
            was_online = await self.store().online(user_id, datetime.now(UTC))
            await self.store().present(self.process_id, user_id, datetime.now(UTC) + PRESENCE_TTL)
            if not was_online:
                await self._announce(user_id, True)
        return queue

    async def close(self, user_id: str, queue: asyncio.Queue) -> None:
        streams = self.streams.get(user_id)
        if streams is None:
            return
        streams.discard(queue)
        if not streams:
            del self.streams[user_id]
            if self.stopping:
                return  # the process's presence document goes at once
            await self.store().absent(self.process_id, user_id)
            if not await self.store().online(user_id, datetime.now(UTC)):
                await self._announce(user_id, False)

    async def _announce(self, user_id: str, online: bool) -> None:
        # Presence is not a state anyone must not lose: published directly, not through the outbox.
        event = DomainEvent(
            id=uuid4().hex,
            event_type=PRESENCE_CHANGED,
            occurred_at=datetime.now(UTC),
            payload={"userId": user_id, "online": online},
        )
        try:
            await self.kernel.publisher.publish([event.to_envelope()])
        except Exception:  # noqa: BLE001 - the broker may be away; presence is best effort
            log.warning("could not publish presence of %s", user_id)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            with contextlib.suppress(Exception):
                await self.store().renew(self.process_id, datetime.now(UTC) + PRESENCE_TTL)
