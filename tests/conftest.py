"""Kernel test fixtures: a queue that makes the broker refuse publishes; the private RabbitMQ node lives in
eventonight.hooks.testing (``private_rabbit``)."""

from uuid import uuid4

import pytest
from kombu import Queue

from eventonight.kernel.bus.topology import connection_for, exchange


@pytest.fixture
def bounded_queue(settings):
    """A queue on the test exchange holding at most 10 messages: the broker refuses (nacks) the rest."""
    queue = Queue(
        f"test.bounded.{uuid4().hex}",
        exchange(settings.exchange),
        routing_key="sample.#",
        durable=True,
        auto_delete=False,
        queue_arguments={"x-max-length": 10, "x-overflow": "reject-publish"},
    )
    with connection_for(settings.broker_url) as connection:
        channel = connection.channel()
        exchange(settings.exchange)(channel).declare()
        queue(channel).declare()
        yield queue(channel)
        queue(channel).delete()
