"""A model of an exchange's users: heavy-tailed portfolio values in USD, split over the assets
they hold and converted to exact integers in each asset's smallest unit.

How a workload of ``n`` users is drawn (numpy, seeded; see :class:`PortfolioModel`):

1. **Portfolio value in USD.** With probability ``1 - tail_fraction`` a log-normal body
   (median ``body_median_usd``, log-standard deviation ``body_sigma``); otherwise a Pareto tail
   of index ``tail_alpha`` from ``tail_min_usd``, truncated (by its inverse CDF, so no mass piles
   up at the cap) at ``MAX_PORTFOLIO_USD``. Defaults: median $250, sigma 1.8, 1 % in a Pareto
   tail of index 1.0 from $10,000: about 97 % of accounts hold $1 … $10,000, one in a few
   hundred holds $100,000 or more, and a million users include whales of $10M … $1B.
2. **How many assets**: ``1 + min(Poisson(lam), 21)``, mean ``mean_held`` (3 by default), as in
   W1; **which**: drawn without replacement with the listings' popularity weights.
3. **Split**: shares proportional to Gamma(``split_shape``) draws (a Dirichlet split: with
   shape 0.7 one holding usually dominates).
4. **Exact amounts.** Each holding's value is floored to whole **micro-dollars** in float64
   (at most 10^15 < 2^53, so the float-to-int step is exact), then converted with integer
   arithmetic only: ``units = micro * 10^decimals * q // (p * 10^6)`` for the price ``p/q``
   (an exact :class:`~decimal.Decimal`), i.e. rounded down to a whole smallest unit; a holding
   worth less than one smallest unit is one unit (dust is still owed). Amounts are Python ints
   in a numpy ``object`` array: a whale's PEPE at 18 decimals is above 2^64 and nothing
   truncates or saturates; every amount is below ``2**AMOUNT_BITS`` by the listings' check.

The same ``(listings, n, model, seed)`` give the same workload with the same numpy version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..errors import LedgerError
from ..ledger import Asset, Ledger, _check_max_bits
from .draws import MAX_HELD, choose_assets, held_counts
from .listings import MAX_PORTFOLIO_USD, Listing

__all__ = ["PortfolioModel", "ExchangeWorkload", "draw_exchange"]

MICRO = 10**6  # micro-dollars per dollar


@dataclass(frozen=True)
class PortfolioModel:
    """Parameters of the draw (see the module docstring)."""

    body_median_usd: float = 250.0
    body_sigma: float = 1.8
    tail_fraction: float = 0.01
    tail_min_usd: float = 10_000.0
    tail_alpha: float = 1.0
    mean_held: float = 3.0
    split_shape: float = 0.7

    def __post_init__(self) -> None:
        if not (0 < self.body_median_usd < MAX_PORTFOLIO_USD and self.body_sigma > 0
                and 0 <= self.tail_fraction <= 1 and 0 < self.tail_min_usd < MAX_PORTFOLIO_USD
                and self.tail_alpha > 0 and self.split_shape > 0):
            raise ValueError(f"invalid portfolio model {self}")


@dataclass(frozen=True, eq=False)
class ExchangeWorkload:
    """Users' holdings in CSR form, like :class:`~stark_por.ledger.Ledger` (same attribute
    names, so writers take either) but with ``amounts`` as exact Python ints of any size
    (numpy ``object`` array) and a price per asset. Made by :func:`draw_exchange`, whose
    output is valid by construction: the constructor does not check its arrays."""

    name: str
    listings: Tuple[Listing, ...]
    user_ids: List[str]
    indptr: np.ndarray  # uint64, (N+1,)
    asset_index: np.ndarray  # uint32, (nnz,), strictly increasing within a user
    amounts: np.ndarray  # object (Python ints > 0), (nnz,)
    usd: np.ndarray = field(repr=False)  # float64, (N,): the drawn portfolio values (equity)
    #: uint8, (nnz,): 0 equity, 1 debt (``Ledger.kinds``); entries strictly increasing by
    #: ``(asset_index, kind)`` within a user. ``None`` given: all equity.
    kinds: Optional[np.ndarray] = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kinds is None:
            kinds = np.zeros(self.amounts.shape[0], dtype=np.uint8)
            kinds.flags.writeable = False
            object.__setattr__(self, "kinds", kinds)

    @property
    def assets(self) -> Tuple[Asset, ...]:
        return tuple(x.asset for x in self.listings)

    @property
    def prices(self) -> Dict[str, Decimal]:
        return {x.name: x.price for x in self.listings}

    @property
    def margin_prices(self) -> Dict[str, Tuple[str, str]]:
        """``{asset: (price, haircut)}``, canonical decimal strings: the round's prices file
        (``margin_prices.csv``, see :mod:`.borrowers`)."""
        from .borrowers import margin_prices

        return margin_prices(self.listings)

    @property
    def has_debt(self) -> bool:
        return bool(self.kinds.any())

    @property
    def borrowers(self) -> np.ndarray:
        """0-based indices of the users with a debt, increasing."""
        pos = np.flatnonzero(self.kinds)
        return np.unique(np.searchsorted(self.indptr, pos.astype(np.uint64), side="right") - 1)

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_assets(self) -> int:
        return len(self.listings)

    @property
    def num_entries(self) -> int:
        return int(self.amounts.shape[0])

    def __len__(self) -> int:
        return len(self.user_ids)

    def _of_kind(self, i: int, kind: int) -> List[Tuple[int, int]]:
        lo, hi = int(self.indptr[i]), int(self.indptr[i + 1])
        return [(j, v) for j, v, k in zip(self.asset_index[lo:hi].tolist(), self.amounts[lo:hi].tolist(),
                                          self.kinds[lo:hi].tolist()) if k == kind]

    def entries(self, i: int) -> List[Tuple[int, int]]:
        """``[(asset_index, amount), ...]``: user ``i``'s holdings (equity; 0-based)."""
        return self._of_kind(i, 0)

    def debts(self, i: int) -> List[Tuple[int, int]]:
        """``[(asset_index, amount), ...]``: what user ``i`` owes (0-based)."""
        return self._of_kind(i, 1)

    def _sums(self, kind: int) -> List[int]:
        total = [0] * self.num_assets
        for j, v, k in zip(self.asset_index.tolist(), self.amounts.tolist(), self.kinds.tolist()):
            if k == kind:
                total[j] += v
        return total

    def totals(self) -> List[int]:
        """Exact per-asset sums of the holdings (equity; Python ints)."""
        return self._sums(0)

    def debt_totals(self) -> List[int]:
        """Exact per-asset sums of the debts."""
        return self._sums(1)

    def to_ledger(self, max_bits: int) -> Ledger:
        """The same holdings as a :class:`Ledger` with range bound ``2**max_bits``; raises
        :class:`LedgerError` naming the first user (0-based row), asset and amount that do not
        fit (with the version-1 bound of 2^62 at most, most W3 workloads do not)."""
        max_bits = _check_max_bits(max_bits)
        over = np.flatnonzero(self.amounts >= (1 << max_bits))
        if over.size:
            pos = int(over[0])
            user = int(np.searchsorted(self.indptr, np.uint64(pos), side="right")) - 1
            raise LedgerError(f"is not below the range bound 2**{max_bits}", index=user,
                              column=self.listings[int(self.asset_index[pos])].name
                              + (".debt" if self.kinds[pos] else ""),
                              value=str(self.amounts[pos]))
        extra = {"kinds": self.kinds} if self.has_debt else {}  # a ledger without debt as before
        return Ledger.from_entries(self.user_ids, self.assets, self.indptr, self.asset_index,
                                   self.amounts, max_bits=max_bits, **extra)

    def amounts_as_ints(self, start: int = 0, stop: Optional[int] = None) -> List[int]:
        """The amounts of entries ``start:stop`` as Python ints (as :meth:`Ledger.amounts_as_ints`)."""
        return self.amounts[start:stop].tolist()


