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


def test_payment_settings_that_contradict_each_other_stop_the_platform():
    from eventonight_ticketing.plugin import TicketingConfigError, payment_provider

    _demo, fake = payment_provider(TicketingSettings(), "http://127.0.0.1:8080")
    assert fake is not None and fake.public_url == "http://127.0.0.1:8080/api/ticketing/_fakestripe"
    real, none = payment_provider(
        TicketingSettings(stripe_secret_key="sk_live_x", stripe_webhook_secrets=["whsec_1"]), "https://tickets.example"
    )
    assert none is None and real.webhook_secrets == ["whsec_1"]
    for settings, base, words in (
        (TicketingSettings(provider="demo", stripe_secret_key="sk_live_x"), "https://x.example", "choose one"),
        (TicketingSettings(provider="stripe"), "https://x.example", "needs"),
        (TicketingSettings(stripe_secret_key="sk_live_x"), "https://x.example", "WEBHOOK_SECRETS"),
        (TicketingSettings(stripe_secret_key="sk_live_x", stripe_webhook_secrets=["w"]), "http://x.example", "https"),
    ):
        with pytest.raises(TicketingConfigError, match=words):
            payment_provider(settings, base)


async def test_the_demo_providers_state_survives_a_restart(tmp_path):
    from eventonight_ticketing.fakestripe import FakeStripe

    state = tmp_path / "payments.json"
    first = FakeStripe("whsec_x", state_file=state)
    await first.start()
    session = first._create_session(None, {
        "mode": "payment", "metadata": {"orderId": "o1"},
        "line_items": [{"quantity": "1", "price_data": {"currency": "eur", "unit_amount": "1500"}}],
    })  # fmt: skip
    first.faults.webhooks = "drop"
    first.pay(session["id"])
    await first.stop()
    second = FakeStripe("whsec_x", state_file=state)
    await second.start()
    restored = second.sessions[session["id"]]
    assert restored["status"] == "complete" and restored["payment_intent"] in second.intents
    refund = second._create_refund(None, {"payment_intent": restored["payment_intent"], "amount": "1500"})
    assert refund["status"] == "succeeded"
    await second.stop()


async def test_lookups_arriving_together_share_one_query_and_get_their_own_answers():
    import asyncio

    from eventonight_ticketing.application.orders import BatchedLookup

    queries = []

    async def fetch_many(ids):
        queries.append(sorted(ids))
        if "boom" in ids:
            raise RuntimeError("database down")
        return {i: {"_id": i} for i in ids if i.startswith("o")}

    lookup = BatchedLookup(fetch_many)
    answers = await asyncio.gather(*(lookup.get(k) for k in ("o1", "o2", "x", "o1")))
    assert answers == [{"_id": "o1"}, {"_id": "o2"}, None, {"_id": "o1"}] and queries == [["o1", "o2", "x"]]
    assert await lookup.get("o3") == {"_id": "o3"} and len(queries) == 2, "later ones: a new query"
    failed = await asyncio.gather(lookup.get("boom"), lookup.get("o4"), return_exceptions=True)
    assert all(isinstance(f, RuntimeError) for f in failed), "every waiting request hears of the failure"
