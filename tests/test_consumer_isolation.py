"""Consumers on the real RabbitMQ: a backlog drains, plugins are isolated, retries wait, queues are pruned."""

import asyncio
import json
import time
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from kombu import Exchange, Queue

from eventonight.hooks import Consumer, hookimpl
from eventonight.kernel.bus import deadletters
from eventonight.kernel.bus.topology import connection_for, plugin_queue
from eventonight.kernel.errors import ConcurrencyConflict
from eventonight.kernel.kernel import Kernel
from eventonight.kernel.testing import wait_until


@pytest.fixture
def settings(settings):
    """Only each test's plugins: installed ones would share the exchange and slow everything down."""
    from importlib.metadata import entry_points

    installed = [ep.name for ep in entry_points(group="eventonight.plugins")]
    return settings.model_copy(update={"disabled_plugins": installed})


class Recorder:
    """A plugin consuming ``<name>.#`` and remembering what it handled, when."""

    def __init__(self, name, handler=None):
        self.name, self.handled, self.calls = name, [], []
        self._handler = handler

    @hookimpl
    def eventonight_consumers(self):
        async def handle(event, uow):
            self.calls.append((event.id, time.monotonic()))
            if self._handler is not None:
                await self._handler(event, len([c for c in self.calls if c[0] == event.id]))
            await uow.collection(f"{self.name}_handled").insert_one({"_id": event.id})
            self.handled.append(event.id)

        return [Consumer("record", (f"{self.name}.#",), handle)]


def _publish(settings, routing_key: str, count: int = 1) -> list[str]:
    exchange = Exchange(settings.exchange, type="topic", durable=True)
    ids = []
    with connection_for(settings.broker_url) as connection:
        producer = connection.Producer()
        for i in range(count):
            envelope = {
                "id": str(uuid4()),
                "eventType": routing_key,
                "occurredAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
                "payload": {"i": i},
            }
            producer.publish(
                envelope, exchange=exchange, routing_key=routing_key, serializer="json", declare=[exchange]
            )
            ids.append(envelope["id"])
    return ids


def _declare(settings, plugin: str, patterns: list[str]) -> None:
    with connection_for(settings.broker_url) as connection:
        plugin_queue(settings.queue_prefix, plugin, settings.exchange, patterns)(connection.channel()).declare()


async def test_a_backlog_larger_than_the_prefetch_window_drains_when_the_worker_starts(platform, settings):
    # The worker is down while more than a delivery window (twice the prefetch: 128) piles up in
    # two plugins' queues.
    _declare(settings, "alpha", ["alpha.#"])
    _declare(settings, "beta", ["beta.#"])
    backlog = {"alpha": set(_publish(settings, "alpha.thing", 200)), "beta": set(_publish(settings, "beta.thing", 200))}
    alpha, beta = Recorder("alpha"), Recorder("beta")
    await platform(extra_plugins=[("alpha", alpha), ("beta", beta)])
    await wait_until(lambda: set(alpha.handled) == backlog["alpha"] and set(beta.handled) == backlog["beta"], 30)


async def test_a_slow_plugin_does_not_delay_another_plugins_consumer(platform, settings):
    fast_done = asyncio.Event()
    first_wait_ended = []

    async def slow(event, call):
        # Waits for the other plugin: one shared consumer thread would deadlock here until the timeout.
        await asyncio.wait_for(fast_done.wait(), 10)
        if call == 1:
            first_wait_ended.append(True)

    async def fast(event, call):
        fast_done.set()

    slow_plugin, fast_plugin = Recorder("slow", slow), Recorder("fast", fast)
    await platform(extra_plugins=[("slow", slow_plugin), ("fast", fast_plugin)])
    slow_id = _publish(settings, "slow.thing")[0]
    fast_id = _publish(settings, "fast.thing")[0]
    # Sets: the slow plugin's transaction may run twice. On the embedded engine the first
    # processed-message marker of a new database makes its index multikey, and a transaction that
    # inserts a marker after another one committed the first conflicts once; it is retried, its
    # handler called again (Recorder notes a call's success before its commit).
    await wait_until(lambda: set(slow_plugin.handled) == {slow_id} and set(fast_plugin.handled) == {fast_id}, 15)
    # The other plugin ran while the slow handler's first call waited.
    assert first_wait_ended == [True], "the slow handler's first call timed out: the other plugin was held up"


