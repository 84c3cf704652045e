"""What a workload adds up to: totals per asset with their USD value (exact), entries per user,
and how many amounts reach 2^62 (the version-1 circuit's bound) and 2^64 (a ``uint64``)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Context, Decimal, Inexact
from typing import Mapping, Optional, Tuple

import numpy as np

from ..ledger import format_amount

__all__ = ["AssetTotal", "WorkloadSummary", "summarize", "usd_value", "REFERENCE_PRICES"]

# Exact whatever the size: a 60-digit product needs 60 digits of precision; Inexact traps.
_EXACT = Context(prec=400, traps=[Inexact])

# Reference prices of W1's tickers that W3 does not list (W1/W2 have no prices of their own).
_EXTRA_REFERENCE = {"DAI": Decimal("1.0000"), "ETC": Decimal("17.85"), "MATIC": Decimal("0.2475")}


def _reference_prices() -> Mapping[str, Decimal]:
    from .listings import W3_LISTINGS

    return {**{x.name: x.price for x in W3_LISTINGS}, **_EXTRA_REFERENCE}


REFERENCE_PRICES: Mapping[str, Decimal] = _reference_prices()


def usd_value(units: int, decimals: int, price: Decimal) -> Decimal:
    """``units`` smallest units at ``price`` USD per whole token, exactly (no rounding)."""
    _, digits, exponent = price.as_tuple()
    if not isinstance(exponent, int) or price <= 0:
        raise ValueError(f"a price must be a positive finite Decimal, not {price}")
    num = int("".join(map(str, digits)))
    return _EXACT.scaleb(Decimal(units * num), exponent - decimals)


@dataclass(frozen=True)
class AssetTotal:
    name: str
    decimals: int
    holders: int
    units: int  # exact total in smallest units (equity)
    usd: Optional[Decimal]  # exact, or None without a price
    debt_units: int = 0  # exact total owed, smallest units
    debt_usd: Optional[Decimal] = None

    @property
    def display(self) -> str:
        return format_amount(self.units, self.decimals) or "0"


@dataclass(frozen=True)
class WorkloadSummary:
    name: str
    users: int
    entries: int
    max_held: int
    at_least_2_62: int
    at_least_2_64: int
    max_amount_bits: int
    assets: Tuple[AssetTotal, ...]
    borrowers: int = 0
    debts: int = 0  # debt entries (``entries`` counts holdings and debts)

    @property
    def entries_per_user(self) -> float:
        return self.entries / self.users

    @property
    def usd(self) -> Optional[Decimal]:
        total = Decimal(0)
        for a in self.assets:
            if a.units:
                if a.usd is None:
                    return None
                total = _EXACT.add(total, a.usd)
        return total

    def format(self, top: Optional[int] = None) -> str:
        """A plain-text table; ``top`` limits it to the assets of largest USD value (then units)."""
        rows = sorted(self.assets, key=lambda a: (a.usd is not None, a.usd or 0, a.units), reverse=True)
        rows = rows[:top] if top else rows
        total = self.usd
        lines = [
            f"{self.name}: {self.users:,} users, {self.entries:,} balances "
            f"({self.entries_per_user:.2f} per user, at most {self.max_held})",
            f"amounts >= 2^62: {self.at_least_2_62:,}   >= 2^64: {self.at_least_2_64:,}   "
            f"largest amount: {self.max_amount_bits} bits",
            "total USD: " + ("n/a (unpriced assets)" if total is None else f"{total:,f}"),
        ]
        if self.borrowers:
            debt = self.debt_usd
            lines.append(f"borrowers: {self.borrowers:,} ({self.debts:,} debts), owing "
                         + ("n/a (unpriced assets)" if debt is None else f"{debt:,f} USD"))
        lines.append(f"{'asset':<8} {'holders':>9} {'total':>34}  USD value (exact)")
        for a in rows:
            usd = "n/a" if a.usd is None else f"{a.usd:,f}"
            owed = ""
            if a.debt_units:
                owed = f"  owed {format_amount(a.debt_units, a.decimals)}"
            lines.append(f"{a.name:<8} {a.holders:>9,} {a.display:>34}  {usd}{owed}")
        return "\n".join(lines)

    @property
    def debt_usd(self) -> Optional[Decimal]:
        total = Decimal(0)
        for a in self.assets:
            if a.debt_units:
                if a.debt_usd is None:
                    return None
                total = _EXACT.add(total, a.debt_usd)
        return total


def summarize(ledger, name: str = "", prices: Optional[Mapping[str, Decimal]] = None) -> WorkloadSummary:
    """Summary of a ``Ledger`` or ``ExchangeWorkload``. Prices: ``prices``, else the workload's
    own, else :data:`REFERENCE_PRICES` (to show what W1's totals would be worth)."""
    if prices is None:
        prices = getattr(ledger, "prices", None) or REFERENCE_PRICES
    name = name or getattr(ledger, "name", "") or "ledger"
    am = np.array(ledger.amounts_as_ints(), dtype=object)
    kinds = getattr(ledger, "kinds", None)
    debt = np.zeros(am.shape[0], dtype=bool) if kinds is None else kinds == 1
    ip = ledger.indptr.astype(np.int64)
    owner = np.repeat(np.arange(ledger.num_users, dtype=np.int64), np.diff(ip))
    held = np.bincount(owner[~debt], minlength=ledger.num_users)
    holders = np.bincount(ledger.asset_index[~debt], minlength=ledger.num_assets)
    owed = ledger.debt_totals() if debt.any() else [0] * ledger.num_assets
    rows = []
    for a, total, h, d in zip(ledger.assets, ledger.totals(), holders.tolist(), owed):
        p = prices.get(a.name)
        rows.append(AssetTotal(a.name, a.decimals, h, total, None if p is None else usd_value(total, a.decimals, p),
                               d, None if p is None or not d else usd_value(d, a.decimals, p)))
    return WorkloadSummary(
        name=name, users=ledger.num_users, entries=ledger.num_entries,
        max_held=int(held.max()) if held.size else 0,
        at_least_2_62=int(np.count_nonzero(am >= 1 << 62)),
        at_least_2_64=int(np.count_nonzero(am >= 1 << 64)),
        max_amount_bits=int(max(am.tolist(), default=0)).bit_length(),
        assets=tuple(rows),
        borrowers=int(np.unique(owner[debt]).size), debts=int(np.count_nonzero(debt)),
    )
