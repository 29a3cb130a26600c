"""Publishing envelopes to the topic exchange, from a dedicated thread.

kombu is synchronous; one thread owns the connection so publishes and their
broker confirms never block the event loop. On RabbitMQ a batch is published
with publisher confirms, pipelined: every message goes out, then the broker's
acks are awaited together (it may ack many with one frame), instead of one
round trip per message. A publish call returns how many messages, from the
first, the broker confirmed.

A batch's frames also go out together: held until ``CORK_BYTES`` have gathered,
then written at once (:class:`_Corked`). Each write releases the GIL and the publishing thread must win
it back from the event loop before its next message: with the loop busy (thousands
of live streams), 64 messages written one by one took 117 ms on average to publish
against 13 ms idle, the relay's largest cost between a consumer's commit and a
stream's frame. Larger batches still go out in pieces, so that the broker works on
the first messages while the next ones are framed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from amqp.method_framing import frame_writer

from eventonight.kernel.bus.topology import connection_for, exchange, is_amqp

log = logging.getLogger(__name__)

#: How long a batch may wait for the broker's confirms before the connection is given up.
CONFIRM_TIMEOUT_SECONDS = 30.0
#: A batch's frames are held until at least this many bytes, then written at once (see the module's docstring).
CORK_BYTES = 64 * 1024


class Refused(Exception):
    """The broker refused (nacked) a message: it is not stored, the publish must be retried."""


class _Confirms:
    """What the broker said of each delivery tag on one confirm-mode channel."""

    def __init__(self, channel) -> None:
        self.sent = 0  # delivery tags 1..sent were handed out, in publish order
        self.settled = 0  # every tag up to here was reported to a caller and forgotten
        self.outcomes: dict[int, bool] = {}
        channel.confirm_select()
        channel.events["basic_ack"].add(lambda tag, multiple: self._settle(tag, multiple, True))
        channel.events["basic_nack"].add(lambda tag, multiple: self._settle(tag, multiple, False))

    def _settle(self, tag: int, multiple: bool, ok: bool) -> None:
        for each in range(self.settled + 1 if multiple else tag, tag + 1):
            self.outcomes.setdefault(each, ok)

    def confirmed(self, first: int, last: int) -> tuple[int, bool]:
        """How many of tags ``first..last`` are acked in a row from ``first``; and whether all are settled."""
        count = 0
        for tag in range(first, last + 1):
            if self.outcomes.get(tag) is not True:
                break
            count += 1
        return count, all(tag in self.outcomes for tag in range(first, last + 1))

    def forget(self, last: int) -> None:
        for tag in range(self.settled + 1, last + 1):
            self.outcomes.pop(tag, None)
        self.settled = last


class _Corked:
    """A transport for py-amqp's frame writer: while corked, frames are held and written once
    ``CORK_BYTES`` have gathered; uncorking writes the rest.

    py-amqp hands each message to ``transport.write`` as a view of one shared buffer, so a held
    frame is copied. Anything written while not corked (heartbeats) goes straight through.
    """

    def __init__(self, transport, limit: int = CORK_BYTES) -> None:
        self.transport = transport
        self.limit = limit
        self.held: list[bytes] | None = None
        self.size = 0
        #: Socket writes made: what the tests observe.
        self.writes = 0

    def write(self, data) -> None:
        if self.held is None:
            self._send(data)
            return
        self.held.append(bytes(data))
        self.size += len(data)
        if self.size >= self.limit:
            self._send(b"".join(self.held))
            self.held, self.size = [], 0

    def _send(self, data) -> None:
        self.writes += 1
        self.transport.write(data)

    def cork(self) -> None:
        self.held, self.size = [], 0

    def uncork(self, *, send: bool = True) -> None:
        held, self.held, self.size = self.held, None, 0
        if held and send:
            self._send(b"".join(held))


def corked_writer(amqp_connection) -> _Corked:
    """Route ``amqp_connection``'s frames through a :class:`_Corked` (its public ``frame_writer``)."""
    corked = _Corked(amqp_connection.transport)
    amqp_connection.frame_writer = frame_writer(amqp_connection, corked)
    return corked


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
        self._confirms: _Confirms | None = None
        self._corked: _Corked | None = None

    def _ensure(self) -> None:
        if self._producer is not None:
            return
        # Confirms are awaited per batch here, not per message by the transport.
        connection = connection_for(self.url, confirm_each=False)
        connection.connect()
        producer = connection.Producer(serializer="json")
        self.exchange(producer.channel).declare()
        confirms = _Confirms(producer.channel) if is_amqp(self.url) else None
        self._corked = corked_writer(connection.connection) if is_amqp(self.url) else None
        self._connection, self._producer, self._confirms = connection, producer, confirms

    def _reset(self) -> None:
        if self._connection is not None:
            try:
                self._connection.release()
            except Exception:  # noqa: BLE001 - the connection is already broken
                pass
        self._connection = self._producer = self._confirms = self._corked = None

    def _publish_sync(self, envelopes: list[dict[str, Any]]) -> int:
        done = 0
        try:
            self._ensure()
            confirms, corked = self._confirms, self._corked
            if corked is not None:
                corked.cork()
            try:
                for envelope in envelopes:
                    self._producer.publish(
                        envelope,
                        exchange=self.exchange,
                        routing_key=envelope["eventType"],
                        delivery_mode=2,
                        message_id=envelope["id"],
                        retry=False,
                    )
                    if confirms is None:
                        done += 1  # the in-memory bus has nothing to confirm
            except BaseException:
                if corked is not None:
                    corked.uncork(send=False)  # the connection is reset: what was held is not sent
                raise
            if corked is not None:
                corked.uncork()
            if confirms is not None:
                first, last = confirms.sent + 1, confirms.sent + len(envelopes)
                confirms.sent = last
                done = self._await_confirms(confirms, first, last)
        except PartialPublish:
            self._reset()
            raise
        except Exception as exc:
            self._reset()
            raise PartialPublish(done, exc) from exc
        return done

    def _await_confirms(self, confirms: _Confirms, first: int, last: int) -> int:
        deadline = time.monotonic() + CONFIRM_TIMEOUT_SECONDS
        while True:
            count, settled = confirms.confirmed(first, last)
            if settled:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PartialPublish(count, TimeoutError("the broker did not confirm in time"))
            try:
                self._connection.drain_events(timeout=min(remaining, 1.0))
            except TimeoutError:
                pass
            except Exception as exc:
                raise PartialPublish(confirms.confirmed(first, last)[0], exc) from exc
        confirms.forget(last)
        if count < last - first + 1:
            raise PartialPublish(count, Refused(f"the broker refused message {count + 1} of {last - first + 1}"))
        return count

    async def publish(self, envelopes: list[dict[str, Any]]) -> int:
        """Publish in order; returns how many the broker confirmed, or raises PartialPublish.

        ``PartialPublish.confirmed`` counts the messages confirmed in a row from the
        first: a later one the broker may have stored too is published again by the
        caller's retry (consumers de-duplicate by envelope id).
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._publish_sync, envelopes)

    def close(self) -> None:
        self._executor.submit(self._reset).result()
        self._executor.shutdown(wait=True)
