"""Consuming plugin queues in a kombu thread and handing messages to the event loop.

Each plugin gets one durable queue bound to the patterns of its consumers. A
message is acknowledged only after its handlers ran on the event loop. A
failing message is re-queued with an attempt counter in its headers and, after
``max_attempts``, moved to ``<queue>.dead-letter``.

Messages already waiting when one arrives are taken too (up to the prefetch
window) and handed to a plugin as one batch, processed in one transaction: on
a database where each transaction costs milliseconds this multiplies what one
consumer process gets through. If the batch fails, its messages are handled
one by one, so a bad message is retried and dead-lettered alone.
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
DispatchBatch = Callable[[str, list[DomainEvent]], Awaitable[None]]

#: How long to wait for one more message before handing over what has arrived.
BATCH_WAIT_SECONDS = 0.002


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

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        # kombu's loop, extended: after a message, drain what else is waiting, then flush.
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            self.runner.pending.clear()  # messages of a lost channel come again
            while not self.should_stop:
                try:
                    conn.drain_events(timeout=safety_interval)
                    while len(self.runner.pending) < self.runner.batch_limit:
                        conn.drain_events(timeout=BATCH_WAIT_SECONDS)
                except TimeoutError:
                    conn.heartbeat_check()
                except OSError:
                    if not self.should_stop:
                        raise
                self.runner.flush(self.producer)
                yield

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
            self.runner.pending.append((plugin, queue_name, body, message))

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
        prefetch: int = 64,
        dispatch_batch: DispatchBatch | None = None,
    ) -> None:
        self.url = url
        self.exchange_name = exchange_name
        self.prefix = prefix
        self.bindings = bindings
        self.dispatch = dispatch
        self.loop = loop
        self.max_attempts = max_attempts
        self.prefetch = prefetch
        self.dispatch_batch = dispatch_batch
        self.batch_limit = prefetch * max(len(bindings), 1)
        #: (plugin, queue name, body, message) received and not yet handled, in arrival order.
        self.pending: list[tuple[str, str, Any, Any]] = []
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

    def flush(self, producer: Producer) -> None:
        """Handle every pending message, plugin by plugin, each plugin's in arrival order."""
        pending, self.pending = self.pending, []
        by_plugin: dict[str, list] = {}
        for item in pending:
            by_plugin.setdefault(item[0], []).append(item)
        for plugin, items in by_plugin.items():
            if len(items) > 1 and self.dispatch_batch is not None and self._handled_as_batch(plugin, items):
                continue
            for _, queue_name, body, message in items:
                self.handle(plugin, queue_name, body, message, producer)

    def _handled_as_batch(self, plugin: str, items: list) -> bool:
        events = []
        for _, _, body, message in items:
            if (message.headers or {}).get(ATTEMPTS_HEADER):
                return False  # a retry: it failed before, give it its own transaction
            try:
                events.append(DomainEvent.from_envelope(json.loads(body) if isinstance(body, str | bytes) else body))
            except ValueError:
                return False
        future = asyncio.run_coroutine_threadsafe(self.dispatch_batch(plugin, events), self.loop)
        try:
            future.result()
        except Exception as exc:  # noqa: BLE001 - the messages are handled one by one instead
            log.info("batch of %d messages for %s not taken as a whole (%r); one by one", len(items), plugin, exc)
            return False
        for _, _, _, message in items:
            message.ack()
        return True

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
