"""``eventonight dlq list|replay|purge <plugin>``: inspect and re-deliver dead letters.

A message lands in ``<queue>.dead-letter`` after ``consumer_max_attempts``
failures (or when it cannot be decoded). Once the cause is fixed, ``replay``
moves the messages back into the plugin's queue with a fresh attempt count;
the consumers' de-duplication makes a replay of something already handled
harmless. Only meaningful with a real broker: the in-memory bus lives and dies
with its process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from kombu import Queue

from eventonight.kernel.bus.consumers import ATTEMPTS_HEADER, ERROR_HEADER
from eventonight.kernel.bus.topology import connection_for, dead_letter_queue, is_amqp
from eventonight.settings import Settings


@dataclass(frozen=True)
class DeadLetter:
    id: str | None
    event_type: str | None
    attempts: int
    error: str
    body: Any


def _queues(settings: Settings, plugin: str) -> tuple[str, Queue]:
    queue = f"{settings.queue_prefix}.{plugin}"
    return queue, dead_letter_queue(queue)


def _bound(dlq: Queue, channel) -> Queue:
    queue = dlq(channel)
    queue.declare()  # absent means empty, not an error
    return queue


def _parse(message) -> DeadLetter:
    headers = message.headers or {}
    try:
        body = json.loads(message.body)
    except (TypeError, ValueError):
        body = message.body
    envelope = body if isinstance(body, dict) else {}
    return DeadLetter(
        envelope.get("id"),
        envelope.get("eventType"),
        int(headers.get(ATTEMPTS_HEADER, 0)),
        str(headers.get(ERROR_HEADER, "")),
        body,
    )


def list_dead_letters(settings: Settings, plugin: str, limit: int = 100) -> list[DeadLetter]:
    """The first ``limit`` dead letters of ``plugin``, left in place."""
    _, dlq = _queues(settings, plugin)
    found = []
    with connection_for(settings.broker_url) as connection:
        channel = connection.channel()
        queue = _bound(dlq, channel)
        try:
            while len(found) < limit:
                message = queue.get(no_ack=False)
                if message is None:
                    break
                found.append(_parse(message))
        finally:
            channel.close()  # unacknowledged: every message returns to the queue
    return found


def replay(settings: Settings, plugin: str, limit: int = 100) -> int:
    """Move up to ``limit`` dead letters back into the plugin's queue, attempts reset."""
    queue_name, dlq = _queues(settings, plugin)
    moved = 0
    with connection_for(settings.broker_url) as connection:
        channel = connection.channel()
        producer = connection.Producer(channel=channel)
        queue = _bound(dlq, channel)
        while moved < limit:
            message = queue.get(no_ack=False)
            if message is None:
                break
            # Publish (confirmed on RabbitMQ) before the ack: a crash in between duplicates, never loses.
            producer.publish(
                message.body,
                exchange="",
                routing_key=queue_name,
                delivery_mode=2,
                serializer=None,
                content_type=message.content_type,
                content_encoding=message.content_encoding,
            )
            message.ack()
            moved += 1
        channel.close()
    return moved


def purge(settings: Settings, plugin: str) -> int:
    """Delete every dead letter of ``plugin``; how many there were."""
    _, dlq = _queues(settings, plugin)
    with connection_for(settings.broker_url) as connection:
        channel = connection.channel()
        count = _bound(dlq, channel).purge() or 0
        channel.close()
    return count


def cmd_dlq(settings: Settings, args) -> int:
    if not is_amqp(settings.broker_url):
        print("dlq: the in-memory bus keeps no dead letters between processes; set EVENTONIGHT_BROKER_URL")
        return 2
    if args.action == "list":
        letters = list_dead_letters(settings, args.plugin, args.limit)
        for letter in letters:
            print(f"{letter.id}  {letter.event_type}  attempts={letter.attempts}  {letter.error}")
        print(f"{len(letters)} dead letter(s) shown")
    elif args.action == "replay":
        print(f"replayed {replay(settings, args.plugin, args.limit)} message(s) into {args.plugin}'s queue")
    else:
        print(f"purged {purge(settings, args.plugin)} dead letter(s)")
    return 0
