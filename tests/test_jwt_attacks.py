"""The forged and misused tokens of the security review (issue 14), as one table: none is accepted.

Every case goes through HTTP against a member-only route; a valid token is the
control (200). The session cases (after logout, a reused refresh token) use the
users plugin's real login, refresh and logout.
"""

import base64
import hashlib
import hmac
import json
import time
from uuid import uuid4

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

ROUTE = "/api/notifications"


def b64(data) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(kernel, **overrides):
    now = int(time.time())
    base = {"sub": uuid4().hex, "role": "member", "iat": now, "exp": now + 120,
            "iss": kernel.settings.jwt_issuer, "aud": kernel.settings.jwt_audience, "jti": uuid4().hex}  # fmt: skip
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def signed(kernel, payload, *, key=None, header=None):
    key = key or kernel.keys.signing_key
    return jwt.encode({"alg": "RS256", "kid": key.kid, **(header or {})}, payload, key)


def hs256_with_public_key(kernel):
    public_pem = kernel.keys.signing_key.as_pem(private=False)
    signing_input = f"{b64({'alg': 'HS256', 'kid': kernel.keys.signing_key.kid})}.{b64(claims(kernel))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tampered_role(kernel):
    header, payload, signature = signed(kernel, claims(kernel)).split(".")
    forged = {**json.loads(base64.urlsafe_b64decode(payload + "==")), "role": "organization"}
    return f"{header}.{b64(forged)}.{signature}"


def stranger(kid=None, **header):
    key = RSAKey.generate_key(2048, parameters={"kid": kid or uuid4().hex}, private=True)
    return key, header


def with_attacker_key_in_header(kernel, field):
    key = RSAKey.generate_key(2048, parameters={"kid": "attacker"}, private=True)
    extra = {"jwk": key.as_dict(private=False)} if field == "jwk" else {field: "https://evil.example/jwks.json"}
    return signed(kernel, claims(kernel), key=key, header=extra)


def other_algorithm(kernel, alg):
    if alg == "ES256":
        key = ECKey.generate_key("P-256", parameters={"kid": kernel.keys.signing_key.kid}, private=True)
        return jwt.encode({"alg": "ES256", "kid": key.kid}, claims(kernel), key)
    # Our own key material, with another RSA algorithm: refused for the algorithm alone.
    ours = RSAKey.import_key({k: v for k, v in kernel.keys.signing_key.as_dict(private=True).items() if k != "alg"})
    return jwt.encode({"alg": alg, "kid": ours.kid}, claims(kernel), ours, algorithms=[alg])


FORGED = {
    "alg none": lambda k: f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(k))}.",
    "alg None (case)": lambda k: f"{b64({'alg': 'None'})}.{b64(claims(k))}.",
    "HS256 with the public key as secret": hs256_with_public_key,
    "tampered role": tampered_role,
    "expired": lambda k: signed(k, claims(k, exp=int(time.time()) - 300, iat=int(time.time()) - 900)),
    "not yet valid": lambda k: signed(k, claims(k, nbf=int(time.time()) + 3600)),
    "no exp": lambda k: signed(k, claims(k, exp=None)),
    "no subject": lambda k: signed(k, claims(k, sub=None)),
    "wrong audience": lambda k: signed(k, claims(k, aud="someone-else")),
    "wrong issuer": lambda k: signed(k, claims(k, iss="https://evil.example")),
    "unknown kid": lambda k: signed(k, claims(k), key=stranger()[0]),
    "our kid, another key": lambda k: signed(k, claims(k), key=stranger(k.keys.signing_key.kid)[0]),
    "kid path traversal": lambda k: signed(k, claims(k), key=stranger("../../../etc/passwd")[0]),
    "attacker key in jwk header": lambda k: with_attacker_key_in_header(k, "jwk"),
    "attacker jku": lambda k: with_attacker_key_in_header(k, "jku"),
    "attacker x5u": lambda k: with_attacker_key_in_header(k, "x5u"),
    "RS512 not accepted": lambda k: other_algorithm(k, "RS512"),
    "ES256 not accepted": lambda k: other_algorithm(k, "ES256"),
    "signature stripped": lambda k: signed(k, claims(k)).rsplit(".", 1)[0] + ".",
    "garbage": lambda k: "not.a.token",
    "two parts": lambda k: "abc.def",
    "huge": lambda k: "a" * 6000 + "." + "b" * 100 + ".c",
}


async def test_forged_tokens_are_refused(platform):
    p = await platform()  # one platform for the whole table: each case is one request
    control = await p.client.get(ROUTE, headers={"Authorization": f"Bearer {signed(p.kernel, claims(p.kernel))}"})
    assert control.status == 200
    accepted = {}
    for attack, forge in sorted(FORGED.items()):
        response = await p.client.get(ROUTE, headers={"Authorization": f"Bearer {forge(p.kernel)}"})
        if response.status != 401 or (await response.json())["statusCode"] != 401:
            accepted[attack] = response.status
    assert accepted == {}, f"forged tokens not refused with 401: {accepted}"


async def test_misused_session_tokens_are_refused(platform):
    """Refresh token as access token, access token after logout, a rotated refresh token reused."""
    p = await platform()
    body = {"username": "victim", "email": "victim@example.org", "password": "long password 1", "role": "member"}
    assert (await p.client.post("/api/users/register", json=body)).status == 201
    login = await (
        await p.client.post("/api/users/login", json={"login": "victim", "password": body["password"]})
    ).json()

    def bearer(token):
        return {"Authorization": f"Bearer {token}"}

    assert (await p.client.get(ROUTE, headers=bearer(login["accessToken"]))).status == 200
    assert (await p.client.get(ROUTE, headers=bearer(login["refreshToken"]))).status == 401, "refresh as access"
    rotated = await (await p.client.post("/api/users/refresh", json={"refreshToken": login["refreshToken"]})).json()
    reuse = await p.client.post("/api/users/refresh", json={"refreshToken": login["refreshToken"]})
    assert reuse.status == 401, "a rotated refresh token is spent"
    # Reuse means theft: the family is revoked, the thief's fresh pair too.
    stolen = await p.client.post("/api/users/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert stolen.status == 401
    again = await (
        await p.client.post("/api/users/login", json={"login": "victim", "password": body["password"]})
    ).json()
    assert (await p.client.get(ROUTE, headers=bearer(again["accessToken"]))).status == 200
    out = await p.client.post("/api/users/logout", json={"refreshToken": again["refreshToken"]})
    assert out.status == 204
    after = await p.client.get(ROUTE, headers=bearer(again["accessToken"]))
    assert after.status == 401, "an access token dies with its session at logout"
