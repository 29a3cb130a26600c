"""The publisher's confirms against the real broker: a publish counts only what RabbitMQ stored."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from eventonight.hooks.types import DomainEvent
from eventonight.kernel.bus.publisher import CORK_BYTES, PartialPublish, Publisher, Refused


def _envelopes(n: int, start: int = 0) -> list[dict]:
    at = datetime.now(UTC)
    return [DomainEvent(str(uuid4()), "sample.item.created", at, {"seq": i}).to_envelope() for i in range(start, n)]


def _drain(queue, count: int) -> list[int]:
    seqs = []
    for _ in range(count):
        message = queue.get(no_ack=True)
        seqs.append(message.decode()["payload"]["seq"])
    return seqs


async def test_a_batch_is_confirmed_whole_and_arrives_in_order(settings, bounded_queue):
    publisher = Publisher(settings.broker_url, settings.exchange)
    try:
        assert await publisher.publish(_envelopes(10)) == 10
        assert _drain(bounded_queue, 10) == list(range(10))
        # The channel's delivery tags go on across batches; each batch counts its own.
        assert await publisher.publish(_envelopes(17, start=10)) == 7
        assert _drain(bounded_queue, 7) == list(range(10, 17))
    finally:
        publisher.close()


async def test_messages_the_broker_refuses_are_not_counted_and_the_rest_can_be_published_again(settings, bounded_queue):
    publisher = Publisher(settings.broker_url, settings.exchange)
    try:
        envelopes = _envelopes(25)
        with pytest.raises(PartialPublish) as caught:
            await publisher.publish(envelopes)
        assert caught.value.confirmed == 10  # the queue took ten; the broker nacked the others
        assert isinstance(caught.value.cause, Refused)
        assert _drain(bounded_queue, 10) == list(range(10))
        # As the relay does: publish again from the first unconfirmed one, on a new connection.
        assert await publisher.publish(envelopes[10:20]) == 10
        assert _drain(bounded_queue, 10) == list(range(10, 20))
    finally:
        publisher.close()


async def test_a_batch_goes_out_in_few_socket_writes_and_large_messages_whole(settings, bounded_queue):
    # Each write hands the GIL to a busy event loop and waits to get it back; a large batch still
    # goes out in pieces of CORK_BYTES, so the broker starts on it while the rest is framed.
    publisher = Publisher(settings.broker_url, settings.exchange)
    try:
        assert await publisher.publish(_envelopes(1)) == 1
        bounded_queue.get(no_ack=True)
        writes = publisher._corked.writes
        assert await publisher.publish(_envelopes(10)) == 10
        assert publisher._corked.writes == writes + 1
        assert [m["payload"]["seq"] for m in (bounded_queue.get(no_ack=True).decode() for _ in range(10))] == list(
            range(10)
        )

        writes = publisher._corked.writes
        large = _envelopes(10)
        large[3]["payload"]["blob"] = "x" * 400_000  # several AMQP frames (frame_max is 128 KiB)
        assert await publisher.publish(large) == 10
        assert writes + 2 <= publisher._corked.writes <= writes + 1 + 400_000 // CORK_BYTES
        messages = [bounded_queue.get(no_ack=True).decode() for _ in range(10)]
        assert [m["payload"]["seq"] for m in messages] == list(range(10))
        assert messages[3]["payload"]["blob"] == "x" * 400_000
    finally:
        publisher.close()


async def test_a_batch_that_fails_while_framed_sends_none_of_it_and_the_next_goes_out(settings, bounded_queue):
    publisher = Publisher(settings.broker_url, settings.exchange)
    try:
        broken = _envelopes(5)
        broken[2]["payload"]["seq"] = object()  # the JSON serializer refuses it, after two were framed
        with pytest.raises(PartialPublish) as caught:
            await publisher.publish(broken)
        assert caught.value.confirmed == 0
        assert await publisher.publish(_envelopes(13, start=10)) == 3
        # The two framed before the failure were held, not sent: the queue has only the next batch.
        assert _drain(bounded_queue, 3) == [10, 11, 12]
        assert bounded_queue.get(no_ack=True) is None
    finally:
        publisher.close()
