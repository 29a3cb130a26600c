"""Hook implementations of the users plugin (entry point ``users``)."""

from __future__ import annotations

from eventonight.hooks import Consumer, hookimpl
from eventonight_users import hookspecs
from eventonight_users.domain.accounts import Conflict, NotFound
from eventonight_users.infrastructure.documents import MODELS
from eventonight_users.infrastructure.wiring import Users, UsersSettings
from eventonight_users.presentation import openapi
from eventonight_users.presentation.handlers import UsersApi

HOOK_API_VERSION = 1
NAME = "users"

DEMO_PASSWORD = "eventonight-demo"
DEMO_ACCOUNTS = [
    ("nightowls", "organization", "Night Owls Collective"),
    ("bassline", "organization", "Bassline Berlin"),
    ("jazzcellar", "organization", "The Jazz Cellar"),
    ("alice", "member", "Alice Moreau"),
    ("bob", "member", "Bob Kowalski"),
    ("carla", "member", "Carla Rossi"),
]


def services(kernel) -> Users:
    """The plugin's services for this kernel, built once."""
    return kernel.plugin_service(NAME, lambda: Users(kernel, kernel.plugin_settings.get(NAME) or UsersSettings()))


@hookimpl
def eventonight_hookspecs():
    return hookspecs


@hookimpl
def eventonight_settings():
    return UsersSettings


@hookimpl
def eventonight_models():
    return MODELS


@hookimpl
def eventonight_routes(kernel):
    return UsersApi(kernel, services(kernel)).routes()


@hookimpl
def eventonight_openapi(kernel):
    return openapi.fragment()


@hookimpl(optionalhook=True)
def media_may_change_image(kernel, kind, entity_id, user_id):
    if kind == "avatar":
        return entity_id == user_id  # an account's avatar is its owner's
    return None


@hookimpl
def eventonight_consumers(kernel):
    async def avatar_changed(event, uow):
        # Uploads made through /api/media directly reach the profile this way.
        p = event.payload
        if p.get("kind") != "avatar":
            return
        url = p.get("url") if event.event_type == "media.image.stored" else None
        try:
            users = services(kernel)
            await users.accounts.set_avatar(p["entityId"], url, within=users.within(uow))
        except NotFound:
            pass  # the account is gone

    return [Consumer("avatars", ("media.image.stored", "media.image.deleted"), avatar_changed)]


@hookimpl(tryfirst=True)  # the other plugins' demo data is built on these accounts
async def eventonight_demo_data(kernel):
    accounts = services(kernel).accounts
    lines = []
    for username, role, name in DEMO_ACCOUNTS:
        try:
            await accounts.register(
                username=username,
                email=f"{username}@demo.eventonight.org",
                password=DEMO_PASSWORD,
                role=role,
                name=name,
            )
        except Conflict:
            pass  # created by an earlier run
        lines.append(f"{role:<12} {username:<12} password: {DEMO_PASSWORD}")
    return lines
