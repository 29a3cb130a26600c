"""The ticketing plugin's tests: the bundled Stripe fake on a free port (the only test double)."""

from eventonight_ticketing.testing import fake_stripe  # noqa: F401 - a fixture
