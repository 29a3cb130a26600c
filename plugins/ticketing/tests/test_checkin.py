"""Signed ticket codes verified offline, and door check-in by the event's hosts."""

import base64
import json
from uuid import uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventonight_ticketing.domain.qr import BadCode, verify
from test_ticketing import API, hosted_event, new_type, order


async def bought(p, account, count=2):
    org, event = await hosted_event(p, account)
    standard = await new_type(p, org, event, capacity=10)
    buyer = p.auth("holder")
    placed = await (await order(p, buyer, event["id"], [(standard["id"], count)])).json()
    tickets = []
    for ticket in placed["tickets"]:
        tickets.append(await (await p.client.get(f"{API}/tickets/{ticket['id']}", headers=buyer)).json())
    return org, event, buyer, placed, tickets


def _public_keys(jwks: dict) -> dict:
    return {
        k["kid"]: Ed25519PublicKey.from_public_bytes(base64.urlsafe_b64decode(k["x"] + "=" * (-len(k["x"]) % 4)))
        for k in jwks["keys"]
    }


async def test_ticket_codes_verify_offline_with_the_published_keys_and_tampering_fails(platform, account):
    p = await platform()
    _, event, _, _, tickets = await bought(p, account, 1)
    code = tickets[0]["qr"]
    keys = _public_keys(await (await p.client.get(f"{API}/keys")).json())
    decoded = verify(code, keys)  # no server involved: signature, then the contents
    assert (decoded.ticket_id, decoded.event_id, decoded.secret_rev) == (tickets[0]["id"], event["id"], 0)
    prefix, payload, signature = code.split(".")
    forged = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    forged["t"] = "someone-elses-ticket"
    forged_payload = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    for bad in (f"{prefix}.{forged_payload}.{signature}", code[:-4] + "AAAA", "ETN1.x.y", "garbage"):
        try:
            verify(bad, keys)
            raise AssertionError(f"accepted {bad}")
        except BadCode:
            pass


async def test_check_in_once_then_double_scans_are_refused_with_the_first_scan(platform, account, bus_tap):
    tap = await bus_tap("ticketing.ticket.checked_in")
    p = await platform()
    org, event, buyer, _, tickets = await bought(p, account)
    path = f"{API}/events/{event['id']}/checkins"
    scan = {"qr": tickets[0]["qr"], "scanId": uuid4().hex, "gate": "north"}
    first = await p.client.post(path, json=scan, headers=org.headers)
    assert first.status == 200 and (await first.json())["ticketId"] == tickets[0]["id"]
    retried = await p.client.post(path, json=scan, headers=org.headers)
    assert retried.status == 200, "the same scanId: the same answer, not a double scan"
    again = await p.client.post(path, json={**scan, "scanId": uuid4().hex, "gate": "south"}, headers=org.headers)
    assert again.status == 409
    [detail] = (await again.json())["details"]
    assert detail["type"] == "already_used" and detail["gate"] == "north" and detail["by"] == org.id
    [checked] = await tap.wait_for("ticketing.ticket.checked_in")
    assert checked["payload"]["ticketId"] == tickets[0]["id"]
    assert (await p.client.post(path, json={**scan, "scanId": uuid4().hex}, headers=buyer)).status == 403
    undone = await p.client.delete(f"{path}/{tickets[0]['id']}", headers=org.headers)
    assert undone.status == 204
    readmitted = await p.client.post(path, json={**scan, "scanId": uuid4().hex}, headers=org.headers)
    assert readmitted.status == 200
    by_id = await p.client.post(path, json={"ticketId": tickets[1]["id"], "scanId": uuid4().hex}, headers=org.headers)
    assert by_id.status == 200


async def test_wrong_event_bad_codes_and_cancelled_tickets_are_refused(platform, account):
    p = await platform()
    org, event, buyer, placed, tickets = await bought(p, account)
    other_org, other_event = await hosted_event(p, account)
    path = f"{API}/events/{event['id']}/checkins"

    async def refused(body, headers=org.headers, url=path):
        response = await p.client.post(url, json={"scanId": uuid4().hex, **body}, headers=headers)
        return response.status, (await response.json()).get("details", [{}])[0].get("type")

    elsewhere = f"{API}/events/{other_event['id']}/checkins"
    assert await refused({"qr": tickets[0]["qr"]}, other_org.headers, elsewhere) == (422, "wrong_event")
    assert await refused({"qr": tickets[0]["qr"][:-6] + "AAAAAA"}) == (422, "bad_signature")
    assert await refused({"ticketId": "nope"}) == (404, "unknown_ticket")
    assert (await p.client.post(path, json={"scanId": uuid4().hex}, headers=org.headers)).status == 400
    refund = await p.client.post(
        f"{API}/orders/{placed['id']}/refunds", json={"ticketIds": [tickets[0]["id"]]}, headers=org.headers
    )
    assert refund.status == 200
    assert await refused({"qr": tickets[0]["qr"]}) == (409, "cancelled")
    revocations = await (await p.client.get(f"{API}/events/{event['id']}/revocations", headers=org.headers)).json()
    assert [r["ticketId"] for r in revocations["cancelled"]] == [tickets[0]["id"]]
    assert (await p.client.get(f"{API}/events/{event['id']}/revocations", headers=buyer)).status == 403


