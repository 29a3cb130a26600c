"""The promise "install or remove a plugin with pip", tested for real in a fresh virtualenv.

Builds the kernel and the sample third-party plugin (tests/sample_plugin) into
wheels, installs both into a new virtualenv, starts `eventonight web` there,
sees the plugin's route answer and its startup hook run; uninstalls the plugin
with pip, starts again, and the route is gone while the platform stays healthy.
"""

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from uuid import uuid4

import pytest
from pymongo import MongoClient

from eventonight.kernel.embedded_mongo import free_port

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class Server:
    def __init__(self, venv: Path, env: dict[str, str], port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(venv / "bin" / "eventonight"), "web"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def __enter__(self):
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                pytest.fail(f"eventonight web exited:\n{self.process.stdout.read()}")
            try:
                if _get(self.url + "/health")[0] == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.process.kill()
                pytest.fail("eventonight web did not come up")
            time.sleep(0.2)

    def __exit__(self, *exc):
        self.process.terminate()
        self.process.wait(20)


def test_plugin_installed_and_uninstalled_with_pip(tmp_path, mongo_uri, broker_url):
    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    _run(*pip, "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT))
    _run(*pip, "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT / "tests" / "sample_plugin"))
    kernel_wheel = next(wheels.glob("eventonight-*.whl"))
    sample_wheel = next(wheels.glob("eventonight_sample-*.whl"))

    venv = tmp_path / "fresh"
    _run(sys.executable, "-m", "venv", str(venv))
    vpip = [str(venv / "bin" / "python"), "-m", "pip"]
    _run(*vpip, "install", "-q", str(kernel_wheel), str(sample_wheel))

    database = f"pip_{uuid4().hex[:8]}"
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "EVENTONIGHT_MONGODB_URI": mongo_uri,
        "EVENTONIGHT_DATABASE": database,
        "EVENTONIGHT_BROKER_URL": broker_url,
        "EVENTONIGHT_EXCHANGE": f"eventonight.test.{database}",
        "EVENTONIGHT_PORT": str(port),
    }
    listing = _run(str(venv / "bin" / "eventonight"), "plugins", env=env).stdout
    sample_line = next(line for line in listing.splitlines() if line.startswith("sample "))
    assert "eventonight-sample" in sample_line and "1.2.3" in sample_line
    assert "GET /api/sample/hello" in sample_line

    with Server(venv, env, port) as server:
        status, body = _get(server.url + "/api/sample/hello")
        assert status == 200 and b"from the sample plugin" in body
        assert _get(server.url + "/ready")[0] == 200
    with MongoClient(mongo_uri) as client:
        assert client[database]["sample_startups"].count_documents({}) == 1, "startup hook ran once"

    _run(*vpip, "uninstall", "-y", "-q", "eventonight-sample")
    assert "sample" not in _run(str(venv / "bin" / "eventonight"), "plugins", env=env).stdout
    with Server(venv, env, port) as server:
        status, body = _get(server.url + "/api/sample/hello")
        assert status == 404 and b'"statusCode": 404' in body
        assert _get(server.url + "/ready")[0] == 200
        assert _get(server.url + "/health")[0] == 200
