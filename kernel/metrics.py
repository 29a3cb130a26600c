"""Operator metrics in Prometheus' text format at ``/metrics`` (prometheus-client).

Off unless ``EVENTONIGHT_METRICS_ENABLED``; with ``EVENTONIGHT_METRICS_TOKEN``
a scrape must send it as a bearer token. One registry per kernel (not the
library's global one), so several kernels in one process stay apart. Plugins
add their own with ``kernel.metrics.gauge(...)`` / ``counter(...)``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Request latency buckets, seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Histogram(
            "eventonight_http_request_seconds", "HTTP request latency by route and status",
            ["method", "route", "status"], buckets=BUCKETS, registry=r,
        )  # fmt: skip
        self.messages = Counter(
            "eventonight_messages_total", "Bus messages per consuming plugin: handled, failed (retried), dead_lettered",
            ["plugin", "outcome"], registry=r,
        )  # fmt: skip
        self.jobs = Counter(
            "eventonight_scheduled_job_runs_total", "Scheduled job runs in this process: ok or failed",
            ["job", "outcome"], registry=r,
        )  # fmt: skip
        self.outbox_backlog = Gauge("eventonight_outbox_backlog", "Outbox records not yet relayed", registry=r)
        self.outbox_age = Gauge(
            "eventonight_outbox_oldest_age_seconds", "Age of the oldest outbox record (0 when empty)", registry=r
        )
        self.queue_depth = Gauge(
            "eventonight_queue_messages", "Messages waiting in a plugin's queue or dead-letter queue", ["queue"],
            registry=r,
        )  # fmt: skip
        self._plugin_metrics: dict[str, Any] = {}

    # -- for plugins ------------------------------------------------------------
    def gauge(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Gauge:
        """A gauge of the plugin's own (the same object for the same name)."""
        return self._own(Gauge, name, documentation, labels)

    def counter(self, name: str, documentation: str, labels: tuple[str, ...] = ()) -> Counter:
        return self._own(Counter, name, documentation, labels)

    def _own(self, kind, name: str, documentation: str, labels: tuple[str, ...]):
        if name not in self._plugin_metrics:
            self._plugin_metrics[name] = kind(name, documentation, list(labels), registry=self.registry)
        return self._plugin_metrics[name]

    # -- a scrape ---------------------------------------------------------------
    async def render(self, kernel) -> bytes:
        """Measure what is only known by asking (outbox, queues), then the text exposition."""
        outbox = kernel.database.db["kernel_outbox"]
        # Events, not documents: a bundle holds one transaction's events (kernel.db.OUTBOX_BUNDLE).
        backlog = [
            d async for d in outbox.aggregate([{"$group": {"_id": None, "n": {"$sum": {"$ifNull": ["$n", 1]}}}}])
        ]
        self.outbox_backlog.set(backlog[0]["n"] if backlog else 0)
        oldest = await outbox.find_one({}, sort=[("occurredAt", 1)])
        age = 0.0
        if oldest is not None:
            occurred = oldest["occurredAt"]
            if isinstance(occurred, str):
                occurred = datetime.fromisoformat(occurred.replace("Z", "+00:00"))
            occurred = occurred if occurred.tzinfo else occurred.replace(tzinfo=UTC)
            age = max(0.0, (datetime.now(UTC) - occurred).total_seconds())
        self.outbox_age.set(age)
        for queue, depth in (await kernel.queues.depths()).items():
            self.queue_depth.labels(queue).set(depth)
        return generate_latest(self.registry)
