"""Operator metrics at /metrics (issue 14): off by default, token-protected, and telling the truth."""

from prometheus_client.parser import text_string_to_metric_families

from eventonight.hooks import Consumer, ScheduledJob, hookimpl
from eventonight.hooks.testing import publish_event, wait_until


class Probe:
    """A job that fails on its first run, and a consumer that always fails."""

    def __init__(self) -> None:
        self.runs = 0

    @hookimpl
    def eventonight_scheduled_jobs(self, kernel):
        async def run(kernel):
            self.runs += 1
            if self.runs == 1:
                raise RuntimeError("first run fails")

        return [ScheduledJob("probe.job", 0.1, run, run_at_start=True)]

    @hookimpl
    def eventonight_consumers(self, kernel):
        async def broken(event, uow):
            raise RuntimeError("always")

        return [Consumer("broken", ("probe.thing",), broken)]


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_are_off_unless_enabled(platform):
    p = await platform()
    assert (await p.client.get("/metrics")).status == 404


async def test_metrics_count_requests_messages_jobs_streams_and_the_outbox(platform, settings):
    enabled = settings.model_copy(update={"metrics_enabled": True, "metrics_token": "scrape-secret"})
    probe = Probe()
    p = await platform(extra_plugins=[("probe", probe)], settings_override=enabled)
    assert (await p.client.get("/metrics")).status == 401
    assert (await p.client.get("/metrics", headers={"Authorization": "Bearer wrong"})).status == 401
    scrape = {"Authorization": "Bearer scrape-secret"}

    for _ in range(3):
        assert (await p.client.get("/api/events")).status == 200
    assert (await p.client.get("/api/events/no-such-id")).status == 404
    publish_event(settings, "probe.thing", {"n": 1})
    user = p.auth("metrics-user")
    stream = await p.client.get("/api/notifications/stream", headers=user)
    assert stream.status == 200

    async def everything_seen():
        response = await p.client.get("/metrics", headers=scrape)
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        found = samples(await response.text())
        return (
            found
            if (
                value(found, "eventonight_messages_total", plugin="probe", outcome="dead_lettered") == 1
                # The counter moves before the message lands in its dead-letter queue: wait for both.
                and value(found, "eventonight_queue_messages", queue=dead) == 1
                and value(found, "eventonight_scheduled_job_runs_total", job="probe.job", outcome="ok") >= 1
            )
            else None
        )

    dead = f"{settings.queue_prefix}.probe.dead-letter"
    found = await wait_until(everything_seen, timeout=20)
    route = {"method": "GET", "route": "/api/events"}
    assert value(found, "eventonight_http_request_seconds_count", **route, status="200") == 3
    assert value(found, "eventonight_http_request_seconds_count", method="GET", route="/api/events/{eventId}",
                 status="404") == 1  # fmt: skip
    assert not [k for k in found if "no-such-id" in str(k)], "routes by template: no series per id"
    assert value(found, "eventonight_messages_total", plugin="probe", outcome="failed") == 3
    assert value(found, "eventonight_scheduled_job_runs_total", job="probe.job", outcome="failed") == 1
    assert value(found, "eventonight_notification_open_streams") == 1
    assert ("eventonight_outbox_backlog", ()) in found and ("eventonight_outbox_oldest_age_seconds", ()) in found
    assert value(found, "eventonight_queue_messages", queue=dead) == 1, "the dead letter waits in its queue"
    stream.close()
