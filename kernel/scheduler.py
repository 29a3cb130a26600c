"""Running plugins' scheduled jobs, one process of the cluster per job and interval."""

from __future__ import annotations

import asyncio
import logging

from eventonight.hooks.types import ScheduledJob
from eventonight.kernel.leases import Lease

log = logging.getLogger(__name__)


async def run_job_forever(kernel, job: ScheduledJob) -> None:
    # The holder renews every interval; the lease outlives one missed renewal so a busy
    # holder keeps its turn, and another process takes over only when it is gone.
    lease = Lease(kernel.database, f"job:{job.name}", job.interval_seconds * 2)
    if not job.run_at_start:
        await asyncio.sleep(job.interval_seconds)
    while True:
        try:
            if await lease.acquire():
                await job.run(kernel)
                kernel.metrics.jobs.labels(job.name, "ok").inc()
        except asyncio.CancelledError:
            raise
        except Exception:
            kernel.metrics.jobs.labels(job.name, "failed").inc()
            log.exception("scheduled job %s failed", job.name)
        await asyncio.sleep(job.interval_seconds)
