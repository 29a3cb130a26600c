"""HTTP handlers of ``/api/users``."""

from __future__ import annotations

from aiohttp import web

from eventonight.hooks import DomainError, Forbidden, MissingPlugin
from eventonight.hooks.http import (
    Page,
    client_address,
    current_user,
    json_response,
    page_params,
    parse_body,
    require_owner,
)
from eventonight_users.application.accounts import AccountChanges
from eventonight_users.domain.accounts import Unauthorized
from eventonight_users.infrastructure.wiring import Users
from eventonight_users.presentation.schemas import LoginBody, PasswordBody, RefreshBody, RegisterBody, UpdateBody


class UsersApi:
    def __init__(self, kernel, users: Users) -> None:
        self.kernel = kernel
        self.users = users

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/users/register", self.register),
            web.post("/api/users/login", self.login),
            web.post("/api/users/refresh", self.refresh),
            web.post("/api/users/logout", self.logout),
            web.get("/api/users/public-keys", self.public_keys),
            web.get("/api/users/search", self.search),
            web.get("/api/users/{userId}", self.get_user),
            web.put("/api/users/{userId}", self.update_user),
            web.delete("/api/users/{userId}", self.delete_user),
            web.put("/api/users/{userId}/password", self.change_password),
            web.post("/api/users/{userId}/avatar", self.upload_avatar),
            web.delete("/api/users/{userId}/avatar", self.delete_avatar),
        ]

    async def register(self, request: web.Request) -> web.Response:
        body = await parse_body(request, RegisterBody)
        self.users.limits.register.take(client_address(request), "too many registrations from this address")
        pair = await self.users.accounts.register(
            username=body.username, email=body.email, password=body.password, role=body.role, name=body.name
        )
        return json_response(pair.view(), status=201)

    async def login(self, request: web.Request) -> web.Response:
        body = await parse_body(request, LoginBody)
        client = client_address(request)
        self.users.limits.login.take(client, "too many login attempts from this address")
        pair = await self.users.accounts.login(body.login, body.password, client)
        return json_response(pair.view())

    async def refresh(self, request: web.Request) -> web.Response:
        body = await parse_body(request, RefreshBody)
        self.users.limits.refresh.take(client_address(request), "too many token refreshes from this address")
        pair = await self.users.accounts.refresh(body.refresh_token)
        return json_response(pair.view())

    async def logout(self, request: web.Request) -> web.Response:
        body = await parse_body(request, RefreshBody)
        await self.users.accounts.logout(body.refresh_token)
        return web.Response(status=204)

    async def public_keys(self, request: web.Request) -> web.Response:
        keys = self.kernel.keys
        await keys.refresh_if_stale()
        return web.json_response(keys.public_jwks(), headers={"Cache-Control": "public, max-age=60"})

    async def get_user(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        user = await self.users.queries.get(user_id)
        caller = await current_user(request)
        owner = caller is not None and caller.user_id == user.id
        view = user.owner_view() if owner else user.public_view()
        extensions = {
            r.plugin: r.value
            for r in await self.kernel.hooks.acall_robust("users_public_profile", user_id=user.id, profile=view)
            if r.value is not None and r.error is None
        }
        if extensions:
            view["extensions"] = extensions
        return json_response(view)

    async def update_user(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        body = await parse_body(request, UpdateBody)
        account, profile = body.account, body.profile
        clear = set()
        if account is not None:
            clear = {
                alias
                for name, alias in (("gender", "gender"), ("birth_date", "birthDate"))
                if name in account.model_fields_set and getattr(account, name) is None
            }
        changes = AccountChanges(
            username=account.username if account else None,
            email=account.email if account else None,
            dark_mode=account.dark_mode if account else None,
            language=account.language if account else None,
            gender=account.gender if account else None,
            birth_date=account.birth_date if account else None,
            interests=account.interests if account else None,
            name=profile.name if profile else None,
            bio=profile.bio if profile else None,
            contacts=[str(c) for c in profile.contacts] if profile and profile.contacts is not None else None,
            clear=frozenset(clear),
        )
        user = await self.users.accounts.update(user_id, changes)
        return json_response(user.owner_view())

    async def change_password(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        caller = await require_owner(request, user_id)
        body = await parse_body(request, PasswordBody)
        try:
            await self.users.accounts.change_password(
                user_id, body.current_password, body.new_password, body.confirm_password, caller.claims.get("sid")
            )
        except Unauthorized as exc:
            raise Forbidden(str(exc)) from exc  # the caller is authenticated; the check failed
        return web.Response(status=204)

    async def delete_user(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        await self.users.accounts.delete(user_id)
        return web.Response(status=204)

    async def search(self, request: web.Request) -> web.Response:
        limit, offset = page_params(request, default=20, maximum=20)
        prefix = request.query.get("prefix", "")
        if len(prefix) > 100:
            raise DomainError("prefix is at most 100 characters", field="prefix")
        users, total = await self.users.queries.search(prefix, request.query.get("role") or None, limit, offset)
        return json_response(Page([u.public_view() for u in users], limit=limit, offset=offset, total=total))

    async def upload_avatar(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        await self._existing(user_id)
        stored = await self.kernel.hooks.first("media_store_image", kind="avatar", entity_id=user_id, request=request)
        if stored is None:
            raise MissingPlugin("avatar upload needs the media plugin, which is not installed")
        user = await self.users.accounts.set_avatar(user_id, stored["url"])
        return json_response(user.owner_view())

    async def delete_avatar(self, request: web.Request) -> web.Response:
        user_id = request.match_info["userId"]
        await require_owner(request, user_id)
        await self._existing(user_id)
        if await self.kernel.hooks.first("media_delete_image", kind="avatar", entity_id=user_id) is None:
            raise MissingPlugin("avatars need the media plugin, which is not installed")
        await self.users.accounts.set_avatar(user_id, None)
        return web.Response(status=204)

    async def _existing(self, user_id: str) -> None:
        await self.users.queries.get(user_id)
