"""A small Stripe-compatible server: the demo's payment provider and the tests' only test double.

It speaks the part of Stripe's HTTP API the ticketing plugin uses (checkout
sessions, payment intents, refunds), honours ``Idempotency-Key`` the way
Stripe does (same key, same answer; same key with other parameters, an
error), expires sessions at ``expires_at`` and signs its webhooks with
``stripe.WebhookSignature``, so the real ``stripe`` library, signature checks,
dedupe and re-fetching all run against it. No money moves.

Tests drive what a real provider does on its own (a buyer paying, a delayed
payment method, a refund that fails) and inject faults: failing or slow API
answers, and webhooks dropped, duplicated, held back and reordered, delayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
import stripe
from aiohttp import web

log = logging.getLogger("eventonight.ticketing.fakestripe")
_KEY = re.compile(r"[^\[\]]+")


def _id(prefix: str) -> str:
    return f"{prefix}_fake_{secrets.token_hex(12)}"


def decode_form(body: str) -> dict[str, Any]:
    """Stripe's form encoding (``a[b][0][c]=v``) back into nested dicts and lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        parts = _KEY.findall(key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


class StripeApiError(Exception):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status, self.kind, self.message = status, kind, message


@dataclass
class Faults:
    #: (status or "timeout") of the next API calls, first to last.
    api: list[int | str] = field(default_factory=list)
    #: drop | duplicate | hold (kept until release_webhooks) | None
    webhooks: str | None = None
    webhook_delay: float = 0.0
    #: Let an expired session be paid (a payment that raced the expiry).
    pay_after_expiry: bool = False
    #: Refunds answer ``pending`` and wait for settle_refund (else they succeed at once).
    refunds_pending: bool = False


