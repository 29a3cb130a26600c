"""Hook implementations of the ticketing plugin (entry point ``ticketing``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from pymongo.errors import DuplicateKeyError

from eventonight.hooks import ScheduledJob, hookimpl
from eventonight.hooks.http import fragment_from_routes
from eventonight_ticketing.application.checkins import Checkins
from eventonight_ticketing.application.orders import Orders
from eventonight_ticketing.application.printing import Printing
from eventonight_ticketing.application.refunds import RefundRuns, Refunds
from eventonight_ticketing.application.ticket_types import TicketTypes
from eventonight_ticketing.infrastructure.keys import TicketKeys
from eventonight_ticketing.infrastructure.store import INDEXES, Store
from eventonight_ticketing.presentation import demo
from eventonight_ticketing.presentation.consumers import consumers
from eventonight_ticketing.presentation.handlers import TicketingApi
from eventonight_ticketing.presentation.schemas import (
    BatchBody,
    OrderBody,
    RefundBody,
    ScanBody,
    TicketTypeBody,
    TicketTypeChanges,
)

HOOK_API_VERSION = 1
NAME = "ticketing"
RELEASE_INTERVAL_SECONDS = 15
REFUND_RUNS_INTERVAL_SECONDS = 5


class TicketingSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="EVENTONIGHT_TICKETING_", extra="ignore")

    max_tickets_per_order: int = Field(default=10, ge=1, le=100)
    # How long a reservation may wait for its order to commit before the release job gives it back.
    reservation_seconds: float = Field(default=120, gt=0)
    # Buyers may give tickets back until this long before the event (hosts any time).
    buyer_refund_cutoff_hours: float = Field(default=48, ge=0)
    # Inventory documents per ticket type; unset: one per 64 tickets, at most 32 (1 is the naive baseline).
    inventory_shards: int | None = Field(default=None, ge=1, le=32)


def is_duplicate(exc: BaseException) -> bool:
    return isinstance(exc, DuplicateKeyError)


class Services:
    def __init__(self, kernel) -> None:
        settings = kernel.plugin_settings.get(NAME) or TicketingSettings()
        transaction, read = kernel.runners(Store)
        self.types = TicketTypes(transaction, read, settings.max_tickets_per_order, settings.inventory_shards)
        self.refunds = Refunds(transaction, buyer_cutoff_hours=settings.buyer_refund_cutoff_hours)
        self.keys = TicketKeys(kernel.read)
        self.checkins = Checkins(transaction, read, self.keys, is_duplicate)
        self.orders = Orders(
            transaction,
            read,
            max_tickets=settings.max_tickets_per_order,
            reservation_seconds=settings.reservation_seconds,
            is_duplicate=is_duplicate,
        )
        self.printing = Printing(read, self.orders, self.checkins)
        self.refund_runs = RefundRuns(self.refunds, transaction, read)


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
    await services(kernel).keys.load()


@hookimpl
def eventonight_commands():
    async def keys(kernel, argv: list[str]) -> int:
        if argv != ["rotate"]:
            print("usage: eventonight ticketing-keys rotate")
            return 2
        print(f"new ticket signing key: {await services(kernel).keys.rotate()}")
        return 0

    return [("ticketing-keys", "rotate the key that signs ticket codes", keys)]


@hookimpl
def eventonight_routes(kernel):
    return TicketingApi(services(kernel)).routes()


@hookimpl
def eventonight_openapi(kernel):
    return fragment_from_routes(
        TicketingApi(services(kernel)).routes(),
        tag="ticketing",
        summaries={
            "list_types": "An event's ticket types with what is left (hosts also see hidden and archived ones)",
            "create_type": "New ticket type (event hosts): price in minor units, ISO 4217 currency, capacity",
            "update_type": "Change a ticket type (hosts); capacity cannot go below what is sold or held",
            "delete_type": "Delete a ticket type nothing was sold of (otherwise archive it)",
            "place_order": "Order tickets (header Idempotency-Key required: the same key gives the same order)",
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
            "place_order": OrderBody,
            "refund": RefundBody,
            "check_in": ScanBody,
            "check_in_batch": BatchBody,
        },
        paginated={"my_orders", "my_tickets"},
    )


@hookimpl
def eventonight_consumers(kernel):
    return consumers(services(kernel))


@hookimpl
def eventonight_scheduled_jobs(kernel):
    async def release_holds(kernel):
        await services(kernel).orders.release_lapsed()

    async def refund_runs(kernel):
        await services(kernel).refund_runs.tick()

    return [
        ScheduledJob("ticketing.release-holds", RELEASE_INTERVAL_SECONDS, release_holds),
        ScheduledJob("ticketing.refund-runs", REFUND_RUNS_INTERVAL_SECONDS, refund_runs),
    ]


@hookimpl(trylast=True)  # after the events plugin created the demo events
async def eventonight_demo_data(kernel):
    return await demo.seed(kernel, services(kernel))
