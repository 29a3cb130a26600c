"""pytest fixture ``fake_stripe``: the bundled Stripe fake on a free port, with the plugin pointed at it.

Use it in a plugin's or an integration's tests (``from eventonight_ticketing.testing
import fake_stripe``), start the platform afterwards, then ``fake.attach(p)``
so its webhooks reach that platform. The real ``stripe`` library talks to it
over HTTP: it is the only test double the project allows, at the HTTP
boundary of a service we cannot reach offline.
"""

from __future__ import annotations

import json

import pytest
from aiohttp import web

from eventonight.hooks.testing import free_port
from eventonight_ticketing.fakestripe import FakeStripe

WEBHOOK_PATH = "/api/ticketing/webhooks/stripe"


class RunningFake(FakeStripe):
    url: str

    def attach(self, platform) -> None:
        """Send webhooks to this platform (a ``platform`` fixture's result)."""
        self.webhook_url = str(platform.client.make_url(WEBHOOK_PATH))


async def start_fake(secret: str = "whsec_test_secret") -> tuple[RunningFake, web.AppRunner]:
    port = free_port()
    fake = RunningFake(secret, public_url=f"http://127.0.0.1:{port}")
    fake.url = fake.public_url
    runner = web.AppRunner(fake.app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return fake, runner


def point_at(monkeypatch, fake: FakeStripe, **more: str) -> None:
    """The ticketing plugin's settings for a platform started after this call."""
    env = {
        "STRIPE_SECRET_KEY": "sk_test_fake",
        "STRIPE_WEBHOOK_SECRETS": json.dumps([fake.webhook_secret]),
        "STRIPE_API_BASE": fake.public_url,
        "STRIPE_TIMEOUT_SECONDS": "1",
        **more,
    }
    for name, value in env.items():
        monkeypatch.setenv(f"EVENTONIGHT_TICKETING_{name}", value)


@pytest.fixture
async def fake_stripe(monkeypatch):
    fake, runner = await start_fake()
    point_at(monkeypatch, fake)
    yield fake
    await runner.cleanup()
