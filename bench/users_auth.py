"""Users plugin: login (argon2id, deliberately expensive), token refresh and GET /api/users/{id}.

Run by hand: ``.venv/bin/python bench/users_auth.py`` (needs wrk). The platform runs
as one `eventonight web` process on embedded SecantusDB with the default argon2
parameters; the bare aiohttp handler of bench/_servers.py is the baseline, loaded
the same way in the same run.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

import aiohttp
from _common import HERE, free_port, require_wrk, spawn, start_eventonight, start_mongo, wait_http, wrk
from eventonight_users.infrastructure.wiring import UsersSettings


def lua_post(body: dict) -> str:
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    script.close()
    return script.name


def wrk_script(url: str, script: str, seconds: int = 8, connections: int = 8) -> float:
    out = subprocess.run(
        [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds}s", "-s", script, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise RuntimeError(out)
    return float(out.split("Requests/sec:")[1].split()[0])


async def refresh_rate(base: str, seconds: float = 8, workers: int = 16) -> float:
    """Each worker rotates its own refresh-token chain as fast as it can."""
    async with aiohttp.ClientSession() as session:
        tokens = []
        for _ in range(workers):
            async with session.post(
                f"{base}/api/users/login", json={"login": "benchuser", "password": "bench password"}
            ) as r:
                tokens.append((await r.json())["refreshToken"])
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker(token: str) -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.post(f"{base}/api/users/refresh", json={"refreshToken": token}) as r:
                    assert r.status == 200, await r.text()
                    token = (await r.json())["refreshToken"]
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker(t) for t in tokens))
        return done / (time.perf_counter() - start)


async def bare_rate(url: str, seconds: float = 8, workers: int = 16) -> float:
    """The same Python client against the bare handler: the baseline for refresh."""
    async with aiohttp.ClientSession() as session:
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                async with session.get(url) as r:
                    await r.read()
                done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workers)))
        return done / (time.perf_counter() - start)


def main() -> None:
    require_wrk()
    mongo = start_mongo()
    port, bare_port = free_port(), free_port()
    web = start_eventonight("web", mongo.uri, port)
    bare = spawn(str(HERE / "_servers.py"), "bare", str(bare_port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/health")
        wait_http(f"http://127.0.0.1:{bare_port}/api/bench")
        import urllib.request

        request = urllib.request.Request(
            f"{base}/api/users/register",
            data=json.dumps(
                {"username": "benchuser", "email": "bench@example.org", "password": "bench password", "role": "member"}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        user_id = json.load(urllib.request.urlopen(request))["user"]["id"]

        s = UsersSettings()
        logins = wrk_script(
            f"{base}/api/users/login", lua_post({"login": "benchuser", "password": "bench password"}), connections=4
        )
        print(
            f"argon2id: time_cost={s.argon2_time_cost}, memory={s.argon2_memory_kib} KiB, parallelism={s.argon2_parallelism}"
        )
        print(f"login: {logins:.1f} logins/s on one server process ({os.cpu_count()} cores on the machine, wrk on one)")

        bare_wrk = wrk(f"http://127.0.0.1:{bare_port}/api/bench")["rps"]
        get_user = wrk(f"{base}/api/users/{user_id}")["rps"]
        print(
            f"GET /api/users/{{id}}: {get_user:.0f} req/s; bare handler {bare_wrk:.0f} req/s; "
            f"time per request {bare_wrk / get_user:.2f}x the bare handler"
        )

        bare_py = asyncio.run(bare_rate(f"http://127.0.0.1:{bare_port}/api/bench"))
        refresh = asyncio.run(refresh_rate(base))
        print(
            f"POST /api/users/refresh: {refresh:.0f} req/s; bare handler {bare_py:.0f} req/s with the same client; "
            f"time per request {bare_py / refresh:.2f}x the bare handler"
        )
    finally:
        for process in (web, bare):
            process.terminate()
            process.wait(10)
        mongo.stop()


if __name__ == "__main__":
    sys.exit(main())
