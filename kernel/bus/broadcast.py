"""Per-process subscriptions: every process receives every matching message.

Plugin queues (consumers.py) share work between processes; some deliveries must
reach *each* process instead, e.g. a notification for a user whose live stream
is open on another replica. A broadcast listener declares an exclusive,
auto-deleted queue of its own bound to the topic exchange and hands each message
to an async callback on the event loop. Nothing is persisted for it: what the
process missed while down is replayed from storage by whoever needs it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import uuid4

from kombu import Queue, binding

from eventonight.kernel.bus.stoppable import StoppableConsumer
from eventonight.kernel.bus.topology import connection_for, exchange

log = logging.getLogger(__name__)


class BroadcastListener(StoppableConsumer):
    def __init__(
        self,
        *,
        url: str | None,
        exchange_name: str,
        patterns: list[str],
        callback: Callable[[str, dict[str, Any]], Awaitable[None]],
        loop: asyncio.AbstractEventLoop,
        name: str = "live",
    ) -> None:
        self.connection = connection_for(url)
        ex = exchange(exchange_name)
        self.queue = Queue(
            f"{exchange_name}.{name}.{uuid4().hex[:12]}",
            bindings=[binding(ex, routing_key=p) for p in patterns],
            exclusive=True,
            auto_delete=True,
            durable=False,
        )
        self.callback = callback
        self.loop = loop
        self.ready = threading.Event()
        self._thread = threading.Thread(target=self.run, name=f"eventonight-{name}", daemon=True)

    def get_consumers(self, Consumer, channel):  # noqa: N803 - kombu's signature
        return [Consumer(queues=[self.queue], callbacks=[self._on_message], accept=["json"], no_ack=True)]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.ready.set()

    def _on_message(self, body, message) -> None:
        routing_key = message.delivery_info.get("routing_key", "")
        future = asyncio.run_coroutine_threadsafe(self.callback(routing_key, body), self.loop)
        future.add_done_callback(lambda f: f.exception() and log.error("broadcast handler failed: %r", f.exception()))

    def start(self) -> None:
        self._thread.start()

    async def wait_ready(self, timeout: float = 10) -> bool:
        return await asyncio.to_thread(self.ready.wait, timeout)

    def stop(self) -> None:
        self.should_stop = True
        if self._thread.is_alive():
            self._thread.join(10)
