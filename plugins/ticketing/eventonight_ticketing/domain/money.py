"""Money in integer minor units with ISO 4217 currencies (no floats anywhere)."""

from __future__ import annotations

import re

from eventonight.hooks.errors import DomainError

# Stripe's zero-decimal currencies, and the three-decimal ones; every other code has 2.
_ZERO = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
_THREE = frozenset("BHD JOD KWD OMR TND".split())
_CODE = re.compile(r"^[A-Z]{3}$")
#: The largest price one ticket may have, in minor units (a guard against typos and overflow).
MAX_PRICE_MINOR = 100_000_000


def currency_code(value: str) -> str:
    """An upper-case ISO 4217 code, or a DomainError naming ``currency``."""
    code = (value or "").strip().upper()
    if not _CODE.match(code):
        raise DomainError("currency must be a three-letter ISO 4217 code", field="currency")
    return code


def exponent(currency: str) -> int:
    return 0 if currency in _ZERO else 3 if currency in _THREE else 2


def to_major(amount_minor: int, currency: str) -> float:
    """Major units, for the events plugin's ``lowestPrice`` contract (display and sorting only)."""
    return amount_minor / 10 ** exponent(currency)


def display(amount_minor: int, currency: str) -> str:
    """``"12.50 EUR"``, ``"1500 JPY"``: the amount with its currency's decimals."""
    digits = exponent(currency)
    if digits == 0:
        return f"{amount_minor} {currency}"
    whole, fraction = divmod(amount_minor, 10**digits)
    return f"{whole}.{fraction:0{digits}d} {currency}"


class BelowProviderMinimum(DomainError):
    """A paid price the payment provider cannot charge (422)."""

    status = 422


#: The smallest charge the provider accepts, in minor units, where it is known (Stripe's table).
PROVIDER_MINIMUM_MINOR = {
    "USD": 50, "EUR": 50, "GBP": 30, "CHF": 50, "CAD": 50, "AUD": 50, "NZD": 50, "JPY": 50,
    "SEK": 300, "NOK": 300, "DKK": 250, "PLN": 200, "CZK": 1500, "HUF": 17500, "MXN": 1000,
}  # fmt: skip


def check_price(price_minor: int, currency: str) -> int:
    """A ticket price: 0 (free) or a chargeable amount of ``currency``'s minor units."""
    if isinstance(price_minor, bool) or not isinstance(price_minor, int):
        raise DomainError("priceMinor must be an integer number of minor units", field="priceMinor")
    if price_minor < 0 or price_minor > MAX_PRICE_MINOR:
        raise DomainError(f"priceMinor must be between 0 and {MAX_PRICE_MINOR}", field="priceMinor")
    if price_minor and price_minor < PROVIDER_MINIMUM_MINOR.get(currency, 1):
        minimum = display(PROVIDER_MINIMUM_MINOR[currency], currency)
        raise BelowProviderMinimum(f"a paid ticket costs at least {minimum}", field="priceMinor")
    if price_minor and exponent(currency) == 3 and price_minor % 10:
        raise BelowProviderMinimum(f"{currency} prices must be multiples of 10 minor units", field="priceMinor")
    return price_minor
