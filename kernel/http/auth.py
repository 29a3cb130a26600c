"""Handler helpers: who is calling, and may they."""

from __future__ import annotations

from aiohttp import web

from eventonight.kernel.auth.principal import Principal
from eventonight.kernel.auth.tokens import TokenError
from eventonight.kernel.errors import ApiError
from eventonight.kernel.http.keys import KERNEL
from eventonight.kernel.logs import request_scope


def _bearer(header: str) -> str:
    # The common case first, without splitting: "Bearer <token>".
    if header[:7] in ("Bearer ", "bearer ") and len(header) > 7:
        return header[7:].strip()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "Authorization header must be 'Bearer <token>'", headers=_challenge())
    return token.strip()


def _challenge(error: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="eventonight"'
    if error:
        value += f', error="invalid_token", error_description="{error}"'
    return {"WWW-Authenticate": value}


async def _principal(request: web.Request, allow_query: bool, remember: bool = True) -> Principal | None:
    # Verifications are cached under the raw header (or query value) the request holds anyway.
    raw = request.headers.get("Authorization")
    if raw:
        token = None
    elif allow_query and (raw := request.query.get("access_token")):
        token = raw
    else:
        return None
    tokens = request.app[KERNEL].tokens
    # The common case, a token seen before, costs no coroutine and no crypto.
    principal = tokens.cached(raw)
    if principal is None:
        try:
            principal = await tokens.verify(token or _bearer(raw), cache_key=raw, remember=remember)
        except TokenError as exc:
            raise ApiError(401, str(exc), headers=_challenge(str(exc))) from exc
    # For the access log: who called, not the token's claims (a stream holds its scope for hours).
    if (scope := request_scope.get()) is not None:
        scope.user_id = principal.user_id
    return principal


async def current_user(request: web.Request, *, allow_query: bool = False) -> Principal | None:
    """The caller, or ``None`` for a guest. A token that is present but invalid is a 401."""
    return await _principal(request, allow_query)


async def require_user(request: web.Request, *, allow_query: bool = False, remember: bool = True) -> Principal:
    """The caller; 401 when there is no valid token.

    ``remember=False`` leaves the verification out of the token cache: for a long-lived
    request (a stream) that verifies its token once, caching only pins memory.
    """
    principal = await _principal(request, allow_query, remember)
    if principal is None:
        raise ApiError(401, "authentication required", headers=_challenge())
    return principal


async def require_role(request: web.Request, *roles: str) -> Principal:
    """The caller if their role is one of ``roles``; 401 without token, 403 otherwise."""
    principal = await require_user(request)
    if principal.role not in roles:
        raise ApiError(403, f"only {' or '.join(roles)} accounts may do this")
    return principal


async def require_owner(request: web.Request, user_id: str) -> Principal:
    """The caller if they are ``user_id``; 401 without token, 403 for anyone else."""
    principal = await require_user(request)
    if principal.user_id != user_id:
        raise ApiError(403, "only the owner may do this")
    return principal
