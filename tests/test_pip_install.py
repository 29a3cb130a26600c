"""The promise "install or remove a plugin with pip", tested for real in fresh virtualenvs.

Builds the kernel and a third-party plugin into wheels, installs them into a
new virtualenv, starts the platform there, sees the plugin work; uninstalls it
with pip, starts again, and the plugin is gone while the platform stays
healthy. The sample plugin (tests/sample_plugin) is the smallest case; the
examples (examples/badges, examples/badges-newcomer) extend the users plugin,
consume from the broker and leave a queue that `plugins prune` removes; they are
installed beside every built-in plugin. A paid ticket is bought at the demo
checkout there, then the ticketing plugin is uninstalled and pruned the same way.
"""

import json
import os
import shutil
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
from eventonight.kernel.testing import TEST_KEK

ROOT = Path(__file__).resolve().parent.parent


def _run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """A clean environment for the fresh virtualenv's commands: ``EVENTONIGHT_<NAME>`` per setting."""
    settings.setdefault("exchange", f"eventonight.test.{settings['database']}")
    settings.setdefault("key_encryption_keys", json.dumps([TEST_KEK]))
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        **{f"EVENTONIGHT_{name.upper()}": value for name, value in settings.items()},
    }


def _post(url: str, body: dict, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _until(condition, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.2)
    return value


class Server:
    def __init__(self, venv: Path, env: dict[str, str], port: int, role: str = "web") -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(venv / "bin" / "eventonight"), role],
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
    env = _env(tmp_path, mongodb_uri=mongo_uri, database=database, broker_url=broker_url, port=str(port))
    listing = _run(str(venv / "bin" / "eventonight"), "plugins", env=env).stdout
    lines = listing.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("sample "))
    assert "eventonight-sample" in lines[start] and "1.2.3" in lines[start]
    block = lines[start + 1 : next((i for i in range(start + 1, len(lines)) if not lines[i].startswith(" ")), None)]
    # One route per line under its plugin, not all of them on the plugin's line.
    assert "    GET /api/sample/hello" in block and "  hooks: eventonight_routes, eventonight_startup" in block

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


