"""Inputs a fuzzer sends: numbers beyond 64 bits, bodies nested a thousand levels deep (issue 14)."""

import re
from uuid import uuid4

HUGE = "99999999999999999999999"


async def test_numbers_beyond_64_bits_in_any_query_are_a_4xx_never_a_500(platform):
    p = await platform()
    member = p.auth(uuid4().hex, "member")
    document = await (await p.client.get("/api/openapi.json")).json()
    tried = 0
    for path, operations in document["paths"].items():
        get = operations.get("get")
        if get is None or "stream" in path:
            continue
        numeric = [
            q["name"] for q in get.get("parameters", [])
            if q.get("in") == "query" and q.get("schema", {}).get("type") in ("integer", "number")
        ]  # fmt: skip
        url = re.sub(r"\{[^}]+\}", uuid4().hex, path)
        for name in numeric:
            response = await p.client.get(url, params={name: HUGE}, headers=member)
            assert 400 <= response.status < 500, (path, name, response.status, await response.text())
            assert "statusCode" in await response.json()
            tried += 1
    assert tried >= 10, "the sweep reached the paginated lists"
    # Lists that need nothing else answer exactly 400 for the offset itself.
    for url in ("/api/events", "/api/ticketing/me/orders", "/api/ticketing/me/tickets", "/api/notifications"):
        response = await p.client.get(url, params={"offset": HUGE}, headers=member)
        assert response.status == 400, (url, await response.text())


async def test_bodies_nested_a_thousand_levels_deep_are_400_even_unauthenticated(platform):
    p = await platform()
    for depth in (1_000, 100_000):
        nested = "[" * depth + "]" * depth
        for path in ("/api/users/login", "/api/users/register"):
            response = await p.client.post(path, data=nested, headers={"Content-Type": "application/json"})
            assert response.status == 400, (path, depth, response.status)
            assert "nested too deeply" in (await response.json())["message"]
    objects = '{"a":' * 5_000 + "1" + "}" * 5_000
    response = await p.client.post("/api/users/login", data=objects, headers={"Content-Type": "application/json"})
    assert response.status == 400


async def _raw(p, request: bytes) -> tuple[int, dict[str, str], bytes]:
    import asyncio

    reader, writer = await asyncio.open_connection(p.client.server.host, p.client.server.port)
    writer.write(request)
    await writer.drain()
    raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


async def test_a_header_over_8_kb_gets_the_json_error_and_no_echo_of_the_credential(platform):
    import json

    p = await platform()
    secret = "Bearer " + "SECRETTOKEN" * 900  # ~10 KB
    status, headers, body = await _raw(
        p, f"GET /api/events HTTP/1.1\r\nHost: x\r\nAuthorization: {secret}\r\n\r\n".encode()
    )
    assert status == 400 and headers["content-type"].startswith("application/json")
    error = json.loads(body)
    assert error["statusCode"] == 400 and "header is too long" in error["message"]
    assert b"SECRETTOKEN" not in body
    status, headers, body = await _raw(p, b"\x16\x03\x01 not http at all\r\n\r\n")
    assert status == 400 and json.loads(body)["statusCode"] == 400


async def test_every_response_carries_the_security_headers_and_no_server_version(platform):
    p = await platform()
    for response in (
        await p.client.get("/api/events"),
        await p.client.get("/api/no/such/thing"),  # the catch-all 404
        await p.client.post("/api/users/login", data="{", headers={"Content-Type": "application/json"}),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["Server"] == "eventonight", "no aiohttp/Python version"
    anonymous = await p.client.get("/api/events")
    assert "no-store" not in anonymous.headers.get("Cache-Control", "")
    mine = await p.client.get("/api/ticketing/me/orders", headers=p.auth(uuid4().hex))
    assert mine.status == 200 and mine.headers["Cache-Control"] == "no-store"
    keys = await p.client.get("/api/ticketing/keys", headers=p.auth(uuid4().hex))
    assert keys.headers["Cache-Control"] == "public, max-age=300", "a route's own caching stays"
