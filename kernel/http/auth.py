"""Handler helpers: who is calling, and may they."""

from __future__ import annotations

from aiohttp import web

from eventonight.kernel.auth.principal import Principal
from eventonight.kernel.auth.tokens import TokenError
from eventonight.kernel.errors import ApiError
from eventonight.kernel.http.keys import KERNEL

_PRINCIPAL: web.RequestKey[Principal | None] = web.RequestKey("eventonight_principal", Principal | None)


def _bearer(request: web.Request, allow_query: bool) -> str | None:
    header = request.headers.get("Authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authorization header must be 'Bearer <token>'", headers=_challenge())
        return token.strip()
    if allow_query:
        return request.query.get("access_token")
    return None


def _challenge(error: str | None = None) -> dict[str, str]:
    value = 'Bearer realm="eventonight"'
    if error:
        value += f', error="invalid_token", error_description="{error}"'
    return {"WWW-Authenticate": value}


async def current_user(request: web.Request, *, allow_query: bool = False) -> Principal | None:
    """The caller, or ``None`` for a guest. A token that is present but invalid is a 401."""
    if _PRINCIPAL in request:
        return request[_PRINCIPAL]
    token = _bearer(request, allow_query)
    principal = None
    if token is not None:
        try:
            principal = await request.app[KERNEL].tokens.verify(token)
        except TokenError as exc:
            raise ApiError(401, str(exc), headers=_challenge(str(exc))) from exc
    request[_PRINCIPAL] = principal
    return principal


async def require_user(request: web.Request, *, allow_query: bool = False) -> Principal:
    """The caller; 401 when there is no valid token."""
    principal = await current_user(request, allow_query=allow_query)
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
