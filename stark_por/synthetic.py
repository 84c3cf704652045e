"""Deterministic synthetic ledgers for the demo, the tests and the benchmarks.

Workloads
---------
* **W1** -- 22 assets; each user holds 1..22 of them, about 3 on average.
* **W2** -- 220 assets; each user holds 1..22 of them, about 4 on average.

How a ledger is drawn (all vectorized numpy, seeded, deterministic):

* number of assets held per user: ``1 + min(Poisson(lam), cap - 1)`` with
  ``cap = min(num_assets, 22)``; ``lam`` is solved numerically so that the
  mean of this truncated draw equals ``mean_held`` exactly in expectation;
* which assets: drawn without replacement with Zipf weights
  ``1 / (rank + 1)`` (Gumbel top-k trick), so BTC is held more often than
  ETH, ETH more often than USDT, and so on;
* balances: log-uniform on ``[1, 2**max_bits)`` smallest units.

The same ``(num_users, num_assets, mean_held, max_bits, seed)`` always give
the same ledger, on any machine.

These balances ignore prices and decimals (W1 totals billions of BTC and a
fraction of an ETH); they stay for comparison with earlier figures.  The
exchange-like workloads W3/W4 (native decimals, USD prices, amounts up to
2^112) are in :mod:`stark_por.workloads`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Tuple, Union

import math

import numpy as np

from .ledger import Asset, Ledger
from .workloads import W3, W4  # noqa: F401  (re-exported: W1 … W4 all by name from here)
from .workloads.draws import MAX_HELD, choose_assets, held_counts
from .workloads.files import write_assets_csv, write_ledger_csv

__all__ = ["generate", "W1", "W2", "W3", "W4", "default_assets", "write_csv", "assets_path_for"]

# The first 22 assets look like real tickers (decimals as on their main chain).
_TICKERS: Tuple[Tuple[str, int], ...] = (
    ("BTC", 8), ("ETH", 18), ("USDT", 6), ("USDC", 6), ("BNB", 8), ("XRP", 6),
    ("SOL", 9), ("ADA", 6), ("DOGE", 8), ("TRX", 6), ("DOT", 10), ("MATIC", 18),
    ("LTC", 8), ("SHIB", 18), ("AVAX", 18), ("DAI", 18), ("LINK", 18),
    ("ATOM", 6), ("UNI", 18), ("XLM", 7), ("ETC", 18), ("BCH", 8),
)
# decimals of the synthetic tokens TKN023, TKN024, ... (cycled)
_TOKEN_DECIMALS = (18, 6, 8, 9, 12, 0, 2)


def default_assets(num_assets: int) -> Tuple[Asset, ...]:
    """The first ``num_assets`` assets: the 22 tickers, then ``TKN023``, ..."""
    if num_assets < 1:
        raise ValueError("num_assets must be at least 1")
    out = [Asset(n, d) for n, d in _TICKERS[:num_assets]]
    width = max(3, len(str(num_assets)))
    for k in range(len(out), num_assets):
        out.append(Asset(f"TKN{k + 1:0{width}d}",
                         _TOKEN_DECIMALS[(k - len(_TICKERS)) % len(_TOKEN_DECIMALS)]))
    return tuple(out)


def generate(
    num_users: int,
    *,
    num_assets: int = 22,
    mean_held: Optional[float] = None,
    max_bits: int = 50,
    seed: int = 0,
) -> Ledger:
    """A deterministic random ledger (see the module docstring).

    ``mean_held`` defaults to 3.0 for up to 22 assets and 4.0 above.  It
    must lie in ``[1, min(num_assets, 22)]``.  ``max_bits`` (32..63) is both
    the balance range and the ledger's range bound.
    """
    num_users = int(num_users)
    if num_users < 1:
        raise ValueError("num_users must be at least 1")
    assets = default_assets(num_assets)
    k = len(assets)
    cap = min(k, MAX_HELD)
    if mean_held is None:
        mean_held = min(3.0 if k <= MAX_HELD else 4.0, float(cap))
    mean_held = float(mean_held)
    if not 1.0 <= mean_held <= cap:
        raise ValueError(f"mean_held must be between 1 and {cap}")
    if not 32 <= max_bits <= 63:
        raise ValueError("max_bits must be between 32 and 63")

    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0x5EED]))
    held = held_counts(rng, num_users, mean_held, cap)
    ip, ai = choose_assets(rng, held, 1.0 / np.arange(1, k + 1, dtype=np.float64))  # Zipf
    ip = ip.astype(np.uint64)

    u = rng.random(ai.shape[0])
    amounts = np.floor(_exp2(u * max_bits))
    amounts = np.clip(amounts, 1.0, None).astype(np.uint64)
    np.minimum(amounts, np.uint64((1 << max_bits) - 1), out=amounts)

    width = max(7, len(str(num_users)))
    user_ids = [f"user-{i:0{width}d}" for i in range(1, num_users + 1)]
    return Ledger._trusted(user_ids, assets, ip, ai, amounts, None, max_bits)


def _exp2(t: np.ndarray) -> np.ndarray:
    """``2**t`` for ``t >= 0`` from IEEE additions, multiplications and ``ldexp`` only, so the
    same seed draws the same ledger on every machine: ``np.exp2`` dispatches to SIMD code
    (AVX-512 or not) whose last bit differs between CPUs, and a floor can then differ by one.
    Taylor series of ``e^(f·ln 2)`` on the fraction ``f`` (terms beyond the 20th < 2^-60)."""
    whole = np.floor(t)
    x = (t - whole) * math.log(2.0)
    acc = np.ones_like(x)
    for k in range(20, 0, -1):  # Horner: 1 + x/1 (1 + x/2 (1 + … x/20))
        acc = 1.0 + acc * x / k
    return np.ldexp(acc, whole.astype(np.int64))


def W1(n: int, seed: int = 0) -> Ledger:
    """Workload W1: ``n`` users, 22 assets, ~3 held per user."""
    return generate(n, num_assets=22, mean_held=3.0, seed=seed)


def W2(n: int, seed: int = 0) -> Ledger:
    """Workload W2: ``n`` users, 220 assets, 1..22 held, ~4 per user."""
    return generate(n, num_assets=220, mean_held=4.0, seed=seed)


def assets_path_for(path: Union[str, os.PathLike]) -> Path:
    """The sibling assets file of a ledger CSV: ``<stem>.assets.csv``."""
    p = Path(path)
    return p.with_name(p.stem + ".assets.csv")


def write_csv(ledger: Ledger, path: Union[str, os.PathLike]) -> Path:
    """Write ``ledger`` as CSV plus its sibling ``<stem>.assets.csv``.

    Amounts are written as exact decimals in display units (shortest form,
    blank for 0), so ``Ledger.from_csv(path, max_bits=ledger.max_bits)``
    gives back an equal ledger.  Returns the assets file path.
    """
    apath = write_assets_csv(ledger.assets, assets_path_for(path))
    write_ledger_csv(ledger, path)
    return apath
