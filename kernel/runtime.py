"""What a process runs besides (or instead of) HTTP: relay, consumers, scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from eventonight.kernel.bus.consumers import ConsumerRunner
from eventonight.kernel.bus.topology import connection_for
from eventonight.kernel.kernel import Kernel
from eventonight.kernel.outbox import OutboxRelay
from eventonight.kernel.scheduler import run_job_forever

log = logging.getLogger(__name__)


class Runtime:
    """Starts the kernel and the background roles this process was asked to run."""

    def __init__(self, kernel: Kernel, *, relay: bool = True, consumers: bool = True, scheduler: bool = True):
        self.kernel = kernel
        self.roles = {"relay": relay, "consumers": consumers, "scheduler": scheduler}
        self.relay: OutboxRelay | None = None
        self.consumer_runner: ConsumerRunner | None = None
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        kernel, settings = self.kernel, self.kernel.settings
        await kernel.start()
        if self.roles["consumers"]:
            self.consumer_runner = ConsumerRunner(
                url=settings.broker_url,
                exchange_name=settings.exchange,
                prefix=settings.queue_prefix,
                bindings=kernel.bindings(),
                dispatch=kernel.dispatch,
                loop=asyncio.get_running_loop(),
                max_attempts=settings.consumer_max_attempts,
                prefetch=settings.consumer_prefetch,
                dispatch_batch=kernel.dispatch_batch,
            )
            self.consumer_runner.start()
            if not await self.consumer_runner.wait_ready(15):
                log.warning("consumers are not connected to the broker yet; they keep retrying")
        if self.roles["relay"]:
            self.relay = OutboxRelay(
                kernel.database,
                kernel.publisher,
                batch_size=settings.relay_batch_size,
                poll_seconds=settings.relay_poll_seconds,
                lease_seconds=settings.relay_lease_seconds,
                backoff_initial=settings.relay_backoff_initial,
                backoff_max=settings.relay_backoff_max,
                observer=kernel.observe,
            )
            self._tasks.append(asyncio.create_task(self.relay.run(), name="outbox-relay"))
        if self.roles["scheduler"]:
            for job in kernel.scheduled_jobs():
                self._tasks.append(asyncio.create_task(run_job_forever(kernel, job), name=f"job:{job.name}"))

    async def stop(self) -> None:
        if self.relay is not None:
            self.relay.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.relay is not None:
            with contextlib.suppress(Exception):
                await self.relay.lease.release()
        if self.consumer_runner is not None:
            await asyncio.to_thread(self.consumer_runner.stop)
        await self.kernel.stop()


def broker_reachable(url: str | None) -> bool:
    """Open and close one connection (always true for the in-memory transport)."""
    connection = connection_for(url)
    try:
        connection.ensure_connection(max_retries=1, timeout=3)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable"
        return False
    finally:
        connection.release()
