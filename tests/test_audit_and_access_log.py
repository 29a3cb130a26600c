"""The access log and the audit trail an operator reads (issue 14)."""

import asyncio
import json
import logging

from eventonight.kernel.cli import main as cli_main
from eventonight.kernel.testing import wait_until


async def test_the_access_log_has_request_id_route_status_latency_and_user_but_never_a_token(platform, caplog):
    caplog.set_level(logging.INFO, logger="eventonight.access")
    p = await platform()
    token = p.token("reader-1")
    response = await p.client.get(
        "/api/events/some-event-id?access_token=QUERYSECRET", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "eventonight.access"]
    line = next(m for m in lines if "/api/events/{eventId}" in m)
    assert f"request={response.headers['X-Request-ID']}" in line
    assert "GET /api/events/{eventId} 404 " in line and "ms " in line
    assert "user=reader-1" in line and "client=127.0.0.1" in line
    assert "some-event-id" not in line, "route templates, not paths: ids stay out of the log"
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert token not in everything and "QUERYSECRET" not in everything
    # Guests and unknown routes are logged too.
    await p.client.get("/no/such/route")
    assert any("(unmatched)" in m or "/{tail}" in m for m in (r.getMessage() for r in caplog.records))
    assert any("user=-" in r.getMessage() for r in caplog.records if r.name == "eventonight.access")


async def test_an_operator_queries_the_trail_and_key_rotations_are_in_it(platform, settings, capsys, monkeypatch):
    p = await platform()
    await p.kernel.audit.record("sample.event", user_id="queried-user", client="192.0.2.1", note="x" * 1000)
    for key in ("mongodb_uri", "database", "broker_url", "exchange", "queue_prefix", "key_encryption_keys"):
        value = getattr(settings, key)
        monkeypatch.setenv(f"EVENTONIGHT_{key.upper()}", value if isinstance(value, str) else json.dumps(value))
    monkeypatch.setenv("EVENTONIGHT_DATA_DIR", str(settings.data_dir))
    assert await asyncio.to_thread(cli_main, ["keys", "rotate"]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(cli_main, ["audit", "--json", "--since", "1h"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [r["kind"] for r in records][:2] == ["keys.rotated", "sample.event"]
    assert records[0]["actorId"] == "operator" and records[0]["details"]["kid"]
    assert len(records[1]["details"]["note"]) == 200, "details are bounded"
    assert await asyncio.to_thread(cli_main, ["audit", "--user", "queried-user"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and " sample.event " in out[0] and "client=192.0.2.1" in out[0]
    # docs: kept EVENTONIGHT_AUDIT_RETENTION_DAYS (365 by default) days
    indexes = await p.kernel.database.db["kernel_audit"].index_information()
    assert any(i.get("expireAfterSeconds") == 365 * 86400 for i in indexes.values())
    assert await asyncio.to_thread(cli_main, ["audit", "--kind", "keys.*", "--json"]) == 0
    assert [json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines()] == ["keys.rotated"]


def test_the_access_log_follows_its_setting_and_the_log_level():
    from eventonight.kernel.logs import configure_logging

    root, access = logging.getLogger(), logging.getLogger("eventonight.access")
    before = root.level, access.level
    try:
        configure_logging("INFO", access_log=True)
        assert access.isEnabledFor(logging.INFO)
        configure_logging("INFO", access_log=False)
        assert not access.isEnabledFor(logging.INFO)
        configure_logging("WARNING", access_log=True)
        assert not access.isEnabledFor(logging.INFO)
    finally:
        root.setLevel(before[0])
        access.setLevel(before[1])


async def test_a_stream_is_logged_with_its_user_when_it_ends(platform, caplog):
    """A stream keeps who called for its log line, though it drops the token's claims."""
    caplog.set_level(logging.INFO, logger="eventonight.access")
    p = await platform()
    response = await p.client.get(
        "/api/notifications/stream", headers={"Authorization": f"Bearer {p.token('streamer-1')}"}
    )
    assert response.status == 200
    while b"unread-count" not in await asyncio.wait_for(response.content.readline(), 10):
        pass  # the stream's first frame: it is open
    response.close()

    def stream_lines():
        lines = [r.getMessage() for r in caplog.records if r.name == "eventonight.access"]
        return [m for m in lines if "/api/notifications/stream" in m]

    await wait_until(stream_lines)
    assert "user=streamer-1" in stream_lines()[0]
