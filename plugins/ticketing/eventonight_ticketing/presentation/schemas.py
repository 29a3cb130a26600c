"""Request bodies of ``/api/ticketing`` (pydantic, camelCase on the wire)."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from eventonight.hooks import DomainError


class _Body(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class TicketTypeBody(_Body):
    name: str = Field(min_length=1, max_length=60)
    description: str = Field(default="", max_length=2000)
    price_minor: int = Field(ge=0, le=100_000_000, description="price in the currency's minor units (cents); 0 is free")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 code")
    capacity: int = Field(ge=1, le=1_000_000)
    sales_start: AwareDatetime | None = None
    sales_end: AwareDatetime | None = Field(default=None, description="defaults to the event's date")
    max_per_order: int = Field(default=10, ge=1, le=100)
    refundable: bool = True


class TicketTypeChanges(_Body):
    name: str | None = Field(default=None, min_length=1, max_length=60)
    description: str | None = Field(default=None, max_length=2000)
    price_minor: int | None = Field(default=None, ge=0, le=100_000_000)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    capacity: int | None = Field(default=None, ge=1, le=1_000_000)
    sales_start: AwareDatetime | None = None
    sales_end: AwareDatetime | None = None
    max_per_order: int | None = Field(default=None, ge=1, le=100)
    refundable: bool | None = None
    status: str | None = Field(default=None, pattern="^(ACTIVE|HIDDEN|ARCHIVED)$")


class OrderLineBody(_Body):
    type_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=100)


class OrderBody(_Body):
    event_id: str = Field(min_length=1, max_length=64)
    lines: list[OrderLineBody] = Field(min_length=1, max_length=20)
    success_url: str | None = Field(
        default=None, max_length=2000, description="where the payment page sends the buyer after paying"
    )
    cancel_url: str | None = Field(default=None, max_length=2000, description="where it sends them on giving up")


class ReturnQuery(BaseModel):
    order_id: str = Field(alias="orderId", min_length=1, max_length=64)
    result: str = Field(pattern="^(paid|cancel)$")


#: The only fields an explicit null clears: a bound of the sales window.
CLEARABLE = frozenset({"sales_start", "sales_end"})


def changes_of(body: TicketTypeChanges) -> dict:
    """Only the fields the client sent (an explicit null clears a sales window bound; elsewhere 400)."""
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    for name, value in changes.items():
        if value is None and name not in CLEARABLE:
            alias = TicketTypeChanges.model_fields[name].alias or name
            raise DomainError(f"{alias} cannot be null; leave it out to keep it", field=alias)
    return changes


class RefundBody(_Body):
    ticket_ids: list[str] | None = Field(default=None, min_length=1, max_length=100)
    reason: str = Field(default="requested", min_length=1, max_length=200)


class ScanBody(_Body):
    qr: str | None = Field(default=None, max_length=512, description="the ticket's signed code")
    ticket_id: str | None = Field(default=None, max_length=64, description="instead of qr, typed in by hand")
    scan_id: str = Field(
        min_length=8, max_length=64, description="a nonce of the scanning device: retries send it again"
    )
    gate: str | None = Field(default=None, max_length=40)
    scanned_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def one_ticket(self):
        if (self.qr is None) == (self.ticket_id is None):
            raise ValueError("send either qr or ticketId")
        return self


class BatchBody(_Body):
    scans: list[ScanBody] = Field(min_length=1, max_length=500)


class RevocationsQuery(BaseModel):
    since: AwareDatetime | None = None


class TicketChanges(_Body):
    attendee_name: str | None = Field(max_length=100, description="who uses the ticket; null clears it")


class MyEventsQuery(BaseModel):
    status: str | None = Field(default=None, pattern="^(PUBLISHED|CANCELLED|COMPLETED|DELETED)$")
    order: str = Field(default="asc", pattern="^(asc|desc)$", description="by event date")


class EventOrdersQuery(BaseModel):
    status: str | None = Field(default=None, pattern="^(PENDING|PAID|EXPIRED|PARTIALLY_REFUNDED|REFUNDED)$")


class TicketsQuery(BaseModel):
    event_id: str | None = Field(default=None, alias="eventId", max_length=64)
    status: str | None = Field(default=None, pattern="^(VALID|USED|CANCELLED)$")
