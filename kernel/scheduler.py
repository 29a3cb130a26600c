"""Running plugins' scheduled jobs, one process of the cluster per job and interval."""

from __future__ import annotations

import asyncio
import logging

from eventonight.hooks.types import ScheduledJob
from eventonight.kernel.leases import Lease

log = logging.getLogger(__name__)


async def run_job_forever(kernel, job: ScheduledJob) -> None:
    lease = Lease(kernel.database, f"job:{job.name}", job.interval_seconds)
    if not job.run_at_start:
        await asyncio.sleep(job.interval_seconds)
    while True:
        try:
            if await lease.acquire():
                await job.run(kernel)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("scheduled job %s failed", job.name)
        await asyncio.sleep(job.interval_seconds)
