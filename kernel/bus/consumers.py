"""Consuming plugin queues: one kombu connection and thread per plugin, handlers on the event loop.

Each plugin gets one durable queue bound to the patterns of its consumers, and
its own connection and thread, so a slow or stuck plugin delays nobody else. A
message is acknowledged only after its handlers ran on the event loop, within
``timeout`` seconds. A failing message is retried after a delay that grows with
each attempt (``retry_delays``): on RabbitMQ it waits in ``<queue>.retry.<n>``,
a queue whose messages expire back into the plugin's queue, so nothing waits in
memory; on the in-memory bus the process holds it. After ``max_attempts``
failures it moves to ``<queue>.dead-letter``. A transaction that keeps
conflicting with concurrent ones (:class:`ConcurrencyConflict`) is retried the
same way but never counts as an attempt: a good message is never dead-lettered
for its neighbours' writes.

Messages already waiting when one arrives are taken too (up to the prefetch)
and handed to the plugin as one batch, processed in one transaction: on
a database where each transaction costs milliseconds this multiplies what one
consumer process gets through. If the batch fails, its messages are handled
one by one, so a bad message is retried and dead-lettered alone.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

from kombu import Producer

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.bus.stoppable import StoppableConsumer
from eventonight.kernel.bus.topology import (
    connection_for,
    dead_letter_queue,
    is_amqp,
    plugin_queue,
    retry_queue,
)
from eventonight.kernel.errors import ConcurrencyConflict

log = logging.getLogger(__name__)

ATTEMPTS_HEADER = "x-eventonight-attempts"
ERROR_HEADER = "x-eventonight-error"

Dispatch = Callable[[str, DomainEvent], Awaitable[None]]
DispatchBatch = Callable[[str, list[DomainEvent]], Awaitable[None]]

#: How long to wait for one more message before handing over what has arrived.
BATCH_WAIT_SECONDS = 0.002
#: While a batch is handled, how long one wait for the next messages lasts.
RECEIVE_SLICE_SECONDS = 0.01


class _Worker(StoppableConsumer):
    def __init__(self, runner: ConsumerRunner) -> None:
        self.runner = runner
        self.connection = connection_for(runner.url)
        self.producer: Producer | None = None
        self._connection = None

    def get_consumers(self, Consumer, channel):  # noqa: N803 - kombu's signature
        runner = self.runner
        dead_letter_queue(runner.queue.name)(channel).declare()
        if runner.amqp:
            for delay in runner.retry_delays:
                retry_queue(runner.queue.name, delay)(channel).declare()
        return [
            Consumer(
                queues=[runner.queue],
                callbacks=[self._on_message],
                accept=["json"],
                # Twice the batch: the next batch is already delivered while one is handled.
                prefetch_count=runner.window,
                on_decode_error=self._on_decode_error,
            )
        ]

    def consume(self, limit=None, timeout=None, safety_interval=1, **kwargs):
        # kombu's loop, extended: after a message, drain what else is waiting, then flush.
        # Messages of a lost channel cannot be acked on a new one (the broker redelivers
        # them): forget them *before* consuming again. Forgetting them after basic.consume
        # would drop the first prefetch window, never acked, and stall the queue for good.
        self.runner.pending.clear()
        with self.consumer_context(**kwargs) as (conn, _channel, _consumers):
            self._connection = conn
            while not self.should_stop:
                try:
                    if not self.runner.pending:  # else some arrived while the last batch was handled
                        conn.drain_events(timeout=min(safety_interval, self.runner.next_retry_in()))
                    while len(self.runner.pending) < self.runner.prefetch:
                        conn.drain_events(timeout=BATCH_WAIT_SECONDS)
                except TimeoutError:
                    conn.heartbeat_check()
                except OSError:
                    if not self.should_stop:
                        raise
                self.runner.flush(self.producer)
                self.runner.release_due_retries(self.producer)
                yield

    def receive_while(self, future) -> None:
        """Take the next messages off the connection while ``future`` (a batch) runs, up to the prefetch.

        They are parsed while the batch waits on the database, so the next batch is ready
        when this one is acknowledged. A failing connection ends the receiving; the consume
        loop meets the failure again and reconnects (unacknowledged messages come back).
        """
        connection = self._connection
        if connection is None:
            return
        try:
            while not future.done() and len(self.runner.pending) < self.runner.prefetch:
                try:
                    connection.drain_events(timeout=RECEIVE_SLICE_SECONDS)
                except TimeoutError:
                    pass
        except Exception as exc:  # noqa: BLE001 - the batch still ends; the loop reconnects
            log.debug("receiving during a batch of %s stopped: %r", self.runner.plugin, exc)

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self.producer = Producer(channel, serializer="json")
        self.runner.ready.set()

    def on_connection_error(self, exc, interval):
        self.runner.ready.clear()
        log.warning("broker connection of %s lost (%s); reconnecting in %.1fs", self.runner.plugin, exc, interval)

    def _on_decode_error(self, message, exc) -> None:
        self.runner._dead_letter(message.body, message, self.producer, f"undecodable: {exc}", 1)

    def _on_message(self, body: Any, message) -> None:
        self.runner.pending.append((body, message))


class ConsumerRunner:
    """Consumes one plugin's queue in a thread of its own."""

    def __init__(
        self,
        *,
        url: str | None,
        exchange_name: str,
        prefix: str,
        plugin: str,
        patterns: list[str],
        dispatch: Dispatch,
        loop: asyncio.AbstractEventLoop,
        max_attempts: int = 5,
        prefetch: int = 64,
        dispatch_batch: DispatchBatch | None = None,
        timeout: float = 60.0,
        retry_delays: list[float] | tuple[float, ...] = (1.0, 5.0, 30.0, 120.0),
        metrics=None,
    ) -> None:
        self.url = url
        self.metrics = metrics
        self.amqp = is_amqp(url)
        self.plugin = plugin
        self.queue = plugin_queue(prefix, plugin, exchange_name, patterns)
        self.dispatch = dispatch
        self.dispatch_batch = dispatch_batch
        self.loop = loop
        self.max_attempts = max_attempts
        #: The largest batch; the broker delivers up to :attr:`window` unacknowledged messages.
        self.prefetch = prefetch
        self.window = 2 * prefetch
        self.timeout = timeout
        self.retry_delays = list(retry_delays) or [0.0]
        #: (body, message) received and not yet handled, in arrival order.
        self.pending: list[tuple[Any, Any]] = []
        #: In-memory bus only: (due, envelope, headers) waiting for their retry.
        self._delayed: list[tuple[float, Any, dict[str, Any]]] = []
        self.ready = threading.Event()
        self._worker = _Worker(self)
        self._thread = threading.Thread(target=self._worker.run, name=f"eventonight-consumer-{plugin}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    async def wait_ready(self, timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(self.ready.wait, timeout)

    def stop(self) -> None:
        self._worker.should_stop = True
        if self._thread.is_alive():
            self._thread.join(10)

    # -- handling -------------------------------------------------------
    def _run(self, coroutine, *, receiving: bool = False) -> None:
        """Run a handler coroutine on the event loop, within the time limit; raise what it raised.

        ``receiving``: take the next messages off the connection meanwhile.
        """

        async def limited():
            async with asyncio.timeout(self.timeout):
                await coroutine

        future = asyncio.run_coroutine_threadsafe(limited(), self.loop)
        if receiving:
            self._worker.receive_while(future)
        future.result()

    def flush(self, producer: Producer) -> None:
        """Handle every pending message in arrival order, as one batch when possible."""
        pending, self.pending = self.pending, []
        for start in range(0, len(pending), self.prefetch):
            batch = pending[start : start + self.prefetch]
            if len(batch) > 1 and self.dispatch_batch is not None and self._handled_as_batch(batch):
                continue
            for body, message in batch:
                self.handle(body, message, producer)

    def _handled_as_batch(self, items: list) -> bool:
        events = []
        for body, message in items:
            if ATTEMPTS_HEADER in (message.headers or {}):
                # A retry failed before (a conflict retry too, whose count stays 0): its own transaction.
                return False
            try:
                events.append(DomainEvent.from_envelope(json.loads(body) if isinstance(body, str | bytes) else body))
            except ValueError:
                return False
        try:
            self._run(self.dispatch_batch(self.plugin, events), receiving=True)
        except Exception as exc:  # noqa: BLE001 - the messages are handled one by one instead
            log.info("batch of %d messages for %s not taken as a whole (%r); one by one", len(items), self.plugin, exc)
            return False
        if self.amqp:
            # One frame for the batch: every earlier delivery of this channel is settled already
            # (handled one by one, retried or dead-lettered), so "up to this one" is exactly the batch.
            items[-1][1].ack(multiple=True)
        else:  # the in-memory transport settles one delivery per ack
            for _, message in items:
                message.ack()
        self._count("handled", len(items))
        return True

    def _count(self, outcome: str, amount: int = 1) -> None:
        if self.metrics is not None:
            self.metrics.messages.labels(self.plugin, outcome).inc(amount)

    def handle(self, body: Any, message, producer: Producer) -> None:
        try:
            envelope = json.loads(body) if isinstance(body, str | bytes) else body
            event = DomainEvent.from_envelope(envelope)
        except ValueError as exc:
            self._dead_letter(body, message, producer, f"malformed message: {exc}", 1)
            return
        attempts = int((message.headers or {}).get(ATTEMPTS_HEADER, 0))
        try:
            self._run(self.dispatch(self.plugin, event))
            self._count("handled")
        except Exception as exc:  # noqa: BLE001 - any handler failure is retried, then dead-lettered
            self._count("failed")
            if isinstance(exc, TimeoutError):
                exc = TimeoutError(f"handler took longer than {self.timeout}s")
            if not isinstance(exc, ConcurrencyConflict):
                attempts += 1  # contention is nobody's fault: it never counts
            if attempts >= self.max_attempts:
                self._dead_letter(envelope, message, producer, repr(exc), attempts)
                return
            delay = self.delay_for(attempts)
            log.warning(
                "consumer %s failed on %s (attempt %d), retry in %.1fs: %r", self.plugin, event.id, attempts, delay, exc
            )
            # Re-queue first, then ack: a crash in between means a duplicate, which dedupe absorbs.
            headers = {ATTEMPTS_HEADER: attempts, ERROR_HEADER: repr(exc)[:500]}
            self._retry_later(envelope, headers, delay, producer, event.id)
        message.ack()

    def delay_for(self, attempts: int) -> float:
        """The wait before the next try after ``attempts`` failures: the delays in turn, the last one repeating."""
        return self.retry_delays[min(max(attempts, 1), len(self.retry_delays)) - 1]

    def queue_names(self) -> list[str]:
        """Every queue this runner declares (for the queue registry and ``plugins prune``)."""
        names = [self.queue.name, dead_letter_queue(self.queue.name).name]
        if self.amqp:
            names += [retry_queue(self.queue.name, delay).name for delay in self.retry_delays]
        return names

    def _retry_later(self, envelope, headers, delay: float, producer: Producer, message_id: str) -> None:
        if self.amqp:
            queue = retry_queue(self.queue.name, delay)
            producer.publish(
                envelope, exchange="", routing_key=queue.name, delivery_mode=2, headers=headers, message_id=message_id
            )
        else:
            self._delayed.append((time.monotonic() + delay, envelope, headers))

    def next_retry_in(self) -> float:
        """Seconds until the next in-memory retry is due (large when none waits)."""
        if not self._delayed:
            return 3600.0
        return max(0.0, min(due for due, _, _ in self._delayed) - time.monotonic())

    def release_due_retries(self, producer: Producer) -> None:
        """In-memory bus: put retries whose delay has passed back on the plugin's queue."""
        if not self._delayed:
            return
        now = time.monotonic()
        due = [d for d in self._delayed if d[0] <= now]
        self._delayed = [d for d in self._delayed if d[0] > now]
        for _, envelope, headers in due:
            producer.publish(envelope, exchange="", routing_key=self.queue.name, delivery_mode=2, headers=headers)

    def _dead_letter(self, body, message, producer, reason: str, attempts: int) -> None:
        self._count("dead_lettered")
        dlq = dead_letter_queue(self.queue.name)
        message_id = body.get("id") if isinstance(body, dict) else None
        log.error(
            "dead-lettering message %s from %s after %d attempt(s): %s", message_id, self.queue.name, attempts, reason
        )
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
