"""Kernel test fixtures: a second, private RabbitMQ node that tests may stop and start."""

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from uuid import uuid4

import pytest

from eventonight.kernel.embedded_mongo import free_port


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
