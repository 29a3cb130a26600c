"""Hook implementations of the ticketing plugin (entry point ``ticketing``)."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.errors import DuplicateKeyError

from eventonight.hooks import ScheduledJob, hookimpl
from eventonight.hooks.http import fragment_from_routes
from eventonight_ticketing.application.checkins import Checkins
from eventonight_ticketing.application.checkout import Checkout
from eventonight_ticketing.application.holders import Holders
from eventonight_ticketing.application.orders import Orders
from eventonight_ticketing.application.printing import Printing
from eventonight_ticketing.application.refunds import RefundPayments, RefundRuns, Refunds
from eventonight_ticketing.application.ticket_types import TicketTypes
from eventonight_ticketing.fakestripe import FakeStripe
from eventonight_ticketing.infrastructure.keys import TicketKeys
from eventonight_ticketing.infrastructure.store import INDEXES, Store
from eventonight_ticketing.infrastructure.stripe_provider import StripeProvider
from eventonight_ticketing.presentation import demo, openapi
from eventonight_ticketing.presentation.consumers import consumers
from eventonight_ticketing.presentation.handlers import TicketingApi
from eventonight_ticketing.presentation.schemas import (
    BatchBody,
    OrderBody,
    RefundBody,
    ScanBody,
    TicketChanges,
    TicketTypeBody,
    TicketTypeChanges,
)

HOOK_API_VERSION = 1
NAME = "ticketing"
EXPIRE_INTERVAL_SECONDS = 15
REFUND_RUNS_INTERVAL_SECONDS = 5
REFUNDS_INTERVAL_SECONDS = 10
RECONCILE_INTERVAL_SECONDS = 300
FAKE_PREFIX = "/api/ticketing/_fakestripe"
WEBHOOK_PATH = "/api/ticketing/webhooks/stripe"
log = logging.getLogger("eventonight.ticketing")
# The stripe library logs every request at INFO; its warnings and errors still show.
logging.getLogger("stripe").setLevel(logging.WARNING)


class TicketingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_TICKETING_", extra="ignore")

    max_tickets_per_order: int = Field(default=10, ge=1, le=100)
    # How long a reservation may wait for its order to commit before the release job gives it back.
    reservation_seconds: float = Field(default=120, gt=0)
    # Buyers may give tickets back until this long before the event (hosts any time).
    buyer_refund_cutoff_hours: float = Field(default=48, ge=0)
    # Inventory documents per ticket type; unset: one per 64 tickets, at most 32 (1 is the naive baseline).
    inventory_shards: int | None = Field(default=None, ge=1, le=32)

    # Payments. No Stripe key: "demo", the bundled Stripe-compatible fake, and no money moves.
    provider: Literal["stripe", "demo"] | None = None
    stripe_secret_key: SecretStr | None = None
    # Webhook signing secrets (JSON list): more than one while rotating.
    stripe_webhook_secrets: list[str] = []
    # Unset: Stripe itself. Tests point it at the fake.
    stripe_api_base: str | None = None
    stripe_timeout_seconds: float = Field(default=20, gt=0)
    # Where buyers and the provider reach this platform (default: the kernel's public URL).
    public_base_url: str | None = None
    # Origins a checkout may send the buyer back to (the platform's own is always allowed).
    redirect_origins: list[str] = []
    # How long a paid order holds its tickets while the buyer pays (Stripe: 30 min to 24 h).
    hold_seconds: float = Field(default=1900, gt=0)
    # Expiry waits this much longer, for a payment that completed on the last second.
    expiry_grace_seconds: float = Field(default=120, ge=0)
    # Unpaid orders one buyer may have for one event at a time (anti-hoarding).
    max_pending_orders: int = Field(default=2, ge=1)
    refund_retry_base_seconds: float = Field(default=60, gt=0)
    refund_max_attempts: int = Field(default=10, ge=1)


class TicketingConfigError(RuntimeError):
    """The payment settings contradict each other: the platform does not start with them."""


def _local(url: str) -> bool:
    return urlsplit(url).hostname in ("localhost", "127.0.0.1", "::1")


def payment_provider(
    settings: TicketingSettings, public_base: str, state_file: Path | None = None
) -> tuple[StripeProvider, FakeStripe | None]:
    """The provider the settings ask for, and the fake when it is the demo's."""
    key = settings.stripe_secret_key.get_secret_value() if settings.stripe_secret_key else None
    mode = settings.provider or ("stripe" if key else "demo")
    if mode == "demo" and key:
        raise TicketingConfigError("EVENTONIGHT_TICKETING_PROVIDER=demo and a Stripe key are both set: choose one")
    if mode == "stripe":
        if not key:
            raise TicketingConfigError(
                "EVENTONIGHT_TICKETING_PROVIDER=stripe needs EVENTONIGHT_TICKETING_STRIPE_SECRET_KEY"
            )
        if not settings.stripe_webhook_secrets:
            raise TicketingConfigError("Stripe needs EVENTONIGHT_TICKETING_STRIPE_WEBHOOK_SECRETS (a JSON list)")
        if not public_base.startswith("https://") and not _local(public_base):
            raise TicketingConfigError("EVENTONIGHT_TICKETING_PUBLIC_BASE_URL must be https:// with real payments")
        provider = StripeProvider(key, settings.stripe_webhook_secrets, settings.stripe_api_base,
                                  settings.stripe_timeout_seconds)  # fmt: skip
        return provider, None
    secret = "whsec_demo_" + secrets.token_hex(16)
    fake = FakeStripe(
        secret, webhook_url=public_base + WEBHOOK_PATH, public_url=public_base + FAKE_PREFIX, state_file=state_file
    )
    provider = StripeProvider("sk_test_demo", [secret], public_base + FAKE_PREFIX, settings.stripe_timeout_seconds)
    return provider, fake


