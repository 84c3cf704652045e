"""Synthetic workloads for the demo, the tests and the benchmarks.

* **W1**, **W2** (``stark_por.synthetic``): balances log-uniform below 2^50 smallest units
  whatever the asset (22 / 220 assets, ~3 / ~4 held). Kept to compare with earlier figures;
  their totals are not an exchange's (billions of BTC, fractions of an ETH).
* **W3** — an exchange: 22 real assets at native decimals with USD prices, heavy-tailed
  portfolio values ($1 … $10,000 for most users, whales up to $1B), ~3 assets held, exact
  integer amounts up to 2^112 smallest units (:mod:`.exchange`, :mod:`.listings`).
* **W4** — the same with 220 listed assets (198 long-tail tokens), ~4 held.
* W3/W4 with ``borrowers=0.1``: the same holdings, and 10 % of the users owing debts (mostly
  USDT/USDC, BTC, ETH) worth 10–70 % of their collateral after haircuts, every one covered at
  the round's prices and haircuts (:mod:`.borrowers`; the prices file ``margin_prices.csv``).

:func:`workload` draws any of them by name, :func:`ledger_file` writes one for
``stark-por prove`` (the benchmarks' hook), :func:`summarize` adds it up.
"""

from __future__ import annotations

from .borrowers import BorrowModel, add_borrowers, haircut_of, margin_prices
from .exchange import ExchangeWorkload, PortfolioModel, draw_exchange
from .files import (ledger_file, write_assets_csv, write_ledger_csv, write_margin_prices_csv, write_parquet,
                    write_prices_csv, write_workload)
from .listings import AMOUNT_BITS, MAX_PORTFOLIO_USD, W3_LISTINGS, Listing, w4_listings
from .summary import REFERENCE_PRICES, WorkloadSummary, summarize, usd_value

__all__ = [
    "WORKLOADS", "workload", "W3", "W4", "ExchangeWorkload", "PortfolioModel", "draw_exchange",
    "Listing", "W3_LISTINGS", "w4_listings", "AMOUNT_BITS", "MAX_PORTFOLIO_USD",
    "ledger_file", "write_workload", "write_ledger_csv", "write_assets_csv", "write_prices_csv",
    "write_parquet", "summarize", "WorkloadSummary", "usd_value", "REFERENCE_PRICES",
    "write_margin_prices_csv", "BorrowModel", "add_borrowers", "haircut_of", "margin_prices",
]

WORKLOADS = ("W1", "W2", "W3", "W4")


def _with_borrowers(w: ExchangeWorkload, borrowers: float, seed: int) -> ExchangeWorkload:
    return add_borrowers(w, borrowers, seed=seed) if borrowers else w


def W3(n: int, seed: int = 0, borrowers: float = 0.0) -> ExchangeWorkload:
    """Workload W3: ``n`` users of an exchange listing 22 real assets, ~3 held per user; with
    ``borrowers`` (e.g. 0.1) that fraction of them owing debts (the holdings unchanged)."""
    w = draw_exchange("W3", W3_LISTINGS, n, model=PortfolioModel(mean_held=3.0), seed=seed)
    return _with_borrowers(w, borrowers, seed)


def W4(n: int, seed: int = 0, borrowers: float = 0.0) -> ExchangeWorkload:
    """Workload W4: ``n`` users, 220 listed assets (22 real + 198 long-tail), ~4 held; with
    ``borrowers`` as :func:`W3`."""
    w = draw_exchange("W4", w4_listings(), n, model=PortfolioModel(mean_held=4.0), seed=seed)
    return _with_borrowers(w, borrowers, seed)


def workload(name: str, n: int, seed: int = 0, borrowers: float = 0.0):
    """Workload ``name`` (one of :data:`WORKLOADS`) with ``n`` users: a ``Ledger`` for W1/W2,
    an :class:`ExchangeWorkload` for W3/W4 (``borrowers``: the fraction of users with debt)."""
    from .. import synthetic  # synthetic imports .draws from here: resolve W1/W2 on call

    draw = {"W1": synthetic.W1, "W2": synthetic.W2, "W3": W3, "W4": W4}.get(name.upper())
    if draw is None:
        raise ValueError(f"unknown workload {name!r}: one of {', '.join(WORKLOADS)}")
    if borrowers:
        if name.upper() in ("W1", "W2"):
            raise ValueError(f"workload {name} has no prices, so no borrowers: use W3 or W4")
        return draw(n, seed=seed, borrowers=borrowers)
    return draw(n, seed=seed)
