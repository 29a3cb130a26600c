"""Access tokens: issue, verify, expiry, tampering, algorithm confusion, rotation, external issuers."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from joserfc import jwt
from joserfc.jwk import RSAKey

from eventonight.hooks import hookimpl
from eventonight.hooks.http import require_owner, require_role, require_user
from eventonight.kernel.auth.keys import KEYS
from eventonight.kernel.auth.tokens import TokenError
from eventonight.kernel.db import utcnow


class Protected:
    """A plugin with routes guarded by each auth helper."""

    @hookimpl
    def eventonight_routes(self, kernel):
        async def me(request):
            principal = await require_user(request)
            return web.json_response({"sub": principal.user_id, "role": principal.role, "iss": principal.issuer})

        async def org_only(request):
            await require_role(request, "organization")
            return web.json_response({"ok": True})

        async def owner_only(request):
            await require_owner(request, request.match_info["user_id"])
            return web.json_response({"ok": True})

        return [
            web.get("/api/t/me", me),
            web.get("/api/t/org", org_only),
            web.get("/api/t/users/{user_id}", owner_only),
        ]


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(kernel, **overrides):
    now = int(time.time())
    claims = {
        "sub": "u1",
        "role": "member",
        "iat": now,
        "exp": now + 60,
        "iss": kernel.settings.jwt_issuer,
        "aud": kernel.settings.jwt_audience,
        "jti": "x",
    }
    claims.update(overrides)
    return claims


def _sign(kernel, claims, key=None):
    key = key or kernel.keys.signing_key
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


async def test_issued_token_verifies_with_all_claims(platform):
    p = await platform()
    token = p.kernel.tokens.issue_access_token("user-1", "organization")
    principal = await p.kernel.tokens.verify(token)
    assert principal.user_id == "user-1" and principal.role == "organization"
    claims = principal.claims
    assert {"sub", "role", "iat", "exp", "iss", "aud", "jti"} <= set(claims)
    assert claims["exp"] - claims["iat"] == p.kernel.settings.access_token_ttl_seconds
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["kid"] == p.kernel.keys.signing_key.kid


async def test_verifications_are_cached_unless_told_not_to(platform):
    tokens = (await platform()).kernel.tokens
    streamed, called = tokens.issue_access_token("user-1", "member"), tokens.issue_access_token("user-2", "member")
    assert (await tokens.verify(streamed, remember=False)).user_id == "user-1"
    assert tokens.cached(streamed) is None
    await tokens.verify(called, cache_key=f"Bearer {called}")
    assert tokens.cached(f"Bearer {called}").user_id == "user-2"
    assert tokens.cached(called) is None


async def test_token_checks_over_http(platform):
    p = await platform(extra_plugins=[("protected", Protected())])
    c = p.client
    response = await c.get("/api/t/me")
    assert response.status == 401
    assert (await response.json())["statusCode"] == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]
    response = await c.get("/api/t/me", headers=p.auth("abc", "member"))
    assert response.status == 200 and (await response.json())["sub"] == "abc"
    assert (await c.get("/api/t/org", headers=p.auth("abc", "member"))).status == 403
    assert (await c.get("/api/t/org", headers=p.auth("abc", "organization"))).status == 200
    assert (await c.get("/api/t/users/abc", headers=p.auth("abc"))).status == 200
    assert (await c.get("/api/t/users/other", headers=p.auth("abc"))).status == 403
    assert (await c.get("/api/t/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})).status == 401
    assert (await c.get("/api/t/me", headers={"Authorization": "Bearer not-a-jwt"})).status == 401


async def test_expired_tampered_and_foreign_tokens_are_rejected(platform):
    p = await platform()
    tokens, kernel = p.kernel.tokens, p.kernel
    now = int(time.time())
    expired = _sign(kernel, _claims(kernel, iat=now - 600, exp=now - 300))
    with pytest.raises(TokenError, match="expired"):
        await tokens.verify(expired)

    good = tokens.issue_access_token("u1", "member")
    header, payload, signature = good.split(".")
    forged_payload = _b64({**json.loads(base64.urlsafe_b64decode(payload + "==")), "role": "organization"})
    with pytest.raises(TokenError):
        await tokens.verify(f"{header}.{forged_payload}.{signature}")

    for bad in (_claims(kernel, aud="someone-else"), _claims(kernel, iss="https://evil.example")):
        with pytest.raises(TokenError):
            await tokens.verify(_sign(kernel, bad))

    stranger = RSAKey.generate_key(2048, parameters={"kid": kernel.keys.signing_key.kid}, private=True)
    with pytest.raises(TokenError):
        await tokens.verify(_sign(kernel, _claims(kernel), key=stranger))


async def test_alg_none_and_hs256_confusion_are_rejected(platform):
    p = await platform()
    kernel = p.kernel
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(kernel))}."
    with pytest.raises(TokenError, match="not accepted"):
        await kernel.tokens.verify(unsigned)
    # HS256 signed with the *public* key as the shared secret: the classic RS/HS confusion.
    # Built by hand: JOSE libraries refuse to make such a token, an attacker does not.
    public_pem = kernel.keys.signing_key.as_pem(private=False)
    signing_input = f"{_b64({'alg': 'HS256', 'kid': kernel.keys.signing_key.kid})}.{_b64(_claims(kernel))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    confused = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(TokenError, match="not accepted"):
        await kernel.tokens.verify(confused)


async def test_rotation_keeps_old_tokens_valid_until_they_expire(platform):
    p = await platform()
    kernel = p.kernel
    old_kid = kernel.keys.signing_key.kid
    old_token = kernel.tokens.issue_access_token("u1", "member")
    new_kid = await kernel.keys.rotate()
    assert new_kid != old_kid and kernel.keys.signing_key.kid == new_kid
    new_token = kernel.tokens.issue_access_token("u2", "member")
    assert (await kernel.tokens.verify(old_token)).user_id == "u1"
    assert (await kernel.tokens.verify(new_token)).user_id == "u2"
    jwks = await (await p.client.get("/.well-known/jwks.json")).json()
    assert {k["kid"] for k in jwks["keys"]} == {old_kid, new_kid}
    assert all("d" not in k for k in jwks["keys"]), "private parts must never be published"

    # Once every token of the old key has expired, the key leaves the set.
    past = utcnow() - timedelta(seconds=kernel.settings.access_token_ttl_seconds + 120)
    await kernel.database.db[KEYS].update_one({"_id": old_kid}, {"$set": {"retiredAt": past}})
    await kernel.keys.refresh_if_stale(force=True)
    jwks = await (await p.client.get("/.well-known/jwks.json")).json()
    assert [k["kid"] for k in jwks["keys"]] == [new_kid]
    fresh_claims_old_key = _claims(kernel, sub="u3")
    old_key_doc = await kernel.database.db[KEYS].find_one({"_id": old_kid})
    with pytest.raises(TokenError):
        await kernel.tokens.verify(
            _sign(
                kernel,
                fresh_claims_old_key,
                key=RSAKey.import_key(json.loads(kernel.secrets.decrypt(old_key_doc["jwkEncrypted"]))),
            )
        )


async def test_key_set_persists_across_restarts_and_rotation_reaches_other_processes(platform, settings):
    first = await platform()
    second = await platform()  # another process of the same deployment
    assert first.kernel.keys.signing_key.kid == second.kernel.keys.signing_key.kid
    new_kid = await first.kernel.keys.rotate()
    token = first.kernel.tokens.issue_access_token("u1", "member")
    # The second process does not know the new kid yet: it reloads the set and accepts it.
    assert (await second.kernel.tokens.verify(token)).user_id == "u1"
    # ...and its periodic refresh makes it sign with the new key too.
    await second.kernel.keys.refresh_if_stale(force=True)
    assert second.kernel.keys.signing_key.kid == new_kid


async def test_external_issuer_tokens_are_accepted(platform, settings):
    """A second in-process issuer plays Keycloak: JWKS over HTTP, roles in realm_access.roles."""
    key = RSAKey.generate_key(2048, parameters={"kid": "kc-1", "alg": "RS256", "use": "sig"}, private=True)
    fetches = []

    async def jwks(request):
        fetches.append(1)
        return web.json_response({"keys": [key.as_dict(private=False)]})

    issuer_app = web.Application()
    issuer_app.router.add_get("/realms/eventonight/protocol/openid-connect/certs", jwks)
    issuer_server = TestServer(issuer_app)
    await issuer_server.start_server()
    try:
        issuer = str(issuer_server.make_url("/realms/eventonight"))
        configured = type(settings)(
            **{
                **settings.model_dump(),
                "trusted_issuers": [
                    {
                        "issuer": issuer,
                        "jwks_url": f"{issuer}/protocol/openid-connect/certs",
                        "audience": "eventonight-web",
                        "role_claim": "realm_access.roles",
                    }
                ],
            }
        )
        p = await platform(extra_plugins=[("protected", Protected())], settings_override=configured)
        now = int(time.time())
        claims = {
            "sub": "kc-user",
            "iss": issuer,
            "aud": "eventonight-web",
            "iat": now,
            "exp": now + 60,
            "realm_access": {"roles": ["offline_access", "organization"]},
        }
        token = jwt.encode({"alg": "RS256", "kid": "kc-1"}, claims, key)
        response = await p.client.get("/api/t/org", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
        body = await (await p.client.get("/api/t/me", headers={"Authorization": f"Bearer {token}"})).json()
        assert body == {"sub": "kc-user", "role": "organization", "iss": issuer}
        wrong_aud = jwt.encode({"alg": "RS256", "kid": "kc-1"}, {**claims, "aud": "other"}, key)
        assert (await p.client.get("/api/t/me", headers={"Authorization": f"Bearer {wrong_aud}"})).status == 401
        # Signed by a key the issuer does not publish: rejected even after a refetch.
        rogue = RSAKey.generate_key(2048, parameters={"kid": "kc-1"}, private=True)
        forged = jwt.encode({"alg": "RS256", "kid": "kc-1"}, claims, rogue)
        assert (await p.client.get("/api/t/me", headers={"Authorization": f"Bearer {forged}"})).status == 401
        assert fetches, "the JWKS was fetched over HTTP"
    finally:
        await issuer_server.close()


async def test_revoked_sessions_and_subjects_stop_working_everywhere(platform):
    p = await platform(extra_plugins=[("protected", Protected())])
    other_process = await platform()
    tokens = p.kernel.tokens
    session_token = tokens.issue_access_token("u1", "member", {"sid": "s-1"})
    other_session = tokens.issue_access_token("u1", "member", {"sid": "s-2"})
    doomed_user = tokens.issue_access_token("u2", "member", {"sid": "s-3"})
    for token in (session_token, other_session, doomed_user):
        assert (await p.client.get("/api/t/me", headers={"Authorization": f"Bearer {token}"})).status == 200

    await p.kernel.revocations.revoke(session="s-1")
    await p.kernel.revocations.revoke(subject="u2")
    for token in (session_token, doomed_user):
        response = await p.client.get("/api/t/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 401 and "revoked" in (await response.json())["message"]
    assert (await p.client.get("/api/t/me", headers={"Authorization": f"Bearer {other_session}"})).status == 200

    # Another process applies them at its next reload (every few seconds).
    await other_process.kernel.revocations.load()
    with pytest.raises(TokenError, match="revoked"):
        await other_process.kernel.tokens.verify(session_token)


async def test_tokens_with_unknown_key_ids_cost_at_most_one_key_lookup_a_second(platform, settings):
    """Unauthenticated denial of service: random ``kid``s must not make every request read the keys."""
    import asyncio
    from uuid import uuid4

    from eventonight.kernel.auth.keys import MIN_FORCED_REFRESH_SECONDS

    p = await platform()
    kernel = p.kernel
    lookups = []
    real = kernel.keys._active_docs

    async def counted():  # the real lookup, counted
        lookups.append(time.monotonic())
        return await real()

    kernel.keys._active_docs = counted
    await asyncio.sleep(MIN_FORCED_REFRESH_SECONDS + 0.1)
    forged = [
        f"{_b64({'alg': 'RS256', 'kid': uuid4().hex, 'typ': 'JWT'})}.{_b64(_claims(kernel))}.c2ln" for _ in range(200)
    ]
    answers = await asyncio.gather(*(p.client.get("/api/ticketing/me/orders", headers={"Authorization": f"Bearer {t}"})
                                     for t in forged))  # fmt: skip
    assert {a.status for a in answers} == {401}
    assert len(lookups) == 1, "200 unknown key ids, one look at the keys"

    # A key rotated by another process is still found: the next unknown kid after a second looks again.
    other = await platform()
    await other.kernel.keys.rotate()
    await asyncio.sleep(MIN_FORCED_REFRESH_SECONDS + 0.1)
    token = other.kernel.tokens.issue_access_token("someone", "member")
    assert (await kernel.tokens.verify(token)).user_id == "someone"
    assert len(lookups) == 2


async def test_signing_keys_are_encrypted_at_rest_and_the_key_encryption_key_rotates(platform, settings, tmp_path):
    from cryptography.fernet import Fernet

    from eventonight.kernel.kernel import Kernel
    from eventonight.kernel.secrets import SecretsConfigError, load_secrets

    p = await platform()
    kernel = p.kernel
    token = kernel.tokens.issue_access_token("kek-user", "member")
    [stored] = await kernel.database.db[KEYS].find().to_list(None)
    assert "jwk" not in stored and stored["jwkEncrypted"].startswith("gAAAA"), "a Fernet token, not the key"
    assert '"d"' not in json.dumps(stored, default=str), "no private exponent in the database"
    # A key stored in clear by an earlier version is encrypted at the next start.
    plain = RSAKey.generate_key(2048, parameters={"kid": "legacy", "alg": "RS256", "use": "sig"}, private=True)
    await kernel.database.db[KEYS].insert_one(
        {"_id": "legacy", "jwk": plain.as_dict(private=True), "createdAt": utcnow() - timedelta(days=1),
         "retiredAt": None}
    )  # fmt: skip
    await kernel.keys.load()
    legacy = await kernel.database.db[KEYS].find_one({"_id": "legacy"})
    assert "jwk" not in legacy and "jwkEncrypted" in legacy

    # Rotation: a new KEK first, `keys rekey`, then the old one dropped: tokens still verify.
    new_kek = Fernet.generate_key().decode()
    both = settings.model_copy(update={"key_encryption_keys": [new_kek, *settings.key_encryption_keys]})
    rolling = await platform(settings_override=both)
    assert await rolling.kernel.keys.rekey() == 2
    only_new = await platform(settings_override=settings.model_copy(update={"key_encryption_keys": [new_kek]}))
    assert (await only_new.kernel.tokens.verify(token)).user_id == "kek-user"
    # Dropped too early, or the wrong KEK: a clear error at start, not tokens signed by nobody knows what.
    wrong = Kernel(settings.model_copy(update={"key_encryption_keys": [Fernet.generate_key().decode()]}))
    with pytest.raises(SecretsConfigError, match="does not decrypt"):
        await wrong.start()
    await wrong.stop()
    # No KEK outside the embedded demo: the platform does not start.
    with pytest.raises(SecretsConfigError, match="EVENTONIGHT_KEY_ENCRYPTION_KEYS is not set"):
        await Kernel(settings.model_copy(update={"key_encryption_keys": []})).start()
    # The embedded demo makes its own, readable by the owner only, and keeps it.
    first = load_secrets([], embedded=True, data_dir=tmp_path)
    assert (tmp_path / "key-encryption.key").stat().st_mode & 0o777 == 0o600
    assert load_secrets([], embedded=True, data_dir=tmp_path).decrypt(first.encrypt(b"x")) == b"x"


async def test_a_periodic_refresh_imports_only_keys_it_does_not_hold(platform):
    # Importing a private key checks it (~30 ms of CPU on the event loop): a refresh every 30 s
    # that re-imported the set stalled every request of the process meanwhile.
    kernel = (await platform()).kernel
    held = kernel.keys.signing_key
    await kernel.keys.refresh_if_stale(force=True)
    assert kernel.keys.signing_key is held and kernel.keys.key_set.keys == [held]
    new_kid = await kernel.keys.rotate()
    await kernel.keys.refresh_if_stale(force=True)
    assert kernel.keys.signing_key.kid == new_kid and kernel.keys.signing_key is not held
    assert kernel.keys.key_set.keys[0] is held  # the retired one, still valid, not imported again
    # A key stored differently under the same id (re-encrypted, or replaced) is imported again.
    doc = await kernel.database.db[KEYS].find_one({"_id": held.kid})
    resealed = kernel.secrets.encrypt(kernel.secrets.decrypt(doc["jwkEncrypted"]))
    await kernel.database.db[KEYS].update_one({"_id": held.kid}, {"$set": {"jwkEncrypted": resealed}})
    await kernel.keys.refresh_if_stale(force=True)
    again = kernel.keys.key_set.keys[0]
    assert again.kid == held.kid and again is not held
    token = _sign(kernel, _claims(kernel, sub="u9"), key=again)
    assert (await kernel.tokens.verify(token)).user_id == "u9"
