"""Borrowers for the exchange workloads: debts at native decimals, and the round's prices and
haircuts (statement version 3, issue 11).

**Haircuts by liquidity tier** (:func:`haircut_of`): stablecoins 0–2 %, BTC and ETH 5–10 %, the
other large and mid caps 20–30 %, meme and long-tail tokens 50–100 % (W4's tail tokens by
popularity rank: the most popular at 50 %, the least at 100 %, i.e. worth nothing as
collateral). The round's prices file (:func:`margin_prices`, written as ``margin_prices.csv``,
``asset,price,haircut``) carries each listing's USD price and its haircut as exact decimals.

**Who borrows and how much** (:func:`add_borrowers`, numpy, seeded apart from the holdings so
that a workload with borrowers holds exactly what the same workload without them holds):

1. Each user's collateral value is computed exactly, as the circuit does: ``Σ c·e`` with
   ``c = ⌊price·(1 − haircut)·10^(27 − decimals)⌋`` per smallest unit (units of 10^-27 USD).
2. ``round(fraction·N)`` borrowers are drawn without replacement among the users whose
   collateral is worth at least ``min_collateral_usd`` after haircuts, with weight
   ``1 + log10(value in USD)`` (margin traders skew to larger accounts; whales borrow too, dust
   never does).
3. Each borrower owes one asset, or two with probability ``second_debt``, drawn with
   :data:`DEBT_WEIGHTS` (mostly USDT/USDC, then BTC, ETH, a few large caps); the debt may be in
   an asset the borrower also holds (borrowed USDT not yet spent).
4. The debt's value is a uniform ``10 … 70 %`` of the collateral value (whole parts per
   million), split between two debts by a uniform 20 … 80 % share, and converted to smallest
   units rounded **down** with the debt coefficient ``d = ⌈price·10^(27 − decimals)⌉``: so
   ``Σ d·debt ≤ 0.7·Σ c·e`` for every borrower — each one covered at the file's prices and
   haircuts, exactly, with the circuit's own rounding.

Entries stay sorted per user by ``(asset, kind)`` (kind 0 equity, 1 debt), as ``Ledger.kinds``
requires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .listings import Listing

__all__ = ["BorrowModel", "add_borrowers", "haircut_of", "margin_prices", "coefficients",
           "DEBT_WEIGHTS", "HAIRCUTS", "VALUE_UNIT_EXP", "EQUITY", "DEBT"]

#: Coefficients are in units of 10^-VALUE_UNIT_EXP USD (INTERFACE §1: 27 for every round made now).
VALUE_UNIT_EXP = 27
EQUITY, DEBT = 0, 1  # Ledger.kinds

#: Haircut of each W3 listing, by liquidity tier (a fraction: 0.05 is 5 %).
HAIRCUTS: Mapping[str, Decimal] = {
    **{k: Decimal(v) for k, v in {"USDC": "0", "USDT": "0.01"}.items()},  # stablecoins
    **{k: Decimal(v) for k, v in {"BTC": "0.05", "ETH": "0.08"}.items()},  # the majors
    **{k: Decimal("0.2") for k in ("SOL", "XRP", "BNB")},  # large caps
    **{k: Decimal("0.25") for k in ("DOGE", "ADA", "TRX", "LINK", "LTC", "BCH", "AVAX")},
    **{k: Decimal("0.3") for k in ("TON", "DOT", "POL", "UNI", "ATOM", "XLM")},  # mid caps
    **{k: Decimal(v) for k, v in {"SHIB": "0.5", "PEPE": "0.6"}.items()},  # memes: illiquid in size
}
_TAIL_HAIRCUT = (Decimal("0.5"), Decimal("1"))  # W4's long tail, most to least popular

#: Relative chance that a debt is in this asset (assets not listed here are never borrowed).
DEBT_WEIGHTS: Mapping[str, float] = {
    "USDT": 40, "USDC": 18, "BTC": 16, "ETH": 14, "SOL": 3, "BNB": 2, "XRP": 2, "DOGE": 2,
    "LINK": 1, "LTC": 1, "ADA": 1,
}


@dataclass(frozen=True)
class BorrowModel:
    """Parameters of :func:`add_borrowers` (see the module docstring)."""

    fraction: float = 0.1
    min_ratio_ppm: int = 100_000  # debt value ≥ 10 % of the collateral value after haircuts
    max_ratio_ppm: int = 700_000  # … and ≤ 70 %
    second_debt: float = 0.2
    min_collateral_usd: int = 10

    def __post_init__(self) -> None:
        if not (0.0 <= self.fraction <= 1.0 and 0 < self.min_ratio_ppm <= self.max_ratio_ppm < 10**6
                and 0.0 <= self.second_debt <= 1.0 and self.min_collateral_usd >= 1):
            raise ValueError(f"invalid borrow model {self}")


def haircut_of(listing: Listing, rank: int = 0, tail: int = 1) -> Decimal:
    """The haircut of ``listing``: its tier's (:data:`HAIRCUTS`), else (a long-tail token of
    popularity ``rank`` among ``tail``) 50 % for the most popular rising to 100 % for the
    least, in steps of 5 %."""
    if listing.name in HAIRCUTS:
        return HAIRCUTS[listing.name]
    lo, hi = _TAIL_HAIRCUT
    step = (hi - lo) * rank / max(tail - 1, 1)
    return lo + (step / Decimal("0.05")).to_integral_value() * Decimal("0.05")


def _canonical(d: Decimal) -> str:
    """``96250.00`` → ``96250``, ``0.050`` → ``0.05`` (INTERFACE §1's canonical decimal)."""
    return format(d.normalize(), "f")


def margin_prices(listings: Sequence[Listing]) -> Dict[str, Tuple[str, str]]:
    """``{asset: (price, haircut)}`` for every listing, canonical decimal strings: the round's
    prices file (``asset,price,haircut``)."""
    tail = [x for x in listings if x.name not in HAIRCUTS]
    rank = {x.name: r for r, x in enumerate(sorted(tail, key=lambda x: -x.popularity))}
    return {x.name: (_canonical(x.price), _canonical(haircut_of(x, rank.get(x.name, 0), len(tail))))
            for x in listings}


def coefficients(price: str, haircut: str, decimals: int, unit_exp: int = VALUE_UNIT_EXP) -> Tuple[int, int]:
    """``(c, d)`` of one asset, exactly as the circuit folds them: the collateral value of one
    smallest unit after the haircut, rounded down, and its debt value, rounded up (10^-unit_exp USD)."""
    p, h = Fraction(price), Fraction(haircut)
    scale = Fraction(10) ** (unit_exp - decimals)
    return math.floor(p * (1 - h) * scale), math.ceil(p * scale)


def _debt_picks(rng: np.random.Generator, weights: np.ndarray, k: int, second: np.ndarray) -> List[Tuple[int, ...]]:
    """Per borrower, one or two distinct debt assets drawn with ``weights``."""
    cdf = np.cumsum(weights) / weights.sum()
    first = np.minimum(np.searchsorted(cdf, rng.random(k), side="right"), len(weights) - 1)
    other = np.minimum(np.searchsorted(cdf, rng.random(k), side="right"), len(weights) - 1)
    # a repeat of the first asset draws again from the others (successive sampling)
    again = rng.random(k)
    out = []
    for i in range(k):
        a = int(first[i])
        if not second[i]:
            out.append((a,))
            continue
        b = int(other[i])
        if b == a:
            w = weights.copy()
            w[a] = 0.0
            c = np.cumsum(w) / w.sum()
            b = min(int(np.searchsorted(c, again[i], side="right")), len(w) - 1)
        out.append(tuple(sorted((a, b))))
    return out


def add_borrowers(w, fraction: float = 0.1, *, seed: int = 0, model: Optional[BorrowModel] = None):
    """``w`` (an :class:`~stark_por.workloads.ExchangeWorkload` without debt) with
    ``round(fraction·N)`` of its users borrowing (see the module docstring); the holdings are
    unchanged. Fewer borrowers only when fewer users have ``min_collateral_usd`` of collateral."""
    model = replace(model or BorrowModel(), fraction=fraction)
    if bool(np.any(w.kinds)):
        raise ValueError(f"workload {w.name} already has debts")
    listings = w.listings
    prices = margin_prices(listings)
    coef = [coefficients(*prices[x.name], x.decimals) for x in listings]
    c = np.array([cd[0] for cd in coef], dtype=object)
    d = [cd[1] for cd in coef]
    n = w.num_users
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xDEB7]))

    ip = w.indptr.astype(np.int64)
    value = np.add.reduceat(w.amounts * c[w.asset_index.astype(np.int64)], ip[:-1])  # exact, object
    floor = model.min_collateral_usd * 10**VALUE_UNIT_EXP
    eligible = np.flatnonzero(value >= floor)
    k = min(int(round(model.fraction * n)), int(eligible.size))
    usd = np.array([float(v) for v in value[eligible]]) / 10.0**VALUE_UNIT_EXP
    weight = 1.0 + np.log10(usd)
    # weighted sampling without replacement: the k largest log(u)/w (Efraimidis–Spirakis)
    key = np.log(rng.random(eligible.size)) / weight
    chosen = np.sort(eligible[np.argpartition(-key, k - 1)[:k]]) if k else np.zeros(0, np.int64)

    names = [x.name for x in listings]
    dw = np.array([float(DEBT_WEIGHTS.get(x, 0.0)) for x in names])
    if k and not dw.any():
        raise ValueError(f"workload {w.name} lists none of the assets debts are drawn in")
    second = rng.random(k) < model.second_debt
    picks = _debt_picks(rng, dw, k, second)
    ratio = rng.integers(model.min_ratio_ppm, model.max_ratio_ppm + 1, size=k)
    split = rng.integers(200_000, 800_001, size=k)

    owner: List[int] = []
    asset: List[int] = []
    amount: List[int] = []
    for i, u in enumerate(chosen.tolist()):
        target = value[u] * int(ratio[i]) // 10**6  # the debt's value, 10^-27 USD
        parts = [target] if len(picks[i]) == 1 else \
            [target * int(split[i]) // 10**6, target - target * int(split[i]) // 10**6]
        for a, part in zip(picks[i], parts):
            units = part // d[a]  # rounded down: never worth more than its part
            if units:
                owner.append(u)
                asset.append(a)
                amount.append(units)
    return _merged(w, np.array(owner, np.int64), np.array(asset, np.int64), amount)


def _merged(w, owner: np.ndarray, asset: np.ndarray, amount: List[int]):
    """``w`` with debt entries ``(owner, asset, amount)`` added, entries sorted by user then
    ``(asset, kind)``."""
    k = w.num_assets
    ip = w.indptr.astype(np.int64)
    eq_owner = np.repeat(np.arange(w.num_users, dtype=np.int64), np.diff(ip))
    all_owner = np.concatenate([eq_owner, owner])
    tag = np.concatenate([2 * w.asset_index.astype(np.int64), 2 * asset + DEBT])
    order = np.argsort(all_owner * (2 * k) + tag, kind="stable")
    amounts = np.empty(len(all_owner), dtype=object)
    amounts[: w.num_entries] = w.amounts
    amounts[w.num_entries:] = amount
    indptr = np.zeros(w.num_users + 1, dtype=np.uint64)
    np.cumsum(np.bincount(all_owner, minlength=w.num_users), out=indptr[1:])
    tag = tag[order]
    arrays = ((tag >> 1).astype(np.uint32), amounts[order], (tag & 1).astype(np.uint8), indptr)
    for a in arrays:
        a.flags.writeable = False
    ai, am, kinds, indptr = arrays
    return replace(w, indptr=indptr, asset_index=ai, amounts=am, kinds=kinds)
