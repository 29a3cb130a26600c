"""pytest fixtures for the kernel and for plugin authors: real MongoDB protocol, real RabbitMQ.

Enable with ``pytest_plugins = ["eventonight.kernel.testing"]`` in a conftest.

- ``mongo_uri``: a SecantusDB server on a free port, in memory, for the session.
- ``broker_url``: the RabbitMQ at ``EVENTONIGHT_TEST_BROKER_URL`` (default
  ``amqp://guest:guest@127.0.0.1:5672//``); the tests fail if it is down.
- ``settings``: settings with a fresh database, exchange and queue prefix per test.
- ``platform``: ``await platform(extra_plugins=[...])`` starts an app in-process
  and returns a :class:`Platform` with an HTTP client, the kernel and helpers.
- ``bus_tap``: ``await bus_tap("user.#")`` collects what reaches the exchange.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from kombu import Exchange, Queue

from eventonight.kernel.bus.topology import connection_for
from eventonight.kernel.embedded_mongo import EmbeddedMongo, free_port
from eventonight.settings import Settings

DEFAULT_BROKER = "amqp://guest:guest@127.0.0.1:5672//"


async def wait_until(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.02) -> Any:
    """Poll ``predicate`` (sync or async) until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


@pytest.fixture(scope="session")
def mongo_uri():
    server = EmbeddedMongo(":memory:", free_port())
    uri = server.start()
    yield uri
    server.stop()


