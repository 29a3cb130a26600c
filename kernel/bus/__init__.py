"""The message bus: kombu publisher (outbox relay side) and consumers."""

from eventonight.kernel.bus.consumers import ConsumerRunner
from eventonight.kernel.bus.publisher import Publisher
from eventonight.kernel.bus.topology import connection_for, pattern_matches

__all__ = ["ConsumerRunner", "Publisher", "connection_for", "pattern_matches"]
