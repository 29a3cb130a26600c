"""HTTP behaviour of the kernel: JSON errors, request ids, validation, OpenAPI, health, jobs."""

import itertools
import json
import time
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from bson import ObjectId
from bson.tz_util import utc as bson_utc
from openapi_spec_validator import validate
from pydantic import BaseModel, Field

from eventonight.hooks import ScheduledJob, hookimpl
from eventonight.hooks.http import Page, dumps, json_response, page_params, parse_body
from eventonight.kernel import ApiError, Kernel
from eventonight.kernel.embedded_mongo import free_port
from eventonight.kernel.http.app import create_app
from eventonight.kernel.http.openapi import components_for, error_responses, json_body
from eventonight.kernel.testing import wait_until
from eventonight.settings import Settings


class Thing(BaseModel):
    name: str = Field(min_length=3)
    size: int = Field(ge=1)


# What json_response (and dumps) promise: datetimes as ISO-8601 UTC with Z, whatever their zone.
MOMENTS = {
    "aware utc": datetime(2026, 11, 26, 19, 0, 0, 123000, tzinfo=UTC),
    "as the driver returns it": datetime(2026, 11, 26, 19, 0, 0, 123000, tzinfo=bson_utc),
    "naive": datetime(2026, 11, 26, 19, 0),
    "berlin winter": datetime(2026, 11, 26, 20, 0, 0, 5, tzinfo=timezone(timedelta(hours=1))),
    "a day": date(2026, 11, 26),
    "an id": ObjectId("6a0000000000000000000001"),
    7: "int keys become strings",
    "text": "Café ☕ \u2028",
}


class Things:
    @hookimpl
    def eventonight_routes(self, kernel):
        async def create(request):
            thing = await parse_body(request, Thing)
            return json_response(thing, status=201)

        async def listing(request):
            limit, offset = page_params(request)
            items = [{"n": i} for i in range(offset, min(offset + limit, 5))]
            return json_response(Page(items, limit=limit, offset=offset, total=5))

        async def teapot(request):
            raise ApiError(409, "already exists")

        async def crash(request):
            raise KeyError("secret internal detail")

        async def moments(request):
            return json_response(MOMENTS)

        return [
            web.post("/api/things", create),
            web.get("/api/things", listing),
            web.get("/api/things/conflict", teapot),
            web.get("/api/things/crash", crash),
            web.get("/api/things/moments", moments),
        ]

    @hookimpl
    def eventonight_openapi(self, kernel):
        return {
            "paths": {
                "/api/things": {
                    "post": {
                        "summary": "Create a thing",
                        "tags": ["things"],
                        "requestBody": json_body(Thing),
                        "responses": {
                            "201": {
                                "description": "created",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}},
                            },
                            **error_responses(400, 415),
                        },
                    }
                }
            },
            "components": components_for(Thing),
            "tags": [{"name": "things"}],
        }


async def test_errors_are_json_with_status_and_request_id(platform):
    p = await platform(extra_plugins=[("things", Things())])
    c = p.client
    response = await c.get("/api/nothing-here")
    assert response.status == 404
    body = await response.json()
    assert body == {"statusCode": 404, "error": "Not Found", "message": "no route for GET /api/nothing-here"}
    generated = response.headers["X-Request-ID"]
    assert generated and generated != (await c.get("/api/nothing-here")).headers["X-Request-ID"]

    response = await c.delete("/api/things")
    assert response.status == 405 and (await response.json())["statusCode"] == 405

    response = await c.get("/api/things/conflict", headers={"X-Request-ID": "trace-123"})
    assert response.status == 409
    assert (await response.json())["message"] == "already exists"
    assert response.headers["X-Request-ID"] == "trace-123"

    response = await c.get("/api/things/crash")
    assert response.status == 500
    text = await response.text()
    assert "secret internal detail" not in text and "Traceback" not in text
    assert (await response.json())["statusCode"] == 500


async def test_datetimes_are_written_as_utc_with_z_whatever_their_zone(platform):
    p = await platform(extra_plugins=[("things", Things())])
    response = await p.client.get("/api/things/moments")
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert await response.json() == {
        "aware utc": "2026-11-26T19:00:00.123000Z",
        "as the driver returns it": "2026-11-26T19:00:00.123000Z",
        "naive": "2026-11-26T19:00:00Z",
        "berlin winter": "2026-11-26T19:00:00.000005Z",
        "a day": "2026-11-26",
        "an id": "6a0000000000000000000001",
        "7": "int keys become strings",
        "text": "Café ☕ \u2028",
    }
    assert json.loads(dumps(MOMENTS)) == await response.json()


