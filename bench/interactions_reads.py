"""Likes at scale (the pages the original EvenToNight interactions service also serves) and the
reads every screen makes, with the database's CPU time per request beside each.

Run by hand: ``.venv/bin/python bench/interactions_reads.py [events] [--rounds N] [--only TEXT]``
(default 10,000 events, one round of every scenario; ``--only`` keeps the scenarios whose name
contains TEXT; rounds repeat the table on the same seeded data, since seeding takes ~10 minutes), with the
proportions of ``scale_data.py``: 5,000 users, 100,000 likes, 50,000 follows, 20,000 reviews,
5,000 conversations and the notifications they caused). One ``eventonight
web`` process on an embedded SecantusDB; ``wrk`` on one thread, 8 connections then 1, 8 s each:

- an event's likers, page of 20 of 200 (``GET /api/interactions/events/{id}/likes``);
- a user's likes, page of 20 of 100 (``GET /api/interactions/users/{id}/likes``);
- like an event (``POST …/likes``; each request a new pair of 205 members and the events);
- event detail, a profile, and the notifications, unread count and chat inbox of the seeded
  organization with the most of them (~600 notifications, 300 conversations at 10,000 events;
  target p50 ≤ 20 ms at 8).

The pages of likes, the notifications and the inbox twice: as served (the web process keeps a
page while what it shows is unchanged: the likes' counters and the copies of users or events, the
user's unread counter, the inbox's summaries, so these requests read those alone), and from a
second web process that keeps none (``EVENTONIGHT_INTERACTIONS_PAGES_KEPT=0``,
``EVENTONIGHT_NOTIFICATION_PAGES_KEPT=0``, ``EVENTONIGHT_CHAT_INBOX_PAGES_KEPT=0``), each request
reading the page too: what a request costs right after the page changed.

"db ms/req" is the database process's CPU time (user + system, from /proc) over the run divided
by the requests, "web ms/req" the same for the web process: the trend to watch beside throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import tempfile
import time

import aiohttp
from _common import (
    cpu_seconds,
    free_port,
    require_wrk,
    server_tokens,
    settle,
    start_eventonight,
    start_mongo,
    wait_http,
)
from scale_data import seed

MEMBERS = 205
SECONDS = 8

LIKE_SCRIPT = """
local tokens = {%s}
local events = {%s}
local n = tonumber(os.getenv("LIKE_START") or "0")
request = function()
  n = n + 1
  local t = tokens[(n %% #tokens) + 1]
  local e = events[(math.floor(n / #tokens) %% #events) + 1]
  return wrk.format("POST", "/api/interactions/events/" .. e .. "/likes", {["Authorization"] = "Bearer " .. t})
end
"""


def run_wrk(url: str, connections: int, *, header: str | None = None, script: str | None = None, env=None) -> dict:
    args = [require_wrk(), "-t1", f"-c{connections}", f"-d{SECONDS}s", "--latency"]
    if header:
        args += ["-H", header]
    if script:
        args += ["-s", script]
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, env={**os.environ, **(env or {})})
    out = out.stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": ms("50%"),
            "p99": ms("99%"), "requests": requests, "errors": int(errors.group(1)) if errors else 0}  # fmt: skip


async def register(session, name: str, role: str = "member") -> tuple[str, str]:
    body = {"username": name, "email": f"{name}@bench.example", "password": "bench password 1", "role": role}
    async with session.post("/api/users/register", json=body) as response:
        assert response.status == 201, await response.text()
        data = await response.json()
    return data["user"]["id"], data["accessToken"]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("events", nargs="?", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", default="")
    options = parser.parse_args()
    require_wrk()  # before minutes of seeding, not after
    size = options.events
    mongo = start_mongo()
    port = free_port()
    web = start_eventonight("web", mongo.uri, port, users_argon2_time_cost="1", users_argon2_memory_kib="1024")
    base = f"http://127.0.0.1:{port}"
    uncached = None
    try:
        wait_http(f"{base}/health")
        began = time.perf_counter()
        world = await seed(mongo.uri, size)
        print(f"seeded {size} events, 100,000 likes per 10,000 events in {time.perf_counter() - began:.0f} s")
        # The processes catch up on what seeding wrote (rankings, statistics) for a while: measure after.
        waited = settle(mongo.process.pid, web.pid)
        print(f"database and web process idle after {waited:.0f} s")
        async with aiohttp.ClientSession(base) as session:
            members = [await register(session, f"bench{i}") for i in range(MEMBERS)]
        # Tokens that outlive the rounds (a registration's access token expires within them).
        issuer = await server_tokens(mongo.uri)
        members = [(user_id, issuer.issue_access_token(user_id, "member")) for user_id, _ in members]
        reader_id, reader_token = members[0]
        auth = f"Authorization: Bearer {reader_token}"
        # Notifications and inbox of the organization with the most of both (the seeded one).
        busiest = f"Authorization: Bearer {issuer.issue_access_token(world.busiest, 'organization')}"
        events = [e["_id"] for e in world.events if e["status"] == "PUBLISHED"][:600]
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
            tokens, ids = ",".join(json.dumps(t) for _, t in members), ",".join(json.dumps(e) for e in events)
            script.write(LIKE_SCRIPT % (tokens, ids))
        scenarios = [
            ("event likers (20 of 200)", f"{base}/api/interactions/events/{world.liked_event}/likes?limit=20", None),
            ("user likes (20 of 100)", f"{base}/api/interactions/users/{world.liker}/likes?limit=20", None),
            ("like an event", f"{base}/", script.name),
            ("GET /api/events/{id}", f"{base}/api/events/{world.liked_event}", None),
            ("GET /api/users/{id} (profile)", f"{base}/api/users/{reader_id}", None),
            ("notifications (busiest org)", f"{base}/api/notifications?limit=20", None, busiest),
            ("unread count (busiest org)", f"{base}/api/notifications/unread-count", None, busiest),
            ("chat inbox (busiest org)", f"{base}/api/chat/users/{world.busiest}/conversations?limit=20", None,
             busiest),
        ]  # fmt: skip
        scenarios = [s for s in scenarios if options.only in s[0]]
        kept = [s for s in scenarios if s[0].startswith(("event likers", "user likes", "notifications", "chat"))]
        if kept:
            # Started after seeding, so that one process alone ran what seeding caused.
            cold_port = free_port()
            uncached = start_eventonight(
                "web",
                mongo.uri,
                cold_port,
                **{f"{p}_pages_kept": "0" for p in ("chat_inbox", "notification", "interactions")},
            )
            wait_http(f"http://127.0.0.1:{cold_port}/health")
            settle(mongo.process.pid, uncached.pid)
            for name, url, _, *header in kept:
                cold = url.replace(base, f"http://127.0.0.1:{cold_port}")
                scenarios.append(
                    (f"{name.split(' (')[0]}, no page kept", cold, None, *(header or [auth]), uncached.pid)
                )
        liked = 0  # each like request a pair not liked before
        for round_number in range(1, options.rounds + 1):
            print(
                f"round {round_number}\n{'':32} {'c':>2} {'req/s':>7} {'p50':>8} {'p99':>8} {'db ms/req':>9} {'web ms/req':>10}"
            )
            liked = run_round(scenarios, auth, liked, mongo.process.pid, web.pid)
        os.unlink(script.name)
    finally:
        for process in (uncached, web):
            if process is not None:
                process.terminate()
                process.wait(20)
        mongo.stop()


def run_round(scenarios: list, auth: str, liked: int, db_pid: int, web_pid: int) -> int:
    for name, url, lua, *rest in scenarios:
        # Optional: the scenario's own header and web process.
        header, pid = (rest + [auth, web_pid][len(rest) :])[:2]
        for connections in (8, 1):
            before, web_before = cpu_seconds(db_pid), cpu_seconds(pid)
            r = run_wrk(url, connections, header=header, script=lua, env={"LIKE_START": str(liked)})
            liked += r["requests"] + 1000 if lua else 0
            db_ms = (cpu_seconds(db_pid) - before) * 1000 / max(1, r["requests"])
            web_ms = (cpu_seconds(pid) - web_before) * 1000 / max(1, r["requests"])
            failed = f"  ({r['errors']} non-2xx)" if r["errors"] else ""
            print(f"{name:32} {connections:>2} {r['rps']:7.0f} {r['p50']:6.1f}ms {r['p99']:6.1f}ms {db_ms:9.2f} "
                  f"{web_ms:10.2f}{failed}", flush=True)  # fmt: skip
    return liked


if __name__ == "__main__":
    asyncio.run(main())