async def test_an_offline_batch_lets_the_earliest_scan_of_a_ticket_win(platform, account):
    p = await platform()
    org, event, _, _, tickets = await bought(p, account)
    scans = [
        {"qr": tickets[0]["qr"], "scanId": uuid4().hex, "gate": "late", "scannedAt": "2030-01-01T20:05:00Z"},
        {"qr": tickets[0]["qr"], "scanId": uuid4().hex, "gate": "early", "scannedAt": "2030-01-01T20:00:00Z"},
        {"qr": tickets[1]["qr"], "scanId": uuid4().hex, "gate": "early", "scannedAt": "2030-01-01T20:01:00Z"},
    ]
    response = await p.client.post(
        f"{API}/events/{event['id']}/checkins:batch", json={"scans": scans}, headers=org.headers
    )
    assert response.status == 200, await response.text()
    results = {r["scanId"]: r for r in (await response.json())["results"]}
    assert results[scans[1]["scanId"]]["status"] == 200
    assert results[scans[0]["scanId"]]["status"] == 409 and results[scans[0]["scanId"]]["gate"] == "early"
    assert results[scans[2]["scanId"]]["status"] == 200
    too_many = {"scans": [{"ticketId": "x", "scanId": uuid4().hex} for _ in range(501)]}
    assert (
        await p.client.post(f"{API}/events/{event['id']}/checkins:batch", json=too_many, headers=org.headers)
    ).status == 400


async def test_rotating_the_keys_keeps_old_codes_valid(platform, account, capsys):
    p = await platform()
    org, event, buyer, _, tickets = await bought(p, account, 1)
    old_code = tickets[0]["qr"]
    old_kid = verify(old_code, _public_keys(await (await p.client.get(f"{API}/keys")).json())).kid
    [(name, _, run)] = [
        c for r in p.kernel.hooks.call("eventonight_commands") for c in r.value if r.plugin == "ticketing"
    ]
    assert name == "ticketing" and await run(p.kernel, ["rotate"]) == 2, "usage: ticketing keys rotate"
    assert await run(p.kernel, ["keys", "rotate"]) == 0
    stored = await p.kernel.read.collection("ticketing_keys").find().to_list(None)
    assert len(stored) == 2 and all("private" not in d and d["private_encrypted"].startswith("gAAAA") for d in stored)
    assert await run(p.kernel, ["keys", "rekey"]) == 0, "re-encrypted under the newest key-encryption key"
    assert "new ticket signing key" in capsys.readouterr().out
    audited = [r["kind"] for r in await p.kernel.audit.query(kind="ticketing.keys.*")]
    assert audited == ["ticketing.keys.rekeyed", "ticketing.keys.rotated"], "operators see key changes"
    keys = _public_keys(await (await p.client.get(f"{API}/keys")).json())
    assert len(keys) == 2 and old_kid in keys
    fresh = await (await p.client.get(f"{API}/tickets/{tickets[0]['id']}", headers=buyer)).json()
    assert verify(fresh["qr"], keys).kid != old_kid, "the new key signs from now on"
    scan = {"qr": old_code, "scanId": uuid4().hex}
    assert (await p.client.post(f"{API}/events/{event['id']}/checkins", json=scan, headers=org.headers)).status == 200


async def test_pdfs_print_only_tickets_that_may_enter(platform, account):
    p = await platform()
    org, _, buyer, placed, tickets = await bought(p, account, 2)
    one = await p.client.get(f"{API}/tickets/{tickets[0]['id']}/pdf", headers=buyer)
    assert one.status == 200 and one.content_type == "application/pdf"
    assert one.headers["Cache-Control"] == "private, no-store"
    body = await one.read()
    assert body.startswith(b"%PDF") and body.count(b"/Type /Page\n") + body.count(b"/Type /Page ") >= 1
    both = await (await p.client.get(f"{API}/orders/{placed['id']}/pdf", headers=org.headers)).read()
    assert both.startswith(b"%PDF")
    assert (await p.client.get(f"{API}/orders/{placed['id']}/pdf", headers=p.auth("stranger"))).status == 404
    refund = await p.client.post(f"{API}/orders/{placed['id']}/refunds", json={}, headers=org.headers)
    assert refund.status == 200
    assert (await p.client.get(f"{API}/tickets/{tickets[0]['id']}/pdf", headers=buyer)).status == 404
    assert (await p.client.get(f"{API}/orders/{placed['id']}/pdf", headers=buyer)).status == 404
    cancelled = await (await p.client.get(f"{API}/tickets/{tickets[0]['id']}", headers=buyer)).json()
    assert cancelled["status"] == "CANCELLED" and cancelled["qr"] is None