def _portfolio_usd(rng: np.random.Generator, n: int, m: PortfolioModel) -> np.ndarray:
    body = rng.lognormal(math.log(m.body_median_usd), m.body_sigma, size=n)
    in_tail = rng.random(n) < m.tail_fraction
    u = rng.random(n)
    # truncated Pareto by inverse CDF: F(x) = (1 - (xm/x)^a) / (1 - (xm/H)^a), xm <= x <= H
    keep = 1.0 - (m.tail_min_usd / MAX_PORTFOLIO_USD) ** m.tail_alpha
    tail = m.tail_min_usd * (1.0 - u * keep) ** (-1.0 / m.tail_alpha)
    return np.minimum(np.where(in_tail, tail, body), float(MAX_PORTFOLIO_USD))


def _units(micro: np.ndarray, ai: np.ndarray, listings: Sequence[Listing]) -> np.ndarray:
    """Exact smallest units for ``micro`` micro-dollars of asset ``ai`` (integer arithmetic
    only; rounded down, at least 1)."""
    mul, div = [], []
    for x in listings:
        num, den = x.price.as_integer_ratio()  # price = num / den dollars per whole token
        a, b = 10 ** x.decimals * den, num * MICRO
        g = math.gcd(a, b)
        mul.append(a // g)
        div.append(b // g)
    units = micro.astype(object) * np.array(mul, dtype=object)[ai] // np.array(div, dtype=object)[ai]
    units[units == 0] = 1
    return units


def draw_exchange(name: str, listings: Sequence[Listing], num_users: int, *,
                  model: PortfolioModel = PortfolioModel(), seed: int = 0) -> ExchangeWorkload:
    """Draw ``num_users`` users holding ``listings`` (see the module docstring)."""
    num_users = int(num_users)
    if num_users < 1:
        raise ValueError("num_users must be at least 1")
    listings = tuple(listings)
    cap = min(len(listings), MAX_HELD)
    if not 1.0 <= model.mean_held <= cap:
        raise ValueError(f"mean_held must be between 1 and {cap}")
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xE3C4]))
    usd = _portfolio_usd(rng, num_users, model)
    held = held_counts(rng, num_users, model.mean_held, cap)
    ip, ai = choose_assets(rng, held, np.array([x.popularity for x in listings], dtype=np.float64))
    owner = np.repeat(np.arange(num_users, dtype=np.int64), held)
    g = np.maximum(rng.gamma(model.split_shape, size=ai.shape[0]), 1e-300)  # never 0/0
    share = g / np.bincount(owner, weights=g, minlength=num_users)[owner]
    micro = np.floor(usd[owner] * share * MICRO).astype(np.int64)
    amounts = _units(micro, ai, listings)
    width = max(7, len(str(num_users)))
    user_ids = [f"user-{i:0{width}d}" for i in range(1, num_users + 1)]
    ip = ip.astype(np.uint64)
    for a in (ip, ai, amounts, usd):
        a.flags.writeable = False
    return ExchangeWorkload(name, listings, user_ids, ip, ai, amounts, usd)
