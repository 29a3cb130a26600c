"""Exchange, queue names and routing-key patterns."""

from __future__ import annotations

from functools import lru_cache

from kombu import Connection, Exchange, Queue

# With a host named, kombu does not warn "No hostname was supplied" on every connection.
MEMORY_URL = "memory://localhost/"


def is_amqp(url: str | None) -> bool:
    return bool(url) and url.startswith(("amqp", "pyamqp"))


def connection_for(url: str | None, *, confirm_each: bool = True, **kwargs) -> Connection:
    """A kombu connection; on AMQP each publish waits for the broker's confirm unless ``confirm_each``
    is false (the caller then puts the channel in confirm mode and awaits confirms itself)."""
    url = url or MEMORY_URL
    options = {}
    if is_amqp(url):
        options = {"confirm_publish": True} if confirm_each else {}
    else:
        # The in-memory transport polls; keep the embedded default responsive.
        options = {"polling_interval": 0.01}
    return Connection(url, transport_options=options, connect_timeout=5, **kwargs)


def exchange(name: str) -> Exchange:
    return Exchange(name, type="topic", durable=True)


def plugin_queue(prefix: str, plugin: str, exchange_name: str, patterns: list[str]) -> Queue:
    from kombu import binding

    ex = exchange(exchange_name)
    return Queue(
        f"{prefix}.{plugin}",
        bindings=[binding(ex, routing_key=p) for p in patterns],
        durable=True,
        auto_delete=False,
    )


def dead_letter_queue(queue_name: str) -> Queue:
    return Queue(f"{queue_name}.dead-letter", durable=True, auto_delete=False)


def retry_queue(queue_name: str, delay_seconds: float) -> Queue:
    """Where a failed message waits ``delay_seconds`` before it expires back into ``queue_name``.

    The delay is in the name: RabbitMQ refuses to redeclare a queue with other
    arguments, so changing the delays setting makes new queues instead.
    """
    milliseconds = max(1, int(delay_seconds * 1000))
    return Queue(
        f"{queue_name}.retry.{milliseconds}ms",
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-message-ttl": milliseconds,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": queue_name,
        },
    )


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


@lru_cache(maxsize=4096)
def pattern_matches(pattern: str, routing_key: str) -> bool:
    """AMQP topic matching: ``*`` is exactly one word, ``#`` zero or more words."""
    return _match(tuple(pattern.split(".")), tuple(routing_key.split(".")))
