"""The embedded default database: a SecantusDB server in a child process.

Used when ``EVENTONIGHT_MONGODB_URI`` is unset. SecantusDB is GPL-2.0 and an
optional extra (``pip install eventonight[embedded]``); the platform only talks
to it over the MongoDB wire protocol.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class EmbeddedMongo:
    """Start (or reuse) a SecantusDB server storing its data under ``storage``."""

    def __init__(self, storage: Path | str, port: int, host: str = "127.0.0.1") -> None:
        self.storage = str(storage)
        self.port = port
        self.host = host
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    def start(self, timeout: float = 30.0) -> str:
        if _listening(self.host, self.port):
            return self.uri  # another eventonight process on this machine started it
        executable = shutil.which("secantusd-py") or str(Path(sys.executable).parent / "secantusd-py")
        if not Path(executable).exists():
            raise RuntimeError(
                "EVENTONIGHT_MONGODB_URI is not set and the embedded database is not installed: "
                "pip install 'eventonight[embedded]' or point EVENTONIGHT_MONGODB_URI at MongoDB"
            )
        if self.storage != ":memory:":
            Path(self.storage).mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                executable,
                "--host",
                self.host,
                "--port",
                str(self.port),
                "--storage-path",
                self.storage,
                "--log-level",
                "WARNING",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while not _listening(self.host, self.port):
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded SecantusDB exited with status {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("embedded SecantusDB did not start in time")
            time.sleep(0.05)
        return self.uri

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.process = None
