"""Schemathesis over the served OpenAPI document, against the real stack with demo data (issue 14).

Every operation but the endless stream, as a member and as an organization. Checks: no server
error, responses conform to their schemas, no undocumented status code. Zero failures allowed.
Bounded for CI (examples per operation and a deadline); to run it longer by hand:

    EVENTONIGHT_FUZZ_EXAMPLES=200 EVENTONIGHT_FUZZ_SECONDS=3600 scripts/test tests/test_openapi_fuzz.py
"""

import asyncio
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from eventonight.hooks.testing import free_port, wait_until

EXAMPLES = int(os.environ.get("EVENTONIGHT_FUZZ_EXAMPLES", "8"))
DEADLINE = float(os.environ.get("EVENTONIGHT_FUZZ_SECONDS", "300"))
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


async def _login(p, login: str) -> tuple[str, str]:
    response = await p.client.post("/api/users/login", json={"login": login, "password": "eventonight-demo"})
    assert response.status == 200, await response.text()
    body = await response.json()
    return body["accessToken"], body["user"]["id"]


@pytest.mark.parametrize("who", ["alice", "nightowls"])  # a member, an organization
async def test_schemathesis_finds_no_server_error_no_schema_violation_no_undocumented_status(platform, who, tmp_path):
    executable = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert executable, "schemathesis is part of the test extra: scripts/setup-env test"
    p = await platform(public_port=free_port())
    await p.kernel.hooks.acall("eventonight_demo_data")

    async def demo_orders_paid() -> bool:
        return await p.kernel.read.collection("ticketing_orders").count_documents({"status": "PAID"}) == 2

    await wait_until(demo_orders_paid, timeout=30)
    token, user_id = await _login(p, who)
    # The caller's own id in every {userId}: the owner's paths (profile, password, follows, chat)
    # get fuzzed bodies too. Deleting the account would end the run's token, so that one is left out.
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        f'[parameters]\n"path.userId" = "{user_id}"\n\n'
        '[[operations]]\ninclude-name = "DELETE /api/users/{userId}"\nenabled = false\n'
    )
    report = tmp_path / "schemathesis.txt"
    process = await asyncio.create_subprocess_exec(
        executable, "--config-file", str(config), "run", str(p.client.make_url("/api/openapi.json")),
        "--header", f"Authorization: Bearer {token}",
        "--checks", CHECKS,
        "--max-examples", str(EXAMPLES),
        "--exclude-path", "/api/notifications/stream",
        "--seed", "14",
        "--workers", "1",
        "--no-color",
        stdout=report.open("wb"), stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,  # its caches stay out of the checkout and out of the next run
    )  # fmt: skip
    try:
        returncode = await asyncio.wait_for(process.wait(), DEADLINE)
    except TimeoutError:
        process.kill()
        pytest.fail(f"schemathesis ran past {DEADLINE} s")
    output = report.read_text()
    assert returncode == 0, output[-6000:]
    tested = int(output.split("Tested: ", 1)[1].split()[0])
    assert tested >= 100, "every operation of the document was exercised"


async def test_every_list_that_takes_an_offset_pages_with_it(platform):
    """An accepted parameter works (issue 15: chat ignored offset): on the demo data, for every
    operation documenting ``offset``, the second item at limit=2 is the first at offset=1."""
    p = await platform(public_port=free_port())
    await p.kernel.hooks.acall("eventonight_demo_data")
    token, user_id = await _login(p, "alice")
    organization_token, organization_id = await _login(p, "nightowls")
    events = await (await p.client.get("/api/events?limit=1")).json()
    values = {"userId": user_id, "organizationId": organization_id, "eventId": events["items"][0]["id"],
              "otherUserId": user_id, "kind": "upcoming"}  # fmt: skip
    document = await (await p.client.get("/api/openapi.json")).json()
    checked = []
    for path, item in document["paths"].items():
        get = item.get("get")
        if not get or not any(q["name"] == "offset" for q in get.get("parameters", [])):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        if any(n not in values for n in names):
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
        for headers in ({"Authorization": f"Bearer {token}"}, {"Authorization": f"Bearer {organization_token}"}):
            first = await p.client.get(url, params={"limit": 2, "offset": 0, **_required(path)}, headers=headers)
            if first.status != 200:
                continue
            page = await first.json()
            if len(page["items"]) < 2:
                continue
            second = await (
                await p.client.get(url, params={"limit": 1, "offset": 1, **_required(path)}, headers=headers)
            ).json()
            assert second["items"] == page["items"][1:2], f"{path} ignores offset"
            checked.append(path)
            break
    assert len(checked) >= 5, checked


def _required(path: str) -> dict[str, str]:
    return {"q": "a"} if path.endswith("/search") and "/chat/" in path else {}