async def test_a_handler_over_the_time_limit_is_stopped_and_retried(platform, settings):
    cancelled = []

    async def hangs_once(event, call):
        if call == 1:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(event.id)
                raise

    plugin = Recorder("hang", hangs_once)
    limited = settings.model_copy(update={"consumer_timeout_seconds": 0.5})
    await platform(extra_plugins=[("hang", plugin)], settings_override=limited)
    event_id = _publish(settings, "hang.thing")[0]
    await wait_until(lambda: plugin.handled == [event_id], 15)
    assert cancelled == [event_id] and len(plugin.calls) == 2


async def test_a_failed_message_is_retried_after_its_delay_through_a_retry_queue(platform, settings):
    async def fails_once(event, call):
        if call == 1:
            raise RuntimeError("database blip")

    plugin = Recorder("blip", fails_once)
    delayed = settings.model_copy(update={"consumer_retry_delays": [1.5]})
    await platform(extra_plugins=[("blip", plugin)], settings_override=delayed)
    event_id = _publish(settings, "blip.thing")[0]
    await wait_until(lambda: plugin.handled == [event_id], 15)
    first, second = (at for _, at in plugin.calls)
    # Not re-published at once: the second attempt waits at least the configured delay.
    assert second - first >= 1.4
    with connection_for(settings.broker_url) as connection:
        retry = Queue(f"{settings.queue_prefix}.blip.retry.1500ms", channel=connection.channel())
        _, messages, _ = retry.queue_declare(passive=True)
        assert messages == 0, "the retry queue hands the message back and keeps nothing"


async def test_contention_is_retried_without_counting_and_never_dead_letters(platform, settings):
    async def contended(event, call):
        if call <= settings.consumer_max_attempts + 1:
            raise ConcurrencyConflict()

    plugin = Recorder("busy", contended)
    await platform(extra_plugins=[("busy", plugin)])
    event_id = _publish(settings, "busy.thing")[0]
    await wait_until(lambda: plugin.handled == [event_id], 15)
    assert deadletters.list_dead_letters(settings, "busy") == []


async def test_dead_letters_are_listed_replayed_and_purged(platform, settings):
    broken = {"on": True}

    async def poison_while_broken(event, call):
        if broken["on"]:
            raise ValueError("bug in the handler")

    plugin = Recorder("dlq", poison_while_broken)
    await platform(extra_plugins=[("dlq", plugin)])
    ids = _publish(settings, "dlq.thing", 2)
    await wait_until(lambda: len(deadletters.list_dead_letters(settings, "dlq")) == 2, 15)
    letters = deadletters.list_dead_letters(settings, "dlq")
    assert {letter.id for letter in letters} == set(ids)
    assert all(letter.attempts == settings.consumer_max_attempts and "bug in" in letter.error for letter in letters)
    assert len(deadletters.list_dead_letters(settings, "dlq")) == 2, "listing leaves them in place"

    broken["on"] = False  # the bug is fixed
    assert deadletters.replay(settings, "dlq", limit=1) == 1
    await wait_until(lambda: len(plugin.handled) == 1, 15)
    assert deadletters.purge(settings, "dlq") == 1
    assert deadletters.list_dead_letters(settings, "dlq") == []


def _queue_exists(settings, name: str) -> bool:
    with connection_for(settings.broker_url) as connection:
        try:
            Queue(name, channel=connection.channel()).queue_declare(passive=True)
            return True
        except Exception:  # noqa: BLE001 - 404 NOT_FOUND
            return False