def is_duplicate(exc: BaseException) -> bool:
    return isinstance(exc, DuplicateKeyError)


class Services:
    def __init__(self, kernel) -> None:
        settings = kernel.plugin_settings.get(NAME) or TicketingSettings()
        public_base = (settings.public_base_url or kernel.settings.public_url).rstrip("/")
        state = kernel.settings.data_dir / "ticketing-demo-payments.json"
        self.provider, self.fake = payment_provider(settings, public_base, state)
        self.public_base = public_base
        transaction, read = kernel.runners(Store)
        self.types = TicketTypes(transaction, read, settings.max_tickets_per_order, settings.inventory_shards)
        self.payments = RefundPayments(
            transaction,
            read,
            self.provider,
            retry_base_seconds=settings.refund_retry_base_seconds,
            max_attempts=settings.refund_max_attempts,
        )
        self.refunds = Refunds(transaction, self.payments, buyer_cutoff_hours=settings.buyer_refund_cutoff_hours)
        self.keys = TicketKeys(kernel.read, kernel.secrets)
        self.checkins = Checkins(transaction, read, self.keys, is_duplicate)
        self.orders = Orders(
            transaction,
            read,
            max_tickets=settings.max_tickets_per_order,
            reservation_seconds=settings.reservation_seconds,
            hold_seconds=settings.hold_seconds,
            grace_seconds=settings.expiry_grace_seconds,
            max_pending=settings.max_pending_orders,
            is_duplicate=is_duplicate,
        )
        self.checkout = Checkout(
            transaction,
            read,
            self.provider,
            self.orders,
            self.payments,
            public_base_url=public_base,
            redirect_origins=settings.redirect_origins,
            grace_seconds=settings.expiry_grace_seconds,
        )
        self.printing = Printing(read, self.orders, self.checkins)
        self.holders = Holders(transaction, read)
        self.refund_runs = RefundRuns(self.refunds, transaction, read, self.checkout.expire)


def services(kernel) -> Services:
    return kernel.plugin_service(NAME, lambda: Services(kernel))


@hookimpl
def eventonight_settings():
    return TicketingSettings


@hookimpl
def eventonight_indexes():
    return INDEXES


@hookimpl
async def eventonight_startup(kernel):
    found = services(kernel)
    await found.keys.load()
    if found.fake is not None:
        log.warning(
            "DEMO PAYMENTS - no money moves: checkouts go to the bundled Stripe fake at %s/pay/<session>; "
            "set EVENTONIGHT_TICKETING_STRIPE_SECRET_KEY for real payments",
            found.fake.public_url,
        )


@hookimpl
async def eventonight_shutdown(kernel):
    found = services(kernel)
    await demo.stop(found)
    if found.fake is not None:
        await found.fake.stop()


@hookimpl
def eventonight_commands():
    async def ticketing_command(kernel, argv: list[str]) -> int:
        if argv == ["keys", "rekey"]:  # after a new key-encryption key was put first
            count = await services(kernel).keys.rekey()
            await kernel.audit.record("ticketing.keys.rekeyed", actor_id="operator", keys=count)
            print(f"re-encrypted {count} ticket signing keys")
            return 0
        if argv != ["keys", "rotate"]:
            print("usage: eventonight ticketing keys rotate|rekey")
            return 2
        kid = await services(kernel).keys.rotate()
        await kernel.audit.record("ticketing.keys.rotated", actor_id="operator", kid=kid)
        print(f"new ticket signing key: {kid}")
        return 0

    return [
        (
            "ticketing",
            "ticketing administration: `keys rotate` adds a new key that signs ticket codes",
            ticketing_command,
        )
    ]


@hookimpl
def eventonight_routes(kernel):
    found = services(kernel)
    fake = found.fake.routes(FAKE_PREFIX) if found.fake is not None else []
    return TicketingApi(found).routes() + fake