def test_every_zone_is_written_the_same_whichever_way_the_encoder_takes():
    # UTC and naive datetimes are written by orjson itself; an answer with another offset is
    # written again through the kernel's conversion. Both ways must give the same text.
    zones = [None, UTC, bson_utc, ZoneInfo("UTC"), ZoneInfo("Europe/Berlin"), timezone(timedelta(hours=-5)),
             timezone(timedelta(seconds=3601)), timezone(timedelta(seconds=3601, microseconds=5)),
             timezone(timedelta(0), "named UTC")]  # fmt: skip
    moments = [
        datetime(year, month, 1 + hour, hour, 7, 9, micro, tzinfo=zone)
        for zone in zones
        for year, month, hour, micro in [(2026, 3, 1, 0), (2026, 10, 23, 5), (1970, 1, 0, 999999), (9999, 12, 2, 1)]
    ]
    for moment in moments:
        written = json.loads(dumps({"at": moment, "list": [moment]}))
        offset = moment.utcoffset()
        expected = (moment - offset if offset else moment).replace(tzinfo=None).isoformat() + "Z"
        assert written == {"at": expected, "list": [expected]}, moment
    # Text that looks like another offset is kept as it was written.
    text = {"note": "doors 19:00:00+02:00", "at": datetime(2026, 11, 26, 19, 0, tzinfo=UTC)}
    assert json.loads(dumps(text)) == {"note": "doors 19:00:00+02:00", "at": "2026-11-26T19:00:00Z"}


async def test_bodies_are_validated_with_field_details(platform):
    p = await platform(extra_plugins=[("things", Things())])
    c = p.client
    ok = await c.post("/api/things", json={"name": "lamp", "size": 2})
    assert ok.status == 201 and await ok.json() == {"name": "lamp", "size": 2}

    bad = await c.post("/api/things", json={"name": "x", "size": 0})
    assert bad.status == 400
    body = await bad.json()
    assert body["message"] == "request body is invalid"
    assert {d["field"] for d in body["details"]} == {"name", "size"}

    assert (await c.post("/api/things", data="{not json", headers={"Content-Type": "application/json"})).status == 400
    assert (await c.post("/api/things", data="name=lamp")).status == 415


async def test_pagination_envelope_and_limits(platform):
    p = await platform(extra_plugins=[("things", Things())])
    page = await (await p.client.get("/api/things?limit=2&offset=2")).json()
    assert page == {"items": [{"n": 2}, {"n": 3}], "limit": 2, "offset": 2, "total": 5, "hasMore": True}
    last = await (await p.client.get("/api/things?limit=2&offset=4")).json()
    assert last["hasMore"] is False
    for query in ("limit=0", "limit=101", "offset=-1", "limit=abc"):
        assert (await p.client.get(f"/api/things?{query}")).status == 400


async def test_openapi_document_is_valid_and_includes_plugin_fragments(platform):
    p = await platform(extra_plugins=[("things", Things())])
    document = await (await p.client.get("/api/openapi.json")).json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert "/api/things" in document["paths"] and "/health" in document["paths"]
    assert "Thing" in document["components"]["schemas"]


async def test_a_path_claimed_by_two_plugins_names_both(settings):
    class Clash(Things):
        pass

    kernel = Kernel(settings, extra_plugins=[("things", Things()), ("clash", Clash())])
    with pytest.raises(ValueError, match=r"/api/things contributed by (things and clash|clash and things)"):
        await create_app(kernel)


async def test_health_and_readiness(platform, settings):
    p = await platform()
    assert await (await p.client.get("/health")).json() == {"status": "ok"}
    ready = await p.client.get("/ready")
    assert ready.status == 200
    assert (await ready.json())["checks"] == {"database": "ok", "broker": "ok"}

    no_broker = Settings(**{**settings.model_dump(), "broker_url": f"amqp://guest:guest@127.0.0.1:{free_port()}//"})
    q = await platform(settings_override=no_broker, relay=False, consumers=False)
    response = await q.client.get("/ready")
    assert response.status == 503
    assert (await response.json())["checks"]["broker"] == "unreachable"
    assert (await q.client.get("/health")).status == 200


class Ticker:
    def __init__(self):
        self.runs = 0

    @hookimpl
    def eventonight_scheduled_jobs(self, kernel):
        async def tick(kernel):
            self.runs += 1
            await kernel.transaction(lambda uow: uow.collection("ticks").insert_one({"at": time.monotonic()}))

        return [ScheduledJob("tick", 0.1, tick)]


async def test_scheduled_job_runs_in_one_process_of_the_cluster(platform):
    first, second = Ticker(), Ticker()
    p = await platform(extra_plugins=[("ticker", first)])
    await platform(extra_plugins=[("ticker", second)])
    await wait_until(lambda: first.runs + second.runs >= 6)
    starts = sorted([d["at"] async for d in p.kernel.read.collection("ticks").find()])
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Two processes, yet never two runs within one interval: one of them holds the lease.
    assert min(gaps) >= 0.09, gaps
