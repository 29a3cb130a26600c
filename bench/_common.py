"""Helpers shared by the benchmarks (not part of the test run)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from eventonight.kernel.embedded_mongo import EmbeddedMongo, free_port

HERE = Path(__file__).resolve().parent
#: Benchmarks run on a database of their own, not the embedded one: they need a key-encryption key.
BENCH_KEK = Fernet.generate_key().decode()


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def settle(*pids: int, busy: float = 0.1, longest: float = 120) -> float:
    """Seconds until the processes together use less than ``busy`` of a core over two seconds."""
    began = time.perf_counter()
    while time.perf_counter() - began < longest:
        before = sum(cpu_seconds(pid) for pid in pids)
        time.sleep(2)
        if sum(cpu_seconds(pid) for pid in pids) - before < 2 * busy:
            break
    return time.perf_counter() - began


def start_mongo() -> EmbeddedMongo:
    mongo = EmbeddedMongo(":memory:", free_port())
    mongo.start()
    return mongo


def start_eventonight(role: str, mongo_uri: str, port: int, **env: str) -> subprocess.Popen:
    """``eventonight <role>`` (web or serve) from this checkout's venv; ``env`` adds EVENTONIGHT_* settings."""
    settings = {"EVENTONIGHT_MONGODB_URI": mongo_uri, "EVENTONIGHT_PORT": str(port), "EVENTONIGHT_LOG_LEVEL": "WARNING",
                "EVENTONIGHT_KEY_ENCRYPTION_KEYS": json.dumps([BENCH_KEK])}  # fmt: skip
    # The load generator is one client address: the per-address abuse limits would measure themselves.
    for name in ("LOGIN", "REGISTER", "REFRESH"):
        settings[f"EVENTONIGHT_USERS_{name}_RATE_PER_CLIENT"] = "1000000/1"
    return subprocess.Popen(
        [str(HERE.parent / ".venv" / "bin" / "eventonight"), role],
        env={**os.environ, **settings, **{f"EVENTONIGHT_{k.upper()}": v for k, v in env.items()}},
        stdout=subprocess.DEVNULL,
    )


def spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, *args], stdout=subprocess.PIPE, text=True)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def require_wrk() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        sys.exit("this benchmark needs wrk as the load generator: apt-get install wrk")
    return wrk


def wrk(url: str, *, seconds: int = 8, connections: int = 32, header: str | None = None) -> dict[str, float]:
    """Run wrk on one thread (the other core serves) and return req/s and mean latency in ms."""
    args = [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if header:
        args += ["-H", header]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} failed responses")

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return {"rps": rps, "p50_ms": ms("50%"), "p99_ms": ms("99%")}


async def server_tokens(mongo_uri: str, ttl_seconds: int = 3600):
    """A token service with the key set a started ``eventonight`` persisted (under ``BENCH_KEK``):
    access tokens for any user id, as if they had logged in."""
    from eventonight.kernel.auth.keys import KeyStore
    from eventonight.kernel.auth.tokens import TokenService
    from eventonight.kernel.db import Database
    from eventonight.kernel.secrets import load_secrets

    database = Database(mongo_uri, "eventonight")
    try:
        keys = KeyStore(database, load_secrets([BENCH_KEK], False, HERE), token_ttl_seconds=ttl_seconds)
        await keys.load()
    finally:
        await database.close()
    return TokenService(keys, issuer="eventonight", audience="eventonight", access_ttl_seconds=ttl_seconds)


def delete_queues(broker_url: str, prefix: str) -> int:
    """Delete the durable queues an ``eventonight serve`` with ``queue_prefix=prefix`` declared: each
    plugin's queue with its retry and dead-letter queues. A benchmark leaves none behind (left
    over, their backlogs would weigh on the next runs' broker). Returns how many were deleted."""
    from importlib.metadata import entry_points

    from eventonight.kernel.bus.topology import connection_for, dead_letter_queue, retry_queue
    from eventonight.settings import Settings

    delays = Settings.model_fields["consumer_retry_delays"].default
    deleted = 0
    with connection_for(broker_url) as connection:
        for plugin in {ep.name for ep in entry_points(group="eventonight.plugins")}:
            name = f"{prefix}.{plugin}"
            for queue in [name, dead_letter_queue(name).name, *(retry_queue(name, d).name for d in delays)]:
                channel = connection.channel()
                try:
                    channel.queue_delete(queue)
                    deleted += 1
                except Exception:  # noqa: BLE001 - not declared (a plugin without consumers)
                    pass
                finally:
                    try:
                        channel.close()
                    except Exception:  # noqa: BLE001 - closed by the broker's refusal
                        pass
    return deleted


class BusTap(threading.Thread):
    """Calls ``handle(body)`` for each message of ``exchange`` matching ``routing_key``, from a thread
    of its own with an exclusive queue (gone with the connection); ``start()``, ``ready.wait()``,
    then ``stop.set()``."""

    def __init__(self, broker_url: str, exchange: str, routing_key: str, handle) -> None:
        super().__init__(daemon=True)
        self.broker_url, self.exchange, self.routing_key, self.handle = broker_url, exchange, routing_key, handle
        self.ready, self.stop = threading.Event(), threading.Event()

    def run(self) -> None:
        from uuid import uuid4

        from kombu import Exchange, Queue

        from eventonight.kernel.bus.topology import connection_for

        exchange = Exchange(self.exchange, type="topic", durable=True)
        with connection_for(self.broker_url) as connection:
            queue = Queue(f"bench.tap.{uuid4().hex}", exchange, routing_key=self.routing_key, exclusive=True)

            def on_message(body, message):
                self.handle(body)
                message.ack()

            with connection.Consumer(queue, callbacks=[on_message], accept=["json"]):
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        connection.drain_events(timeout=0.2)
                    except TimeoutError:
                        pass