@hookimpl
def eventonight_openapi(kernel):
    fragment = fragment_from_routes(
        TicketingApi(services(kernel)).routes(),
        tag="ticketing",
        summaries={
            "list_types": "An event's ticket types with what is left (hosts also see hidden and archived ones)",
            "create_type": "New ticket type (event hosts): price in minor units, ISO 4217 currency, capacity",
            "update_type": "Change a ticket type (hosts); capacity cannot go below what is sold or held",
            "delete_type": "Delete a ticket type nothing was sold of (otherwise archive it)",
            "place_order": "Order tickets (header Idempotency-Key required: the same key gives the same order). "
            "Free orders are PAID at once; paid ones are PENDING with a checkoutUrl to pay at before expiresAt",
            "resume_checkout": "The checkout of a PENDING order again (after a lost answer or a reload): the same session",
            "cancel_order": "Give up a PENDING order (its buyer): the checkout is closed and the tickets go back",
            "stripe_webhook": "Stripe webhook (signed): the platform fetches the object again and acts on what it says",
            "checkout_return": "Where the payment page sends the buyer back: says where to look, changes nothing",
            "update_type_put": "Same as PATCH (kept for clients of the original API)",
            "delete_types": "Delete every ticket type of an event (hosts), only while none was sold",
            "sales": "What an event has on sale: lowest price, tickets left and sold",
            "suggested_names": "Names hosts often give ticket types (any name of 1-60 characters is accepted)",
            "user_tickets": "The caller's tickets (same as /me/tickets; another user's are refused)",
            "my_events": "Events the caller holds tickets for, by date (query: status, order=asc|desc)",
            "my_event_pdf": "The caller's valid and used tickets for one event as one PDF",
            "rename_ticket": "Name the ticket's attendee (holder, valid ticket, before the event): the code is issued anew",
            "verify_ticket": "Door check by ticket id (hosts): verified true the first time, false once used",
            "event_orders": "The event's orders (hosts; query: status)",
            "report": "Sales report of an event (hosts): per type, orders by status, money in and refunds owed",
            "order_refunds": "Refunds of an order and how far each got (its buyer or the event's hosts)",
            "get_order": "An order with its tickets (its buyer or the event's hosts)",
            "my_orders": "The caller's orders, newest first",
            "my_tickets": "The caller's tickets (query: eventId)",
            "get_ticket": "One ticket (its holder or the event's hosts)",
            "refund_status": "Progress of giving back every ticket of a cancelled event (hosts)",
            "ticket_pdf": "One valid or used ticket as PDF with its signed QR code (holder or hosts)",
            "order_pdf": "An order's valid and used tickets as PDF, one page each (buyer or hosts)",
            "public_keys": "Public keys (JWK, Ed25519) that verify ticket codes offline",
            "check_in": "Door check-in of one ticket by qr or ticketId (hosts); the same scanId gives the same answer",
            "check_in_batch": "Offline scans uploaded together (at most 500; per ticket the earliest scannedAt wins)",
            "undo_check_in": "Undo a check-in (hosts)",
            "revocations": "Tickets of the event cancelled since ?since= (hosts): an offline scanner's revocation list",
            "refund": "Give tickets back (all valid ones, or ticketIds): the buyer within the policy, hosts any time",
        },
        bodies={
            "create_type": TicketTypeBody,
            "update_type": TicketTypeChanges,
            "update_type_put": TicketTypeChanges,
            "place_order": OrderBody,
            "refund": RefundBody,
            "check_in": ScanBody,
            "check_in_batch": BatchBody,
            "rename_ticket": TicketChanges,
        },
        paginated={"my_orders", "my_tickets", "user_tickets", "event_orders"},
        responses=openapi.RESPONSES,
        private=openapi.PRIVATE,
        tokenless={"stripe_webhook"},
        statuses=openapi.STATUSES,
        errors=openapi.ERRORS,
        binary=openapi.BINARY,
        schemas=openapi.SCHEMAS,
    )
    # The same Idempotency-Key again: 200 with the order the first request made.
    place = fragment["paths"]["/api/ticketing/orders"]["post"]["responses"]
    place["200"] = {**place["201"], "description": "the order an earlier request with this key placed"}
    return fragment


@hookimpl
def eventonight_consumers(kernel):
    return consumers(services(kernel))


@hookimpl
def eventonight_scheduled_jobs(kernel):
    async def expire(kernel):
        await services(kernel).checkout.expire_due()

    async def refund_runs(kernel):
        await services(kernel).refund_runs.tick()

    async def refunds(kernel):
        await services(kernel).payments.tick()

    async def reconcile(kernel):
        await services(kernel).checkout.reconcile()

    return [
        ScheduledJob("ticketing.expire", EXPIRE_INTERVAL_SECONDS, expire),
        ScheduledJob("ticketing.refund-runs", REFUND_RUNS_INTERVAL_SECONDS, refund_runs),
        ScheduledJob("ticketing.refunds", REFUNDS_INTERVAL_SECONDS, refunds),
        ScheduledJob("ticketing.reconcile", RECONCILE_INTERVAL_SECONDS, reconcile),
    ]


@hookimpl(trylast=True)  # after the events plugin created the demo events
async def eventonight_demo_data(kernel):
    return await demo.seed(kernel, services(kernel))
