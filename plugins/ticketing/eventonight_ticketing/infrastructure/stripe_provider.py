"""The payment provider on Stripe, through the official ``stripe`` library (async client).

``api_base`` points the same code at the bundled fake (demo mode and tests);
nothing here knows which one it talks to.
"""

from __future__ import annotations

from typing import Any

import stripe

from eventonight_ticketing.domain.payments import (
    BadSignature,
    Notification,
    ProviderRefund,
    ProviderRefused,
    ProviderUnavailable,
    Session,
)

#: Stripe's own default: a signed webhook older than this is refused (replays).
WEBHOOK_TOLERANCE_SECONDS = 300


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else obj


def _session(obj: Any) -> Session:
    obj = _plain(obj)
    intent = obj.get("payment_intent")
    intent_id = intent if isinstance(intent, str) else (intent or {}).get("id")
    intent_status = None if isinstance(intent, str) or intent is None else intent.get("status")
    return Session(
        id=obj["id"],
        status=obj["status"],
        payment_status=obj["payment_status"],
        amount_total=int(obj.get("amount_total") or 0),
        currency=(obj.get("currency") or "").upper(),
        order_id=(obj.get("metadata") or {}).get("orderId"),
        url=obj.get("url"),
        expires_at=int(obj.get("expires_at") or 0),
        payment_intent_id=intent_id,
        payment_intent_status=intent_status,
    )


def _refund(obj: Any) -> ProviderRefund:
    obj = _plain(obj)
    return ProviderRefund(obj["id"], obj["status"], int(obj["amount"]), (obj.get("metadata") or {}).get("refundId"))


class StripeProvider:
    name = "stripe"

    def __init__(
        self, secret_key: str, webhook_secrets: list[str], api_base: str | None, timeout_seconds: float
    ) -> None:
        self.webhook_secrets = webhook_secrets
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base} if api_base else {},
            max_network_retries=2,
            http_client=stripe.AIOHTTPClient(timeout=timeout_seconds),
        )

    async def _call(self, make):
        try:
            return await make()
        except stripe.StripeError as exc:
            status = exc.http_status
            if status is None or status >= 500 or status == 429:
                raise ProviderUnavailable("the payment provider is unavailable; try again shortly") from exc
            raise ProviderRefused(f"the payment provider refused the request: {exc.user_message or exc}") from exc

    async def create_session(self, params: dict[str, Any], idempotency_key: str) -> Session:
        sessions = self.client.v1.checkout.sessions
        created = await self._call(
            lambda: sessions.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        )
        return _session(created)

    async def retrieve_session(self, session_id: str) -> Session:
        sessions = self.client.v1.checkout.sessions
        return _session(await self._call(lambda: sessions.retrieve_async(session_id, {"expand": ["payment_intent"]})))

    async def expire_session(self, session_id: str) -> Session:
        sessions = self.client.v1.checkout.sessions
        return _session(await self._call(lambda: sessions.expire_async(session_id)))

    async def create_refund(self, params: dict[str, Any], idempotency_key: str) -> ProviderRefund:
        refunds = self.client.v1.refunds
        created = await self._call(
            lambda: refunds.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        )
        return _refund(created)

    async def retrieve_refund(self, refund_id: str) -> ProviderRefund:
        refunds = self.client.v1.refunds
        return _refund(await self._call(lambda: refunds.retrieve_async(refund_id)))

    def construct_event(self, payload: bytes, signature: str) -> Notification:
        text = payload.decode("utf-8", errors="replace")
        for secret in self.webhook_secrets:
            try:
                event = stripe.Webhook.construct_event(text, signature, secret, tolerance=WEBHOOK_TOLERANCE_SECONDS)
            except stripe.SignatureVerificationError:
                continue
            except ValueError as exc:
                raise BadSignature("the webhook body is not a Stripe event") from exc
            obj = _plain(event["data"]["object"])
            return Notification(event["id"], event["type"], obj["id"], obj.get("object", ""))
        raise BadSignature("the webhook signature does not verify (wrong secret, tampered or too old)")
