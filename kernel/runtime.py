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
        self.consumer_runners: list[ConsumerRunner] = []
        self._tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        """Start the kernel, then the background roles."""
        await self.kernel.start()
        await self.start_roles()

    async def start_roles(self) -> None:
        """Start the background roles of an already started kernel."""
        kernel, settings = self.kernel, self.kernel.settings
        if self.roles["consumers"]:
            await self._start_consumers()
        if self.roles["relay"]:
            self.relay = OutboxRelay(
                kernel.database,
                kernel.publisher,
                batch_size=settings.relay_batch_size,
                chunk_size=settings.relay_chunk_size,
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
        await cancel_and_wait(self._tasks)
        if self.relay is not None:
            with contextlib.suppress(Exception):
                await self.relay.lease.release()
        # Together: each waits up to a poll interval for its thread, one after another they add up.
        await asyncio.gather(*(asyncio.to_thread(runner.stop) for runner in self.consumer_runners))
        await self.kernel.stop()

    async def _start_consumers(self) -> None:
        kernel, settings = self.kernel, self.kernel.settings
        loop = asyncio.get_running_loop()
        for plugin, patterns in kernel.bindings().items():
            runner = ConsumerRunner(
                url=settings.broker_url,
                exchange_name=settings.exchange,
                prefix=settings.queue_prefix,
                plugin=plugin,
                patterns=patterns,
                dispatch=kernel.dispatch,
                dispatch_batch=kernel.dispatch_batch,
                loop=loop,
                max_attempts=settings.consumer_max_attempts,
                prefetch=settings.consumer_prefetch,
                timeout=settings.consumer_timeout_seconds,
                retry_delays=settings.consumer_retry_delays,
                metrics=kernel.metrics,
            )
            await kernel.queues.record(plugin, runner.queue_names(), patterns)
            runner.start()
            self.consumer_runners.append(runner)
        for runner in self.consumer_runners:
            if not await runner.wait_ready(15):
                log.warning("consumers of %s are not connected to the broker yet; they keep retrying", runner.plugin)


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


async def cancel_and_wait(tasks: list[asyncio.Task], again_after: float = 0.5) -> None:
    """Cancel ``tasks`` and wait until each has ended, cancelling again what outlived a request.

    A cancellation can be swallowed on its way: by a job's own ``except BaseException``, or on
    Python 3.11 by ``asyncio.wait_for`` in a library when the awaited operation completes at the
    same moment. Such a task goes on (a job to its next sleep), and one ``await`` on it would
    wait as long as it runs: forever for a job.
    """
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_after)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a job that failed on its way out is not reported twice
