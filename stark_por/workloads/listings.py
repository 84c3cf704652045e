"""The assets an exchange lists: native decimals, a USD price and how popular each one is.

Prices are exact decimal strings of the right order of magnitude for late 2026 (reference
figures for a synthetic workload, not market data: ``prices.csv`` says ``source synthetic``).
They are :class:`~decimal.Decimal` values and never pass through ``float`` on the way to an
amount. Popularity is a relative weight: the chance that one of a user's holdings is this
asset (stablecoins, BTC and ETH first).

* :data:`W3_LISTINGS` — 22 real assets at their main chain's decimals (ETH and every ERC-20 at
  18, BTC at 8, USDT/USDC at 6, SOL at 9, …).
* :func:`w4_listings` — those 22, then 198 long-tail tokens ``TKN023`` … ``TKN220``: decimals
  drawn from the real mix (mostly 18, some 6/8/9), prices log-uniform over 10 orders of
  magnitude ($0.000001 … $10,000, four significant digits), Zipf-like popularity; fixed by
  :data:`LONG_TAIL_SEED`, whatever the ledger's seed.

Every listing keeps ``MAX_PORTFOLIO_USD`` worth of it below ``2**AMOUNT_BITS`` smallest units
(checked when the table is built), so no drawn amount can exceed the version-2 circuit's bound.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Tuple

import numpy as np

from ..ledger import Asset

__all__ = ["Listing", "W3_LISTINGS", "w4_listings", "LONG_TAIL_SEED", "AMOUNT_BITS",
           "MAX_PORTFOLIO_USD", "PRICES_AS_OF", "max_units"]

AMOUNT_BITS = 112  # every amount drawn is below 2**112 smallest units (circuits/liabilities)
MAX_PORTFOLIO_USD = 999_999_999  # no account is worth $1B or more
PRICES_AS_OF = "2026-12-01T00:00:00Z"  # the timestamp written beside the reference prices
LONG_TAIL_SEED = 2026


@dataclass(frozen=True)
class Listing:
    """One listed asset: ticker, native decimals, USD price of one whole token, popularity."""

    name: str
    decimals: int
    price: Decimal
    popularity: float

    def __post_init__(self) -> None:
        if not isinstance(self.price, Decimal) or not self.price.is_finite() or self.price <= 0:
            raise ValueError(f"{self.name}: the price must be a positive finite Decimal")
        if not self.popularity > 0:
            raise ValueError(f"{self.name}: popularity must be positive")
        if max_units(self, MAX_PORTFOLIO_USD) >> AMOUNT_BITS:
            raise ValueError(f"{self.name}: ${MAX_PORTFOLIO_USD:,} of it is 2**{AMOUNT_BITS} "
                             "smallest units or more")

    @property
    def asset(self) -> Asset:
        return Asset(self.name, self.decimals)


def max_units(listing: Listing, usd: int) -> int:
    """Smallest units that ``usd`` whole dollars buy (rounded down), exactly."""
    num, den = listing.price.as_integer_ratio()
    return usd * den * 10 ** listing.decimals // num


def _l(name: str, decimals: int, price: str, popularity: float) -> Listing:
    return Listing(name, decimals, Decimal(price), popularity)


W3_LISTINGS: Tuple[Listing, ...] = (
    _l("BTC", 8, "96250.00", 28),
    _l("ETH", 18, "3425.50", 22),
    _l("USDT", 6, "1.0000", 30),
    _l("USDC", 6, "1.0000", 14),
    _l("SOL", 9, "182.40", 9),
    _l("XRP", 6, "2.315", 8),
    _l("DOGE", 8, "0.2140", 7),
    _l("TRX", 6, "0.2890", 3),
    _l("ADA", 6, "0.7420", 4),
    _l("SHIB", 18, "0.00001385", 3),
    _l("LINK", 18, "18.62", 2.5),
    _l("BNB", 18, "905.30", 5),
    _l("TON", 9, "3.125", 2),
    _l("AVAX", 18, "26.85", 2),
    _l("DOT", 10, "4.512", 1.5),
    _l("POL", 18, "0.2475", 1.2),  # formerly MATIC
    _l("LTC", 8, "96.40", 2),
    _l("BCH", 8, "478.20", 1),
    _l("UNI", 18, "9.135", 1),
    _l("PEPE", 18, "0.000009620", 3),
    _l("ATOM", 6, "4.635", 1),
    _l("XLM", 7, "0.3310", 1.2),
)

_TAIL_DECIMALS = (18, 6, 8, 9)
_TAIL_DECIMALS_P = (0.70, 0.12, 0.10, 0.08)
_TAIL_LOG10_PRICE = (-6.0, 4.0)


@lru_cache(maxsize=1)
def w4_listings() -> Tuple[Listing, ...]:
    """The 220 listings of W4: :data:`W3_LISTINGS` then 198 long-tail tokens."""
    rng = np.random.default_rng(np.random.SeedSequence([LONG_TAIL_SEED, 0x7A11]))
    count = 220 - len(W3_LISTINGS)
    decimals = rng.choice(_TAIL_DECIMALS, size=count, p=_TAIL_DECIMALS_P)
    log_price = rng.uniform(*_TAIL_LOG10_PRICE, size=count)
    tail = []
    for r in range(count):
        # four significant digits, written out in full (Decimal('1.234E-5') -> '0.00001234')
        price = Decimal(format(Decimal(f"{10.0 ** log_price[r]:.3e}"), "f"))
        popularity = 2.0 / (r + 1) ** 0.8  # rank 0 is the most popular long-tail token
        tail.append(Listing(f"TKN{len(W3_LISTINGS) + r + 1:03d}", int(decimals[r]), price, popularity))
    return W3_LISTINGS + tuple(tail)
