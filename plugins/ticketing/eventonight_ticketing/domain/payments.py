"""The payment provider as the application sees it: a port, what its objects say, and its failures.

Decisions are taken from a session or refund *as fetched from the provider*,
never from a webhook's payload: an old, repeated or forged notification can
only make us look again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from eventonight.hooks.errors import DomainError

OPEN, PAID_OUT, PROCESSING, FAILED, EXPIRED_OUT = "open", "paid", "processing", "failed", "expired"


class ProviderUnavailable(DomainError):
    """The provider could not be reached or failed (503 + Retry-After): nothing was charged by us."""

    status = 503

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "5"}


class ProviderRefused(DomainError):
    """The provider refused a request it should have accepted (502): a configuration problem."""

    status = 502


class BadSignature(DomainError):
    """A webhook whose signature or timestamp does not verify (400)."""


@dataclass(frozen=True)
class Session:
    """A checkout session as the provider reports it now."""

    id: str
    status: str  # open | complete | expired
    payment_status: str  # paid | unpaid | no_payment_required
    amount_total: int
    currency: str  # upper case
    order_id: str | None
    url: str | None
    expires_at: int
    payment_intent_id: str | None = None
    payment_intent_status: str | None = None  # succeeded | processing | requires_payment_method | canceled ...

    def outcome(self) -> str:
        """What it means for the order: paid, processing (delayed method), failed, expired or open."""
        if self.status == "complete":
            if self.payment_status == "paid":
                return PAID_OUT
            if self.payment_intent_status in ("requires_payment_method", "canceled"):
                return FAILED
            return PROCESSING
        if self.status == "expired":
            return EXPIRED_OUT
        return OPEN


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    status: str  # pending | requires_action | succeeded | failed | canceled
    amount: int
    refund_id: str | None  # ours, from the metadata


@dataclass(frozen=True)
class Notification:
    """A verified webhook: its id (for dedupe), type and the id of the object to fetch again."""

    id: str
    type: str
    object_id: str
    object_kind: str  # checkout.session | refund | charge


class PaymentProvider(Protocol):
    name: str

    async def create_session(self, params: dict[str, Any], idempotency_key: str) -> Session: ...

    async def retrieve_session(self, session_id: str) -> Session: ...

    async def expire_session(self, session_id: str) -> Session: ...

    async def create_refund(self, params: dict[str, Any], idempotency_key: str) -> ProviderRefund: ...

    async def retrieve_refund(self, refund_id: str) -> ProviderRefund: ...

    def construct_event(self, payload: bytes, signature: str) -> Notification: ...
