"""Issuing and verifying RS256 access tokens (joserfc, the JOSE library of the authlib project)."""

from __future__ import annotations

import base64
import json
import time
from collections import OrderedDict
from typing import Any
from uuid import uuid4

from joserfc import jwt
from joserfc.errors import JoseError

from eventonight.kernel.auth.external import ExternalIssuer
from eventonight.kernel.auth.keys import KeyStore
from eventonight.kernel.auth.principal import ROLES, Principal
from eventonight.kernel.auth.revocations import Revocations
from eventonight.settings import TrustedIssuer

ALGORITHMS = ["RS256"]


class TokenError(Exception):
    """The token is missing, malformed, forged, expired or not for us."""


def _unverified_part(token: str, index: int) -> dict[str, Any]:
    try:
        segment = token.split(".")[index]
        data = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (IndexError, ValueError, UnicodeDecodeError) as exc:
        raise TokenError("malformed token") from exc
    if not isinstance(data, dict):
        raise TokenError("malformed token")
    return data


def _role_from(claims: dict[str, Any], path: str) -> str:
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        for role in ("organization", "member"):
            if role in value:
                return role
    if value is None:
        return "member"  # an authenticated user of a trusted issuer without our role: least privilege
    raise TokenError("token carries no eventonight role")


class TokenService:
    """The kernel's signing service and the verifier used on every request."""

    def __init__(
        self,
        keys: KeyStore,
        *,
        issuer: str,
        audience: str,
        access_ttl_seconds: int,
        trusted_issuers: list[TrustedIssuer] = (),
        revocations: Revocations | None = None,
        cache_size: int = 10_000,
    ) -> None:
        self.keys = keys
        self.revocations = revocations
        self.issuer = issuer
        self.audience = audience
        self.access_ttl_seconds = access_ttl_seconds
        self.external = {t.issuer: ExternalIssuer(t) for t in trusted_issuers}
        self._cache: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self._cache_size = cache_size

    def issue_access_token(self, user_id: str, role: str, extra_claims: dict[str, Any] | None = None) -> str:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        now = int(time.time())
        claims = {
            **(extra_claims or {}),
            "sub": user_id,
            "role": role,
            "iat": now,
            "exp": now + self.access_ttl_seconds,
            "iss": self.issuer,
            "aud": self.audience,
            "jti": uuid4().hex,
        }
        key = self.keys.signing_key
        return jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "JWT"}, claims, key, algorithms=ALGORITHMS)

    def cached(self, token: str) -> Principal | None:
        """The caller if this exact token was verified before and has not expired."""
        cached = self._cache.get(token)
        if cached is not None and cached[1] > time.time():
            if self.revocations is not None and self.revocations.is_revoked(cached[0].claims):
                return None  # verify() will say why
            return cached[0]
        return None

    async def verify(self, token: str, *, cache_key: str | None = None, remember: bool = True) -> Principal:
        """Verify signature, algorithm, ``exp``, ``iss``, ``aud`` and revocation; return the caller.

        The result is cached under ``cache_key`` (default: the token) unless ``remember`` is
        false. The HTTP layer passes the whole Authorization header, which the request holds
        anyway, so the cache keeps no second copy of a ~700-byte token.
        """
        cached = self.cached(cache_key or token)
        if cached is not None:
            return cached
        header = _unverified_part(token, 0)
        if header.get("alg") not in ALGORITHMS:
            raise TokenError(f"algorithm {header.get('alg')!r} is not accepted")
        issuer = _unverified_part(token, 1).get("iss")
        if issuer == self.issuer:
            if not self.keys.has_kid(header.get("kid")):
                await self.keys.refresh_for_unknown_kid()  # rotated by another process?
            principal, exp = self._decode(token, self.keys.key_set, self.issuer, self.audience, "role")
        elif issuer in self.external:
            external = self.external[issuer]
            try:
                key_set = await external.key_set(header.get("kid"))
            except Exception as exc:
                raise TokenError(f"cannot fetch the keys of issuer {issuer}") from exc
            config = external.config
            principal, exp = self._decode(token, key_set, issuer, config.audience, config.role_claim)
        else:
            raise TokenError("token issuer is not trusted")
        if remember:
            self._remember(cache_key or token, principal, exp)
        return principal

    def _decode(self, token, key_set, issuer, audience, role_claim) -> tuple[Principal, float]:
        try:
            decoded = jwt.decode(token, key_set, algorithms=ALGORITHMS)
            options: dict[str, Any] = {
                "iss": {"essential": True, "value": issuer},
                "exp": {"essential": True},
                "sub": {"essential": True},
            }
            if audience:
                options["aud"] = {"essential": True, "value": audience}
            jwt.JWTClaimsRegistry(leeway=5, **options).validate(decoded.claims)
        except JoseError as exc:
            raise TokenError(f"invalid token: {exc.description or exc.error}") from exc
        except (ValueError, TypeError) as exc:
            raise TokenError("invalid token") from exc
        claims = decoded.claims
        if self.revocations is not None and self.revocations.is_revoked(claims):
            raise TokenError("token has been revoked")
        role = claims.get("role") if role_claim == "role" and issuer == self.issuer else _role_from(claims, role_claim)
        if role not in ROLES:
            raise TokenError("token carries no eventonight role")
        return Principal(user_id=str(claims["sub"]), role=role, issuer=issuer, claims=claims), float(claims["exp"])

    def _remember(self, token: str, principal: Principal, exp: float) -> None:
        self._cache[token] = (principal, exp)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