class FakeStripe:
    def __init__(
        self,
        webhook_secret: str,
        *,
        webhook_url: str | None = None,
        public_url: str = "",
        state_file: Path | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        # Demo mode keeps sessions, payments and refunds across restarts (so refunds of old demo orders work).
        self.state_file = state_file
        self.webhook_url = webhook_url
        self.public_url = public_url  # where the pay page is reachable, as buyers see it
        self.faults = Faults()
        self.timeout_seconds = 30.0  # how long a "timeout" fault keeps the caller waiting
        self.webhook_attempts = 4  # Stripe retries for days; here a few times, quickly
        self._sending = asyncio.Semaphore(16)  # webhooks in flight at once, as a provider paces them
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.requests: list[dict[str, Any]] = []  # every API call: method, path, idempotency key, params
        self.deliveries: list[dict[str, Any]] = []  # every webhook sent: type, object id, status
        self.held: list[dict[str, Any]] = []
        self._idempotency: dict[str, tuple[str, int, dict[str, Any]]] = {}
        self._tasks: set[asyncio.Task] = set()
        self._http: aiohttp.ClientSession | None = None
        self._sweeper: asyncio.Task | None = None

    # -- fault injection and what a buyer or the provider does ------------------
    def fail_next(self, count: int = 1, status: int | str = 500) -> None:
        """The next ``count`` API calls answer ``status`` (or hang past the client's timeout: "timeout")."""
        self.faults.api.extend([status] * count)

    def pay(self, session_id: str, *, delayed: bool = False) -> None:
        """The buyer pays (``delayed``: a method whose result comes later, see :meth:`finish_delayed`)."""
        session = self.sessions[session_id]
        if session["status"] == "expired" and not self.faults.pay_after_expiry:
            raise StripeApiError(400, "invalid_request_error", "this session has expired")
        if session["status"] == "complete":
            raise StripeApiError(400, "invalid_request_error", "this session is already complete")
        intent = self._new_intent(session, "processing" if delayed else "succeeded")
        session.update(status="complete", payment_intent=intent["id"], payment_status="unpaid" if delayed else "paid")
        self._emit("checkout.session.completed", session)

    def finish_delayed(self, session_id: str, *, succeeded: bool) -> None:
        session = self.sessions[session_id]
        intent = self.intents[session["payment_intent"]]
        intent["status"] = "succeeded" if succeeded else "requires_payment_method"
        if succeeded:
            session["payment_status"] = "paid"
        self._emit(f"checkout.session.async_payment_{'succeeded' if succeeded else 'failed'}", session)

    def settle_refund(self, refund_id: str, status: str = "succeeded") -> None:
        refund = self.refunds[refund_id]
        refund["status"] = status
        self._emit("refund.failed" if status == "failed" else "refund.updated", refund)

    def expire_now(self, session_id: str) -> None:
        session = self.sessions[session_id]
        if session["status"] == "open":
            session["status"] = "expired"
            self._emit("checkout.session.expired", session)

    def release_webhooks(self, *, reverse: bool = False) -> None:
        held, self.held = self.held, []
        for event in reversed(held) if reverse else held:
            self._spawn(self._deliver(event))

    def session_for_order(self, order_id: str) -> dict[str, Any]:
        [session] = [s for s in self.sessions.values() if s["metadata"].get("orderId") == order_id]
        return session

    def calls(self, method: str, path_start: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["method"] == method and r["path"].startswith(path_start)]

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait until every webhook on its way was delivered (or gave up)."""
        deadline = time.monotonic() + timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    # -- the HTTP API ---------------------------------------------------------
    def routes(self, prefix: str = "") -> list[web.RouteDef]:
        """The API and the pay page under ``prefix`` (demo mode mounts them inside the platform).

        Mounted, it starts on its first request: only the process that serves
        it keeps (and saves) its state, not a worker that merely loaded the plugin.
        """
        handlers = [
            ("POST", "/v1/checkout/sessions", self._api(self._create_session)),
            ("GET", "/v1/checkout/sessions/{id}", self._api(self._get_session)),
            ("POST", "/v1/checkout/sessions/{id}/expire", self._api(self._expire_session)),
            ("POST", "/v1/refunds", self._api(self._create_refund)),
            ("GET", "/v1/refunds/{id}", self._api(self._get_refund)),
            ("GET", "/pay/{id}", self._pay_page),
            ("POST", "/pay/{id}", self._pay_action),
        ]
        return [web.route(method, prefix + path, self._started(handler)) for method, path, handler in handlers]

    def _started(self, handler):
        async def endpoint(request: web.Request) -> web.StreamResponse:
            if self._http is None:
                await self.start()
            return await handler(request)

        endpoint.__name__ = getattr(handler, "__name__", "fake_stripe")
        return endpoint

    def app(self) -> web.Application:
        """A server of its own (tests, benchmarks)."""
        app = web.Application()
        app.add_routes(self.routes())
        app.on_startup.append(lambda _app: self.start())
        app.on_cleanup.append(lambda _app: self.stop())
        return app

    def _save(self) -> None:
        if self.state_file is None:
            return
        state = {"sessions": self.sessions, "intents": self.intents, "refunds": self.refunds,
                 "idempotency": self._idempotency}  # fmt: skip
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.state_file.with_suffix(".tmp")
        temporary.write_text(json.dumps(state))
        temporary.replace(self.state_file)  # atomic: a crash leaves the old state or the new one

    def _load(self) -> None:
        if self.state_file is None or not self.state_file.exists():
            return
        state = json.loads(self.state_file.read_text())
        self.sessions, self.intents, self.refunds = state["sessions"], state["intents"], state["refunds"]
        self._idempotency = {k: tuple(v) for k, v in state["idempotency"].items()}

    async def start(self) -> None:
        if self._http is not None:
            return
        self._load()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        self._sweeper = asyncio.create_task(self._expire_due())

    async def stop(self) -> None:
        if self._sweeper:
            self._sweeper.cancel()
        for task in list(self._tasks):
            task.cancel()
        if self._http:
            await self._http.close()
            self._http = None

    def _api(self, handler):
        async def endpoint(request: web.Request) -> web.Response:
            params = (
                decode_form(await request.text()) if request.method == "POST" else decode_form(request.query_string)
            )
            key = request.headers.get("Idempotency-Key")
            self.requests.append({"method": request.method, "path": request.path, "key": key, "params": params})
            if not request.headers.get("Authorization", "").startswith("Bearer sk_"):
                return _error(401, "invalid_request_error", "send a secret key (sk_...)")
            if self.faults.api:
                fault = self.faults.api.pop(0)
                if fault == "timeout":
                    await asyncio.sleep(self.timeout_seconds)
                return _error(int(fault) if fault != "timeout" else 504, "api_error", "injected failure")
            if key and request.method == "POST":
                fingerprint = hashlib.sha256(json.dumps([request.path, params], sort_keys=True).encode()).hexdigest()
                if key in self._idempotency:
                    seen, status, body = self._idempotency[key]
                    if seen != fingerprint:
                        return _error(400, "idempotency_error", "Keys for idempotent requests can only be used "
                                                                 "with the same parameters they were first used with.")  # fmt: skip
                    return web.json_response(body, status=status, headers={"Idempotent-Replayed": "true"})
            try:
                body = handler(request.match_info, params)
                status = 200
            except StripeApiError as exc:
                return _error(exc.status, exc.kind, exc.message)
            if key and request.method == "POST":
                self._idempotency[key] = (fingerprint, status, body)
            if request.method == "POST":
                self._save()
            return web.json_response(body, status=status)

        return endpoint

    def _create_session(self, _match, params: dict[str, Any]) -> dict[str, Any]:
        items = params.get("line_items") or []
        if not items or params.get("mode") != "payment":
            raise StripeApiError(400, "invalid_request_error", "line_items and mode=payment are required")
        currencies = {i["price_data"]["currency"] for i in items}
        if len(currencies) != 1:
            raise StripeApiError(400, "invalid_request_error", "all line items must share one currency")
        expires_at = int(params.get("expires_at") or time.time() + 86400)
        if expires_at <= time.time():
            raise StripeApiError(400, "invalid_request_error", "expires_at must be in the future")
        session_id = _id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": sum(int(i["price_data"]["unit_amount"]) * int(i["quantity"]) for i in items),
            "currency": currencies.pop(),
            "metadata": params.get("metadata") or {},
            "client_reference_id": params.get("client_reference_id"),
            "payment_intent_metadata": (params.get("payment_intent_data") or {}).get("metadata") or {},
            "expires_at": expires_at,
            "success_url": params.get("success_url"),
            "cancel_url": params.get("cancel_url"),
            "url": f"{self.public_url}/pay/{session_id}",
            "payment_intent": None,
            "created": int(time.time()),
        }
        self.sessions[session_id] = session
        return self._session_view(session, expand=False)

    def _get_session(self, match, params: dict[str, Any]) -> dict[str, Any]:
        session = self._find(self.sessions, match["id"], "checkout session")
        return self._session_view(session, expand="payment_intent" in (params.get("expand") or []))

    def _expire_session(self, match, _params) -> dict[str, Any]:
        session = self._find(self.sessions, match["id"], "checkout session")
        if session["status"] != "open":
            raise StripeApiError(
                400, "invalid_request_error", "Only Checkout Sessions with a status of open can be expired"
            )
        self.expire_now(session["id"])
        return self._session_view(session, expand=False)

    def _create_refund(self, _match, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._find(self.intents, params.get("payment_intent", ""), "payment intent")
        amount = int(params.get("amount") or intent["amount"] - intent["amount_refunded"])
        if intent["status"] != "succeeded" or not 0 < amount <= intent["amount"] - intent["amount_refunded"]:
            raise StripeApiError(400, "invalid_request_error", "the amount exceeds what is left to refund")
        intent["amount_refunded"] += amount
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "metadata": params.get("metadata") or {},
            "status": "pending" if self.faults.refunds_pending else "succeeded",
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        if refund["status"] == "succeeded":
            self._emit("charge.refunded", {"id": intent["latest_charge"], "object": "charge",
                                           "payment_intent": intent["id"]})  # fmt: skip
        return dict(refund)

    def _get_refund(self, match, _params) -> dict[str, Any]:
        return dict(self._find(self.refunds, match["id"], "refund"))

    @staticmethod
    def _find(table: dict[str, dict[str, Any]], object_id: str, kind: str) -> dict[str, Any]:
        if object_id not in table:
            raise StripeApiError(404, "invalid_request_error", f"No such {kind}: '{object_id}'")
        return table[object_id]

    def _new_intent(self, session: dict[str, Any], status: str) -> dict[str, Any]:
        intent = {
            "id": _id("pi"),
            "object": "payment_intent",
            "amount": session["amount_total"],
            "currency": session["currency"],
            "status": status,
            "amount_refunded": 0,
            "latest_charge": _id("ch"),
            "metadata": session["payment_intent_metadata"],
        }
        self.intents[intent["id"]] = intent
        return intent

    def _session_view(self, session: dict[str, Any], *, expand: bool) -> dict[str, Any]:
        view = {k: v for k, v in session.items() if k != "payment_intent_metadata"}
        if expand and session["payment_intent"]:
            intent = self.intents[session["payment_intent"]]
            view["payment_intent"] = {k: v for k, v in intent.items() if k != "amount_refunded"}
        return view

    # -- the pay page a buyer is sent to ----------------------------------------
    async def _pay_page(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return web.Response(status=404, text="no such checkout session")
        amount = f"{session['amount_total']} {session['currency'].upper()} (minor units)"
        page = f"""<!doctype html><html><head><meta charset="utf-8"><title>Demo checkout</title></head>
<body><h1>Demo checkout - no money moves</h1><p>Amount: {html.escape(amount)}; status: {session["status"]}</p>
<form method="post"><button name="action" value="pay">Pay</button>
<button name="action" value="decline">Decline</button>
<button name="action" value="abandon">Abandon</button></form></body></html>"""
        return web.Response(text=page, content_type="text/html")

    async def _pay_action(self, request: web.Request) -> web.Response:
        session = self.sessions.get(request.match_info["id"])
        if session is None:
            return web.Response(status=404, text="no such checkout session")
        action = (await request.post()).get("action")
        if action == "pay":
            try:
                self.pay(session["id"])
            except StripeApiError as exc:
                return web.Response(status=409, text=exc.message)
            raise web.HTTPSeeOther(session["success_url"] or "/")
        if action == "abandon":
            raise web.HTTPSeeOther(session["cancel_url"] or "/")
        return web.Response(status=402, text="card declined (demo): the session stays open, try again")

    # -- webhooks ---------------------------------------------------------------
    def _emit(self, event_type: str, obj: dict[str, Any]) -> None:
        self._save()
        if obj.get("object") == "checkout.session":
            obj = self._session_view(obj, expand=False)
        event = {
            "id": _id("evt"),
            "object": "event",
            "type": event_type,
            "created": int(time.time()),
            "livemode": False,
            "data": {"object": dict(obj)},
        }
        mode = self.faults.webhooks
        if mode == "drop":
            self.deliveries.append({"type": event_type, "object": obj["id"], "status": "dropped"})
            return
        if mode == "hold":
            self.held.append(event)
            return
        self._spawn(self._deliver(event))
        if mode == "duplicate":
            self._spawn(self._deliver(event))

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, event: dict[str, Any]) -> None:
        """POST the signed event; retry on failure as Stripe does (here: a few times, quickly)."""
        if self.faults.webhook_delay:
            await asyncio.sleep(self.faults.webhook_delay)
        async with self._sending:
            await self._post_event(event)

    async def _post_event(self, event: dict[str, Any]) -> None:
        payload = json.dumps(event)
        attempts = self.webhook_attempts
        for attempt in range(attempts):
            header = stripe.WebhookSignature.generate_signature_header(payload, self.webhook_secret)
            status: int | str
            try:
                assert self._http is not None and self.webhook_url
                async with self._http.post(
                    self.webhook_url,
                    data=payload,
                    headers={"Content-Type": "application/json", "Stripe-Signature": header},
                ) as response:
                    status = response.status
                    answer = "" if status == 200 else (await response.text())[:300]
            except (TimeoutError, aiohttp.ClientError, AssertionError) as exc:
                status, answer = type(exc).__name__, ""
            record = {
                "type": event["type"],
                "object": event["data"]["object"]["id"],
                "status": status,
                "answer": answer,
            }
            self.deliveries.append({**record, "event": event["id"]})
            if status == 200:
                return
            await asyncio.sleep(min(0.2 * 2**attempt, 5))
        log.warning("webhook %s (%s) not accepted after %d attempts", event["id"], event["type"], attempts)

    async def _expire_due(self) -> None:
        while True:
            now = time.time()
            for session in list(self.sessions.values()):
                if session["status"] == "open" and session["expires_at"] <= now:
                    self.expire_now(session["id"])
            await asyncio.sleep(0.25)


def _error(status: int, kind: str, message: str) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message}}, status=status)
