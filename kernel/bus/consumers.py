"""Consuming plugin queues in a kombu thread and handing messages to the event loop.

Each plugin gets one durable queue bound to the patterns of its consumers. A
message is acknowledged only after its handlers ran on the event loop. A
failing message is re-queued with an attempt counter in its headers and, after
``max_attempts``, moved to ``<queue>.dead-letter``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from kombu import Producer
from kombu.mixins import ConsumerMixin

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.bus.topology import connection_for, dead_letter_queue, plugin_queue

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-eventonight-attempts"
ERROR_HEADER = "x-eventonight-error"

Dispatch = Callable[[str, DomainEvent], Awaitable[None]]


class _Worker(ConsumerMixin):
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner
        self.connection = connection_for(runner.url)
        self.producer: Producer | None = None

    def get_consumers(self, Consumer, channel):  # noqa: N803 - kombu's signature
        consumers = []
        for plugin, patterns in self.runner.bindings.items():
            queue = plugin_queue(self.runner.prefix, plugin, self.runner.exchange_name, patterns)
            dead_letter_queue(queue.name)(channel).declare()
            consumer = Consumer(
                queues=[queue],
                callbacks=[self._callback(plugin, queue.name)],
                accept=["json"],
                prefetch_count=self.runner.prefetch,
                on_decode_error=self._decode_error(queue.name),
            )
            consumers.append(consumer)
        return consumers

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.producer = Producer(channel, serializer="json")
        self.runner.ready.set()

    def on_connection_error(self, exc, interval):
        self.runner.ready.clear()
        log.warning("broker connection lost (%s); consumers reconnect in %.1fs", exc, interval)

    def _decode_error(self, queue_name: str):
        def on_decode_error(message, exc) -> None:
            self.runner._dead_letter(queue_name, message.body, message, self.producer, f"undecodable: {exc}", 1)

        return on_decode_error

    def _callback(self, plugin: str, queue_name: str):
        def on_message(body: Any, message) -> None:
            self.runner.handle(plugin, queue_name, body, message, self.producer)

        return on_message


class ConsumerRunner:
    """Runs the consumers of every plugin in one background thread."""

    def __init__(
        self,
        *,
        url: str | None,
        exchange_name: str,
        prefix: str,
        bindings: dict[str, list[str]],
        dispatch: Dispatch,
        loop: asyncio.AbstractEventLoop,
        max_attempts: int = 5,
        prefetch: int = 16,
    ) -> None:
        self.url = url
        self.exchange_name = exchange_name
        self.prefix = prefix
        self.bindings = bindings
        self.dispatch = dispatch
        self.loop = loop
        self.max_attempts = max_attempts
        self.prefetch = prefetch
        self.ready = threading.Event()
        self._worker = _Worker(self)
        self._thread = threading.Thread(target=self._worker.run, name="eventonight-consumers", daemon=True)

    def start(self) -> None:
        if self.bindings:
            self._thread.start()

    async def wait_ready(self, timeout: float = 10.0) -> bool:
        if not self.bindings:
            return True
        return await asyncio.to_thread(self.ready.wait, timeout)

    def stop(self) -> None:
        self._worker.should_stop = True
        if self._thread.is_alive():
            self._thread.join(10)

    def handle(self, plugin: str, queue_name: str, body: Any, message, producer: Producer) -> None:
        try:
            envelope = json.loads(body) if isinstance(body, str | bytes) else body
            event = DomainEvent.from_envelope(envelope)
        except ValueError as exc:
            self._dead_letter(queue_name, body, message, producer, f"malformed message: {exc}", 1)
            return
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0)) + 1
        future = asyncio.run_coroutine_threadsafe(self.dispatch(plugin, event), self.loop)
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
            if attempts >= self.max_attempts:
                self._dead_letter(queue_name, envelope, message, producer, repr(exc), attempts)
                return
            log.warning("consumer %s failed on %s (attempt %d): %r", plugin, event.id, attempts, exc)
            # Re-queue first, then ack: a crash in between means a duplicate, which dedupe absorbs.
            producer.publish(
                envelope,
                exchange="",
                routing_key=queue_name,
                delivery_mode=2,
                headers={ATTEMPTS_HEADER: attempts, ERROR_HEADER: repr(exc)[:500]},
                message_id=event.id,
            )
        message.ack()

    def _dead_letter(self, queue_name, body, message, producer, reason: str, attempts: int) -> None:
        dlq = dead_letter_queue(queue_name)
        message_id = body.get("id") if isinstance(body, dict) else None
        log.error("dead-lettering message %s from %s after %d attempt(s): %s", message_id, queue_name, attempts, reason)
        raw = {}
        if isinstance(body, bytes | str):
            # Keep the bytes exactly as they arrived, for whoever inspects the dead letters.
            raw = {
                "serializer": None,
                "content_type": message.content_type,
                "content_encoding": message.content_encoding,
            }
        producer.publish(
            body,
            exchange="",
            routing_key=dlq.name,
            delivery_mode=2,
            headers={ATTEMPTS_HEADER: attempts, ERROR_HEADER: reason[:500]},
            **raw,
        )
        message.ack()