def test_example_plugins_installed_beside_the_builtin_ones_then_uninstalled_and_pruned(tmp_path, mongo_uri, broker_url):
    from kombu import Queue

    from eventonight.kernel.bus.topology import connection_for
    from eventonight.kernel.testing import _delete_queues
    from eventonight.settings import Settings

    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip"]
    builtin = sorted(path.parent for path in (ROOT / "plugins").glob("*/setup.cfg"))
    for source in (ROOT, *builtin):  # the examples are installed beside every built-in plugin
        _run(*pip, "wheel", "--no-deps", "-q", "-w", str(wheels), str(source))
    for example in ("badges", "badges-newcomer"):
        # Built from a copy: a build leaves egg-info beside the sources, and the examples'
        # folders are on the test run's path, where it would make them look installed.
        source = shutil.copytree(ROOT / "examples" / example, tmp_path / "src" / example)
        _run(*pip, "wheel", "--no-deps", "-q", "-w", str(wheels), str(source))
    venv = tmp_path / "fresh"
    _run(sys.executable, "-m", "venv", str(venv))
    vpip = [str(venv / "bin" / "python"), "-m", "pip"]
    _run(*vpip, "install", "-q", *map(str, wheels.glob("*.whl")))

    database = f"examples_{uuid4().hex[:8]}"
    settings = Settings(
        mongodb_uri=mongo_uri, database=database, broker_url=broker_url, key_encryption_keys=[TEST_KEK],
        exchange=f"eventonight.test.{database}", queue_prefix=f"eotest.{database}",
    )  # fmt: skip
    port = free_port()
    env = _env(
        tmp_path, mongodb_uri=mongo_uri, database=database, broker_url=broker_url, port=str(port),
        exchange=settings.exchange, queue_prefix=settings.queue_prefix, data_dir=str(tmp_path / "var"),
        public_url=f"http://127.0.0.1:{port}",
        users_argon2_time_cost="1", users_argon2_memory_kib="1024", users_argon2_parallelism="1",
    )  # fmt: skip
    eventonight = str(venv / "bin" / "eventonight")
    badges_queue = f"{settings.queue_prefix}.badges"
    try:
        listing = _run(eventonight, "plugins", env=env).stdout
        assert "badges_for_event" in listing and "    GET /api/badges/users/{userId}" in listing

        with Server(venv, env, port, role="serve") as server:
            status, body = _post(
                server.url + "/api/users/register",
                {"username": "ada", "email": "ada@example.org", "password": "a long password 1", "role": "member"},
            )
            assert status == 201, body
            user_id = body["user"]["id"]
            # user.created -> outbox -> RabbitMQ -> the badges consumer -> the newcomer plugin's rule.
            _until(lambda: json.loads(_get(f"{server.url}/api/badges/users/{user_id}")[1])["badges"] == ["newcomer"])
            profile = json.loads(_get(f"{server.url}/api/users/{user_id}")[1])
            assert profile["extensions"] == {"badges": {"badges": ["newcomer"]}}
            order_id = _buy_a_paid_ticket(server.url, body["accessToken"])

        _run(*vpip, "uninstall", "-y", "-q", "eventonight-badges", "eventonight-badges-newcomer")
        listing = _run(eventonight, "plugins", env=env).stdout
        assert not [line for line in listing.splitlines() if line.startswith(("badges ", "badges_newcomer "))]
        assert "not installed, queues left: badges" in listing
        with Server(venv, env, port) as server:
            assert _get(f"{server.url}/api/badges/users/{user_id}")[0] == 404
            status, body = _get(f"{server.url}/api/users/{user_id}")
            assert status == 200 and "extensions" not in json.loads(body)
            assert _get(server.url + "/ready")[0] == 200

        dry = _run(eventonight, "plugins", "prune", "--dry-run", env=env).stdout
        assert f"badges: would delete {badges_queue}" in dry
        assert f"badges: deleting {badges_queue}" in _run(eventonight, "plugins", "prune", env=env).stdout
        with connection_for(broker_url) as connection:
            with pytest.raises(Exception, match="NOT_FOUND"):
                Queue(badges_queue, channel=connection.channel()).queue_declare(passive=True)

        # The ticketing plugin goes too: its routes with it, the rest stays, its queue is pruned.
        _run(*vpip, "uninstall", "-y", "-q", "eventonight-ticketing")
        assert "not installed, queues left: ticketing" in _run(eventonight, "plugins", env=env).stdout
        with Server(venv, env, port) as server:
            assert _get(f"{server.url}/api/ticketing/keys")[0] == 404
            assert _get(f"{server.url}/api/events")[0] == 200 and _get(server.url + "/ready")[0] == 200
        ticketing_queue = f"{settings.queue_prefix}.ticketing"
        assert f"ticketing: deleting {ticketing_queue}" in _run(eventonight, "plugins", "prune", env=env).stdout
        with MongoClient(mongo_uri) as client:
            paid = client[database]["ticketing_orders"].find_one({"_id": order_id})
            assert paid["status"] == "PAID", "uninstalling keeps the plugin's data (reinstalling finds it)"
    finally:
        _delete_queues(settings)


def _buy_a_paid_ticket(url: str, member_token: str) -> str:
    """An organization's event with a paid type; the member pays at the demo checkout (an HTML form)."""
    status, org = _post(
        url + "/api/users/register",
        {"username": "club", "email": "club@example.org", "password": "a long password 1", "role": "organization"},
    )
    assert status == 201, org
    host = {"Authorization": f"Bearer {org['accessToken']}"}
    member = {"Authorization": f"Bearer {member_token}"}
    event = {"title": "Pip Night", "date": "2099-05-01T20:00:00Z", "status": "PUBLISHED",
             "location": {"city": "Berlin", "lat": 52.5, "lon": 13.4}, "tags": ["jazz"]}  # fmt: skip
    # Retried until the users plugin's user.created reached the events plugin.
    created = _until(lambda: (lambda r: r[1] if r[0] == 201 else None)(_post(url + "/api/events", event, host)))
    types = f"{url}/api/ticketing/events/{created['id']}/ticket-types"
    vip = {"name": "VIP", "priceMinor": 2000, "currency": "EUR", "capacity": 5}
    paid_type = _until(lambda: (lambda r: r[1] if r[0] == 201 else None)(_post(types, vip, host)))
    order = {"eventId": created["id"], "lines": [{"typeId": paid_type["id"], "quantity": 1}]}
    status, placed = _post(url + "/api/ticketing/orders", order, {**member, "Idempotency-Key": "pip-1"})
    assert status == 201 and placed["status"] == "PENDING", placed
    form = urllib.request.Request(placed["checkoutUrl"], data=b"action=pay", method="POST")
    with urllib.request.urlopen(form, timeout=10) as back:  # redirected back to the platform's return page
        assert back.status == 200
    mine = f"{url}/api/ticketing/orders/{placed['id']}"
    _until(lambda: json.loads(_get(mine, member)[1])["status"] == "PAID")
    return placed["id"]
