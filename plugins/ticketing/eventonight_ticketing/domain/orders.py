"""The order's state machine (docs/ticketing.md, "Orders"): which transitions exist and who makes them.

Every change of an order's status in the application goes through
:func:`check_transition`, and the store applies it guarded on the status it
came from, so a transition applied twice (a redelivered webhook, two workers)
changes nothing the second time.
"""

from __future__ import annotations

from eventonight.hooks.errors import Conflict

PENDING, PAID, EXPIRED = "PENDING", "PAID", "EXPIRED"
PARTIALLY_REFUNDED, REFUNDED = "PARTIALLY_REFUNDED", "REFUNDED"
STATUSES = (PENDING, PAID, EXPIRED, PARTIALLY_REFUNDED, REFUNDED)

BUYER, HOST, SYSTEM, PROVIDER = "buyer", "host", "system", "provider"

#: (from, to) -> who may cause it. ``None`` is an order that does not exist yet.
TRANSITIONS: dict[tuple[str | None, str], frozenset[str]] = {
    (None, PENDING): frozenset({BUYER}),
    (None, PAID): frozenset({BUYER}),  # a free order
    (PENDING, PAID): frozenset({PROVIDER}),
    (PENDING, EXPIRED): frozenset({BUYER, SYSTEM, PROVIDER}),
    (EXPIRED, PAID): frozenset({PROVIDER}),  # paid late, and the tickets were still there
    (EXPIRED, REFUNDED): frozenset({SYSTEM}),  # paid late, nothing left: the money goes back
    (PAID, PARTIALLY_REFUNDED): frozenset({BUYER, HOST, SYSTEM}),
    (PAID, REFUNDED): frozenset({BUYER, HOST, SYSTEM}),
    (PARTIALLY_REFUNDED, PARTIALLY_REFUNDED): frozenset({BUYER, HOST, SYSTEM}),
    (PARTIALLY_REFUNDED, REFUNDED): frozenset({BUYER, HOST, SYSTEM}),
}

#: Orders that still hold tickets someone may give back.
REFUNDABLE = (PAID, PARTIALLY_REFUNDED)


class IllegalTransition(Conflict):
    """An order cannot go from its status to the one asked for (409)."""


def allowed(current: str | None, new: str, actor: str) -> bool:
    return actor in TRANSITIONS.get((current, new), ())


def check_transition(current: str | None, new: str, actor: str) -> None:
    if not allowed(current, new, actor):
        raise IllegalTransition(f"a {current or 'new'} order cannot become {new}")
