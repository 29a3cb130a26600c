"""Security events of accounts land in the platform's audit trail (issue 14)."""

import json


async def test_security_events_land_in_the_audit_trail_without_secrets(platform, register):
    p = await platform()
    c = p.client
    pair = await register(c, "audited", password="correct horse")
    user_id = pair["user"]["id"]
    await c.post("/api/users/login", json={"login": "audited", "password": "wrong horse!"})
    await c.post("/api/users/login", json={"login": "nobody-here", "password": "wrong horse!"})
    login = await (await c.post("/api/users/login", json={"login": "audited", "password": "correct horse"})).json()
    # Rotating a refresh token and presenting the old one again is reuse.
    await c.post("/api/users/refresh", json={"refreshToken": login["refreshToken"]})
    assert (await c.post("/api/users/refresh", json={"refreshToken": login["refreshToken"]})).status == 401
    auth = {"Authorization": f"Bearer {pair['accessToken']}"}
    changed = await c.put(
        f"/api/users/{user_id}/password",
        json={"currentPassword": "correct horse", "newPassword": "battery staple", "confirmPassword": "battery staple"},
        headers=auth,
    )
    assert changed.status == 204, await changed.text()
    assert (await c.delete(f"/api/users/{user_id}", headers=auth)).status == 204

    records = await p.kernel.audit.query(user_id=user_id)
    kinds = [r["kind"] for r in reversed(records)]
    assert kinds == [
        "user.registered",
        "login.failed",
        "login.succeeded",
        "token.reuse_detected",
        "password.changed",
        "user.deleted",
    ], kinds
    assert all(r["client"] == "127.0.0.1" and r["requestId"] not in (None, "-") for r in records)
    unknown = await p.kernel.audit.query(kind="login.failed")
    assert any(r["details"].get("login") == "nobody-here" and r["userId"] is None for r in unknown)
    dumped = json.dumps(await p.kernel.audit.query(limit=1000), default=str)
    for secret in ("correct horse", "wrong horse", "battery staple", login["refreshToken"], pair["accessToken"]):
        assert secret not in dumped
    assert [r["kind"] for r in await p.kernel.audit.query(kind="login.*")].count("login.failed") == 2
