"""Hook implementations of the users plugin (entry point ``users``)."""

from __future__ import annotations

from eventonight.hooks import hookimpl
from eventonight_users.domain.accounts import Conflict
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
    """The plugin's services for this kernel, built on first use (after startup)."""
    if NAME not in kernel.plugin_state:
        kernel.plugin_state[NAME] = Users(kernel, kernel.plugin_settings.get(NAME) or UsersSettings())
    return kernel.plugin_state[NAME]


@hookimpl
def eventonight_settings():
    return UsersSettings


@hookimpl
def eventonight_models():
    return MODELS


@hookimpl
def eventonight_routes(kernel):
    return UsersApi(kernel, lambda: services(kernel)).routes()


@hookimpl
def eventonight_openapi(kernel):
    return openapi.fragment()


@hookimpl
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
