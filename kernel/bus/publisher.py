"""Publishing envelopes to the topic exchange, from a dedicated thread.

kombu is synchronous; one thread owns the connection so publishes and their
broker confirms never block the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventonight.kernel.bus.topology import connection_for, exchange

log = logging.getLogger(__name__)


class PartialPublish(Exception):
    """Publishing stopped after ``confirmed`` messages; ``cause`` says why."""

    def __init__(self, confirmed: int, cause: BaseException) -> None:
        super().__init__(f"published {confirmed} before: {cause!r}")
        self.confirmed = confirmed
        self.cause = cause


class Publisher:
    def __init__(self, url: str | None, exchange_name: str) -> None:
        self.url = url
        self.exchange = exchange(exchange_name)
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="eventonight-publish")
        self._connection = None
        self._producer = None

    def _ensure(self) -> None:
        if self._producer is not None:
            return
        connection = connection_for(self.url)
        connection.connect()
        producer = connection.Producer(serializer="json")
        self.exchange(producer.channel).declare()
        self._connection, self._producer = connection, producer

    def _reset(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass
        self._connection = self._producer = None

    def _publish_sync(self, envelopes: list[dict[str, Any]]) -> int:
        done = 0
        try:
            self._ensure()
            for envelope in envelopes:
                # With confirm_publish the call returns once the broker confirmed.
                self._producer.publish(
                    envelope,
                    exchange=self.exchange,
                    routing_key=envelope["eventType"],
                    delivery_mode=2,
                    message_id=envelope["id"],
                    retry=False,
                )
                done += 1
        except Exception as exc:
            self._reset()
            raise PartialPublish(done, exc) from exc
        return done

    async def publish(self, envelopes: list[dict[str, Any]]) -> int:
        """Publish in order; returns how many the broker confirmed, or raises PartialPublish."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._publish_sync, envelopes)

    def close(self) -> None:
        self._executor.submit(self._reset).result()
        self._executor.shutdown(wait=True)