async def test_queues_of_an_uninstalled_plugin_are_reported_and_pruned(platform, settings, caplog):
    await platform(extra_plugins=[("gone", Recorder("gone"))])
    main = f"{settings.queue_prefix}.gone"
    assert _queue_exists(settings, main) and _queue_exists(settings, f"{main}.dead-letter")

    # The plugin is uninstalled: the next start warns, and prune removes what it left.
    later = Kernel(settings)
    with caplog.at_level("WARNING"):
        await later.start()
    try:
        assert "gone" in caplog.text and "plugins prune" in caplog.text
        orphans = await later.queues.orphans(later.plugins.installed())
        assert [o.plugin for o in orphans] == ["gone"]
        _publish(settings, "gone.thing")  # still bound: it would pile up forever
        await later.queues.prune(orphans)
        assert not _queue_exists(settings, main) and not _queue_exists(settings, f"{main}.dead-letter")
        assert await later.queues.orphans(later.plugins.installed()) == []
    finally:
        await later.stop()


async def test_dlq_command_lists_replays_and_purges(platform, settings, capsys, monkeypatch):
    from eventonight.kernel.cli import main as cli_main

    async def always_fails(event, call):
        raise ValueError("broken for good")

    await platform(extra_plugins=[("cli", Recorder("cli", always_fails))])
    event_id = _publish(settings, "cli.thing")[0]
    await wait_until(lambda: len(deadletters.list_dead_letters(settings, "cli")) == 1, 15)
    for key in ("mongodb_uri", "database", "broker_url", "exchange", "queue_prefix", "disabled_plugins"):
        value = getattr(settings, key)
        monkeypatch.setenv(f"EVENTONIGHT_{key.upper()}", value if isinstance(value, str) else json.dumps(value))
    assert await asyncio.to_thread(cli_main, ["dlq", "list", "cli"]) == 0
    out = capsys.readouterr().out
    assert event_id in out and "attempts=3" in out and "broken for good" in out
    assert await asyncio.to_thread(cli_main, ["dlq", "purge", "cli"]) == 0
    assert "purged 1 dead letter(s)" in capsys.readouterr().out
    assert await asyncio.to_thread(cli_main, ["dlq", "replay", "cli"]) == 0
    assert "replayed 0 message(s)" in capsys.readouterr().out


_DIE_IN_A_TRANSACTION = """
import os, signal, sys
from pymongo import MongoClient
client = MongoClient(sys.argv[1])
session = client.start_session()
session.start_transaction()
client[sys.argv[2]]["locked_counts"].update_one({"_id": "x"}, {"$inc": {"n": 1}}, session=session)
os.kill(os.getpid(), signal.SIGKILL)  # a worker killed mid-transaction: its locks outlive it
"""


async def test_after_a_worker_died_mid_transaction_the_next_one_keeps_processing(platform, settings):
    import subprocess
    import sys

    class Counter(Recorder):
        @hookimpl
        def eventonight_consumers(self):
            async def handle(event, uow):
                key = "y" if event.payload["i"] else "x"
                self.calls.append((key, time.monotonic()))
                await uow.collection("locked_counts").update_one({"_id": key}, {"$inc": {"n": 1}}, upsert=True)
                self.handled.append(key)

            return [Consumer("count", ("locked.#",), handle)]

    counter = Counter("locked")
    p = await platform(extra_plugins=[("locked", counter)])
    await p.kernel.transaction(lambda uow: uow.collection("locked_counts").insert_one({"_id": "x", "n": 0}))
    subprocess.run([sys.executable, "-c", _DIE_IN_A_TRANSACTION, settings.mongodb_uri, settings.database], check=False)

    _publish(settings, "locked.thing", 2)  # payload i=0 touches the locked "x", i=1 the free "y"
    # The message on the free document goes through while the other waits for the dead lock to lapse.
    # Committed effects, not handler calls: a batch that fails on "x" may have run "y"'s handler, rolled back.
    counts = p.kernel.database.db["locked_counts"]

    async def y_committed():
        return (await counts.find_one({"_id": "y"}) or {}).get("n") == 1

    await wait_until(y_committed, 30)
    assert (await counts.find_one({"_id": "x"}))["n"] == 0, "the locked document waits for its lock to lapse"
    assert deadletters.list_dead_letters(settings, "locked") == [], "contention never dead-letters"
