"""CORS for browser front ends on other origins (issue 15): an allow-list, refusals in the JSON shape."""

from eventonight.kernel.http.cors import DEMO_ORIGINS, origins_for

APP = "https://app.example.org"


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization",
    }


async def test_no_origin_is_allowed_by_default(platform):
    p = await platform()
    refused = await p.client.options("/api/events", headers=_preflight(APP))
    assert refused.status == 403 and (await refused.json())["statusCode"] == 403
    assert "Access-Control-Allow-Origin" not in refused.headers
    listed = await p.client.get("/api/events", headers={"Origin": APP})
    assert listed.status == 200 and "Access-Control-Allow-Origin" not in listed.headers
    plain = await p.client.options("/api/events")  # not a preflight: the method is not allowed
    assert plain.status == 405 and "GET" in plain.headers["Allow"] and (await plain.json())["statusCode"] == 405


async def test_allowed_origins_get_preflights_and_headers_on_answers_errors_and_the_stream(platform, settings):
    p = await platform(settings_override=settings.model_copy(update={"cors_origins": [APP, "http://localhost:*"]}))
    preflight = await p.client.options("/api/events", headers=_preflight(APP))
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == APP
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Idempotency-Key" in preflight.headers["Access-Control-Allow-Headers"]
    assert preflight.headers["Access-Control-Max-Age"] == "600", "docs: cached 10 minutes"
    assert "Access-Control-Allow-Credentials" not in preflight.headers, "docs: no credentials mode"
    assert (await p.client.options("/api/events", headers=_preflight(APP, "PATCH"))).status == 403
    assert (await p.client.options("/no/such/path", headers=_preflight(APP))).status == 404

    listed = await p.client.get("/api/events", headers={"Origin": APP})
    assert listed.headers["Access-Control-Allow-Origin"] == APP and "Origin" in listed.headers["Vary"]
    exposed = listed.headers["Access-Control-Expose-Headers"]
    assert all(h in exposed for h in ("X-Request-ID", "Retry-After", "Location", "Content-Disposition"))
    missing = await p.client.get("/api/events/nothing-here", headers={"Origin": APP})
    assert missing.status == 404 and missing.headers["Access-Control-Allow-Origin"] == APP, "errors are readable"

    headers = {"Origin": "http://localhost:5173", **p.auth("streamer")}
    async with p.client.get("/api/notifications/stream", headers=headers) as stream:
        assert stream.status == 200 and stream.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"

    for stranger in ("https://app.example.org.evil.com", "http://localhost.evil.com", "http://localhost:5173/x"):
        answer = await p.client.get("/api/events", headers={"Origin": stranger})
        assert "Access-Control-Allow-Origin" not in answer.headers, stranger
        assert (await p.client.options("/api/events", headers=_preflight(stranger))).status == 403, stranger


def test_the_demo_allows_local_front_ends_unless_origins_are_configured():
    assert origins_for([], demo=True) == DEMO_ORIGINS == ["http://localhost:*", "http://127.0.0.1:*"]
    assert origins_for([], demo=False) == []
    assert origins_for([APP], demo=True) == [APP]
