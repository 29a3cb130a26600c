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
