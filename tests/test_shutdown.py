"""A serving process stops in seconds under load (issue 16): SIGTERM with hundreds of live
streams, half of them just closed by their clients, ends every stream and the process."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

from eventonight.hooks.testing import free_port, wait_until

STREAMS = 600


async def test_sigterm_with_live_and_just_closed_streams_stops_the_process_in_seconds(settings, tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "EVENTONIGHT_PORT": str(port),
        "EVENTONIGHT_MONGODB_URI": settings.mongodb_uri,
        "EVENTONIGHT_DATABASE": settings.database,
        "EVENTONIGHT_BROKER_URL": settings.broker_url,
        "EVENTONIGHT_EXCHANGE": settings.exchange,
        "EVENTONIGHT_QUEUE_PREFIX": settings.queue_prefix,
        "EVENTONIGHT_KEY_ENCRYPTION_KEYS": json.dumps(settings.key_encryption_keys),
        "EVENTONIGHT_DATA_DIR": str(tmp_path),
        "EVENTONIGHT_LOG_LEVEL": "WARNING",
    }
    server = subprocess.Popen([str(Path(sys.executable).parent / "eventonight"), "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            for _ in range(120):
                try:
                    async with http.get(f"{base}/health") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.5)
            body = {"username": "watcher", "email": "w@example.org", "password": "correct horse", "role": "member"}
            async with http.post(f"{base}/api/users/register", json=body) as response:
                token = (await response.json())["accessToken"]
            headers = {"Authorization": f"Bearer {token}"}
            opened, ended = set(), []

            async def listen(n):
                async with http.get(f"{base}/api/notifications/stream", headers=headers) as response:
                    assert response.status == 200
                    async for _ in response.content:
                        opened.add(n)  # its first frame arrived: the stream is open
                ended.append(True)  # the server ended the stream

            tasks = [asyncio.create_task(listen(n)) for n in range(STREAMS)]
            await wait_until(lambda: len(opened) == STREAMS, timeout=60, interval=0.1)
            for task in tasks[: STREAMS // 2]:  # half the clients leave just before the stop
                task.cancel()
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            code = await asyncio.to_thread(server.wait, 30)
            stopped_after = time.monotonic() - started
            await asyncio.wait_for(asyncio.gather(*tasks[STREAMS // 2 :], return_exceptions=True), 10)
        assert code == 0
        assert stopped_after < 20, f"took {stopped_after:.1f} s to stop"
        assert len(ended) == STREAMS - STREAMS // 2, "every live stream was ended by the server"
    finally:
        if server.poll() is None:
            server.kill()


async def test_a_job_that_swallows_its_cancellation_does_not_hold_up_the_stop(platform):
    """A job's own ``except``, or a library on Python 3.11 (``asyncio.wait_for``), can swallow the
    stop's cancellation; the job then sleeps until its next run, and the stop must not wait for it."""
    from eventonight.hooks import ScheduledJob, hookimpl

    started, swallowed = asyncio.Event(), asyncio.Event()

    class Stubborn:
        @hookimpl
        def eventonight_scheduled_jobs(self, kernel):
            async def run(kernel):
                started.set()
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    swallowed.set()

            return [ScheduledJob("stubborn.job", 3600, run, run_at_start=True)]

    p = await platform(extra_plugins=[("stubborn", Stubborn())])
    await asyncio.wait_for(started.wait(), 15)
    # Bounded: with a stop that cancels once, this waits for the job's hour-long sleep and times out.
    await asyncio.wait_for(p.client.close(), 20)  # the application's cleanup stops the runtime
    assert swallowed.is_set()
