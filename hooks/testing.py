"""pytest fixtures for plugin tests, against a real MongoDB-protocol server and RabbitMQ.

Enable with ``pytest_plugins = ["eventonight.hooks.testing"]`` in a conftest
(needs ``eventonight[test]``). The fixtures and helpers are documented in
docs/plugins.md, "Testing a plugin".
"""

from eventonight.kernel.embedded_mongo import free_port
from eventonight.kernel.testing import (  # noqa: F401 - the fixtures pytest collects from this module
    BusTap,
    Platform,
    PrivateRabbit,
    bearer,
    broker_url,
    bus_tap,
    mongo_uri,
    platform,
    private_rabbit,
    publish_event,
    run_id,
    settings,
    wait_until,
)
from eventonight.settings import Settings

__all__ = ["BusTap", "Platform", "PrivateRabbit", "Settings", "bearer", "free_port", "publish_event", "wait_until"]
