"""Ticketing rules without I/O: money, shards, allocation, order lines."""

import pytest
from eventonight_ticketing.domain.model import (
    Busy,
    DomainError,
    check_lines,
    plan_allocation,
    shard_count,
    split_capacity,
)
from eventonight_ticketing.domain.money import BelowProviderMinimum, check_price, currency_code, display, to_major
from eventonight_ticketing.plugin import TicketingSettings


def test_money_uses_each_currencys_minor_units():
    assert display(1250, "EUR") == "12.50 EUR" and display(1500, "JPY") == "1500 JPY"
    assert display(1230, "KWD") == "1.230 KWD" and to_major(1250, "EUR") == 12.5
    assert currency_code(" eur ") == "EUR"
    with pytest.raises(DomainError):
        currency_code("EURO")
    assert check_price(0, "EUR") == 0 and check_price(50, "EUR") == 50
    with pytest.raises(BelowProviderMinimum):
        check_price(49, "EUR")
    with pytest.raises(BelowProviderMinimum):
        check_price(1005, "KWD")  # three-decimal currencies go in tens
    for bad in (-1, 1.5, True, 10**9):
        with pytest.raises(DomainError):
            check_price(bad, "EUR")


def test_shards_per_64_tickets_at_most_32_and_capacity_spread_evenly():
    assert [shard_count(c) for c in (1, 64, 65, 100, 2048, 10**6)] == [1, 1, 2, 2, 32, 32]
    assert split_capacity(100, 2) == [50, 50] and split_capacity(10, 3) == [4, 3, 3]
    assert sum(split_capacity(999, 16)) == 999


def test_allocation_prefers_one_shard_from_the_orders_start_then_splits():
    assert plan_allocation({0: 5, 1: 5, 2: 5}, 3, start=1) == [(1, 3)]
    assert plan_allocation({0: 5, 1: 1, 2: 5}, 3, start=1) == [(2, 3)]
    assert plan_allocation({0: 2, 1: 1, 2: 2}, 4, start=0) == [(0, 2), (2, 2)]
    assert plan_allocation({0: 2, 1: 1}, 4, start=0) is None


def test_order_lines_merge_per_type_and_respect_the_limit():
    assert check_lines([("b", 1), ("a", 2), ("b", 1)], 10) == [("a", 2), ("b", 2)]
    for bad in ([], [("a", 0)], [("a", -1)], [("a", True)], [("a", 6), ("b", 5)]):
        with pytest.raises(DomainError):
            check_lines(bad, 10)


def test_busy_asks_to_retry_in_a_second_and_documented_defaults():
    assert Busy("x").headers() == {"Retry-After": "1"} and Busy.status == 409
    defaults = TicketingSettings()
    assert (defaults.max_tickets_per_order, defaults.reservation_seconds) == (10, 120)
    assert defaults.buyer_refund_cutoff_hours == 48 and defaults.inventory_shards is None  # None: automatic


def test_the_order_state_machine_allows_exactly_its_table():
    from eventonight_ticketing.domain import orders as o

    allowed = {
        (None, o.PENDING, o.BUYER), (None, o.PAID, o.BUYER),
        (o.PENDING, o.PAID, o.PROVIDER),
        (o.PENDING, o.EXPIRED, o.BUYER), (o.PENDING, o.EXPIRED, o.SYSTEM), (o.PENDING, o.EXPIRED, o.PROVIDER),
        (o.EXPIRED, o.PAID, o.PROVIDER), (o.EXPIRED, o.REFUNDED, o.SYSTEM),
    }  # fmt: skip
    for source in (o.PAID, o.PARTIALLY_REFUNDED):
        for target in (o.PARTIALLY_REFUNDED, o.REFUNDED):
            allowed |= {(source, target, actor) for actor in (o.BUYER, o.HOST, o.SYSTEM)}
    allowed.discard((o.PAID, o.PAID, o.BUYER))
    actors = (o.BUYER, o.HOST, o.SYSTEM, o.PROVIDER)
    for current in (None, *o.STATUSES):
        for new in o.STATUSES:
            for actor in actors:
                assert o.allowed(current, new, actor) == ((current, new, actor) in allowed), (current, new, actor)
    # Refused transitions raise a 409: a refunded order is never paid again, a paid one never expires.
    for current, new in ((o.REFUNDED, o.PAID), (o.PAID, o.EXPIRED), (o.EXPIRED, o.PENDING), (o.PAID, o.PENDING)):
        with pytest.raises(o.IllegalTransition) as refused:
            o.check_transition(current, new, o.SYSTEM)
        assert refused.value.status == 409
    assert not o.allowed(o.PENDING, o.PAID, o.BUYER), "only the provider's word pays an order"