@pytest.fixture(scope="session")
def broker_url():
    url = os.environ.get("EVENTONIGHT_TEST_BROKER_URL", DEFAULT_BROKER)
    connection = connection_for(url)
    try:
        connection.ensure_connection(max_retries=3, timeout=5)
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"RabbitMQ is not reachable at {url}: {exc} (start it with: rabbitmq-server -detached)")
    finally:
        connection.release()
    return url


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class PrivateRabbit:
    """A RabbitMQ node of our own (own node name, port and data), so stopping it disturbs nobody."""

    def __init__(self) -> None:
        self.port = free_port()
        self.node = f"eotest{uuid4().hex[:8]}@localhost"
        self.base = Path(tempfile.mkdtemp(prefix="eventonight-rabbit-"))
        (self.base / "mnesia").mkdir()
        (self.base / "log").mkdir()
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        self.env = {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.base / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(self.base / "feature_flags"),
            "RABBITMQ_PID_FILE": str(self.base / "pid"),
        }
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, *args], env=self.env, check=True, capture_output=True, timeout=60
        )

    def _wait(self, up: bool, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while _listening(self.port) != up:
            if time.monotonic() > deadline:
                raise RuntimeError(f"private RabbitMQ did not become {'reachable' if up else 'unreachable'}")
            time.sleep(0.1)

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.base, "rabbitmq", "rabbitmq")
            for path in self.base.rglob("*"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        subprocess.run(["rabbitmq-server", "-detached"], env=self.env, check=True, capture_output=True, timeout=60)
        self._wait(True)

    def stop_app(self) -> None:
        self._ctl("stop_app")
        self._wait(False)

    def start_app(self) -> None:
        self._ctl("start_app")
        self._wait(True)

    def shutdown(self) -> None:
        subprocess.run(["rabbitmqctl", "-n", self.node, "stop"], env=self.env, capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture(scope="session")
def private_rabbit():
    if shutil.which("rabbitmq-server") is None:
        pytest.fail("rabbitmq-server is not installed; the broker-outage tests need a private node")
    rabbit = PrivateRabbit()
    rabbit.start()
    yield rabbit
    rabbit.shutdown()


#: The key-encryption key of test platforms (a test database is not the embedded one).
TEST_KEK = "cGxhdGZvcm0tdGVzdHMtZXZlbnRvbmlnaHQta2VrISE="


@pytest.fixture(scope="session")
def run_id():
    return uuid4().hex[:10]


@pytest.fixture
def settings(mongo_uri, broker_url, run_id, tmp_path):
    test_id = uuid4().hex[:10]
    settings = Settings(
        mongodb_uri=mongo_uri,
        database=f"t_{test_id}",
        broker_url=broker_url,
        exchange=f"eventonight.test.{run_id}",
        queue_prefix=f"eotest.{test_id}",
        data_dir=tmp_path / "var",
        relay_poll_seconds=0.05,
        relay_backoff_initial=0.05,
        relay_backoff_max=0.5,
        relay_lease_seconds=3,
        consumer_max_attempts=3,
        consumer_retry_delays=[0.05, 0.1],
        key_encryption_keys=[TEST_KEK],
    )
    yield settings
    _delete_queues(settings)


def _delete_queues(settings: Settings) -> None:
    """Remove the durable queues the test's kernels declared (they outlive connections).

    Every worker records its plugins' queues in the database (``kernel_queues``),
    so this finds third-party plugins' queues too, retry and dead-letter ones included.
    """
    from pymongo import MongoClient

    from eventonight.kernel.bus.queues import QUEUES, PluginQueues, delete_on_broker

    client = MongoClient(settings.mongodb_uri)
    try:
        query = {"exchange": settings.exchange, "prefix": settings.queue_prefix}
        entries = [
            PluginQueues(d["plugin"], d.get("queues", []), d.get("patterns", []))
            for d in client[settings.database][QUEUES].find(query)
        ]
    finally:
        client.close()
    if entries:
        delete_on_broker(settings, entries)


def publish_event(settings: Settings, event_type: str, payload: dict[str, Any], event_id: str | None = None) -> str:
    """Publish a domain event envelope on the real broker, as another plugin's relay would."""
    from datetime import UTC, datetime

    envelope = {
        "id": event_id or str(uuid4()),
        "eventType": event_type,
        "occurredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "payload": payload,
    }
    exchange = Exchange(settings.exchange, type="topic", durable=True)
    with connection_for(settings.broker_url) as connection:
        connection.Producer().publish(
            envelope, exchange=exchange, routing_key=event_type, serializer="json", delivery_mode=2, declare=[exchange]
        )
    return envelope["id"]


def bearer(token: str) -> dict[str, str]:
    """The Authorization header for an access token."""
    return {"Authorization": f"Bearer {token}"}


class BusTap:
    """An exclusive queue bound to the test exchange, collecting envelopes in a thread."""

    def __init__(self, url: str, exchange: str, patterns: tuple[str, ...]) -> None:
        self.messages: list[dict[str, Any]] = []
        self.headers: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._url, self._exchange, self._patterns = url, exchange, patterns
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        exchange = Exchange(self._exchange, type="topic", durable=True)
        with connection_for(self._url) as connection:
            channel = connection.channel()
            exchange(channel).declare()
            queue = Queue(f"tap.{uuid4().hex}", exclusive=True, auto_delete=True, channel=channel)
            queue.declare()
            for pattern in self._patterns:
                queue.bind_to(exchange, routing_key=pattern)

            def on_message(body, message):
                self.messages.append(json.loads(body) if isinstance(body, str | bytes) else body)
                self.headers.append(dict(message.headers or {}))
                message.ack()

            with connection.Consumer(queue, callbacks=[on_message], accept=["json"], channel=channel):
                self._ready.set()
                while not self._stop.is_set():
                    try:
                        connection.drain_events(timeout=0.1)
                    except TimeoutError:
                        pass

    async def start(self) -> BusTap:
        self._thread.start()
        await asyncio.to_thread(self._ready.wait, 10)
        return self

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("eventType") == event_type]

    async def wait_for(self, event_type: str, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        await wait_until(lambda: len(self.of_type(event_type)) >= count, timeout)
        return self.of_type(event_type)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture
async def bus_tap(settings):
    taps: list[BusTap] = []

    async def make(*patterns: str) -> BusTap:
        tap = BusTap(settings.broker_url, settings.exchange, patterns or ("#",))
        taps.append(tap)
        return await tap.start()

    yield make
    for tap in taps:
        tap.stop()


class Platform:
    """A running app in-process: ``client`` (aiohttp TestClient), ``kernel``, token helper."""

    def __init__(self, client, kernel) -> None:
        self.client = client
        self.kernel = kernel

    def token(self, user_id: str | None = None, role: str = "member") -> str:
        return self.kernel.tokens.issue_access_token(user_id or uuid4().hex, role)

    def auth(self, user_id: str | None = None, role: str = "member") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, role)}"}


@pytest.fixture
async def platform(settings):
    from aiohttp.test_utils import TestClient, TestServer

    from eventonight.kernel.http.app import create_app
    from eventonight.kernel.kernel import Kernel

    clients: list[TestClient] = []

    async def start(
        extra_plugins=(), settings_override: Settings | None = None, *, public_port: int | None = None, **roles
    ) -> Platform:
        # public_port: listen on this port and announce http://127.0.0.1:<port> as the public URL
        # (for plugins that call the platform back through it).
        chosen = settings_override or settings
        if public_port is not None:
            chosen = chosen.model_copy(update={"public_url": f"http://127.0.0.1:{public_port}"})
        kernel = Kernel(chosen, extra_plugins=list(extra_plugins))
        client = TestClient(TestServer(await create_app(kernel, **roles), port=public_port))
        await client.start_server()
        clients.append(client)
        return Platform(client, kernel)

    yield start
    for client in reversed(clients):
        await client.close()
