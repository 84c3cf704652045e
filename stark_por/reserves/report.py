"""Proof of reserves: a verified liabilities statement + reserves wallets -> :class:`SolvencyReport`.

:func:`report` counts, per asset, only the wallets whose ownership signature
verifies for *this* round (see :func:`stark_por.reserves.ownership.challenge_message`),
compares them with the liabilities the STARK proof established, and names
every wallet it did not count and why.  The verdict passes when every asset
with liabilities is covered (verified reserves ≥ liabilities, compared as exact
integers in smallest units).

Balances: given a node per chain (``chains={"ethereum": URL, …}``), every
counted wallet's balance is read from the chain at the wallet's snapshot block
(:mod:`stark_por.reserves.chains`); a wallet whose on-chain balance differs from
the declared one counts at its on-chain value and is flagged.  Without a node
a balance is as the reserves file declares it, and the report says so.

Prices: given a prices file (:mod:`stark_por.reserves.prices`), liabilities,
reserves and surplus are valued in USD per asset and in total, exactly.

Margin (statement version 3): users may owe assets as well as hold them. The proof publishes,
per asset, the exact total of what customers hold (equity) and of what they owe (debt), and
proves every borrower's debt covered by their own holdings after the round's haircuts. What the
exchange must hold of an asset is then the **net** customer liability, equity − debt
(:func:`liabilities_of`). A net can be negative: customers as a whole owe the exchange more of
that asset than they hold in it (the exchange lent out its own coins). The reserves needed for
such an asset are **0** — ``max(net, 0)``, what :attr:`AssetResult.liabilities_units` holds —
and the shortfall customers owe is never counted as reserves of that or any other asset: it is
a claim on the borrowers, backed by their collateral, not coins in the exchange's wallets.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal, Inexact, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ..errors import PricesError, ReservesError, UnverifiedStatementError
from ..ledger import format_amount
from ..proof import Statement, atomic_write
from . import prices as _prices
from .chains import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Reading, connect, native_asset
from .ownership import CHAINS, EVM_CHAINS, AddressError, check_signature, challenge_message, parse_address
from .prices import Price, Prices
from .wallets import Reserves, Wallet, demo_wallets, load

__all__ = ["report", "SolvencyReport", "AssetResult", "WalletResult", "Flag", "write_demo_report",
           "WALLET_STATUSES", "liabilities_of", "statement_fingerprint", "REPORT_FORMAT", "REPORT_VERSION",
           "REPORT_VERSIONS", "MarginTerms", "margin_terms", "MARGIN_MEANING"]

#: The JSON report's ``format`` and ``version`` (2: on-chain balances, USD, fingerprint;
#: 3: ``margin``, the equity, debt and net per asset and the prices and haircuts of a
#: version-3 statement, ``null`` for earlier statements). :mod:`.history` reads 2 and 3.
REPORT_FORMAT = "stark-por reserves report"
REPORT_VERSION = 3
REPORT_VERSIONS = (2, 3)

#: What a version-3 statement's numbers mean, in plain words (the report shows it beside them).
MARGIN_MEANING = (
    "Customers may borrow: a user can owe an asset (a debt) as well as hold assets (equity). "
    "The liabilities proof publishes, for every asset, the exact total customers hold and the exact "
    "total they owe, and proves for every user who owes anything that what they hold, valued at the "
    "round's prices after each asset's haircut, is worth at least what they owe at those prices. "
    "A haircut is the share of an asset's value that does not count as collateral (5 % on BTC: "
    "$100 of BTC backs at most $95 of debt), larger for assets that are harder to sell. "
    "The exchange owes its customers the net of each asset, held minus owed, so its reserves are "
    "compared with that net. Where customers owe more of an asset than they hold (a negative net), "
    "no reserves of it are needed (0), and what they owe is not counted as reserves: it is a claim "
    "on the borrowers, backed by their collateral, not coins in the exchange's wallets."
)

PathLike = Union[str, "os.PathLike[str]"]

#: Why a wallet is or is not counted, in words (the keys are ``WalletResult.status``).
WALLET_STATUSES = {
    "verified": "ownership verified for this round",
    "unsigned": "no ownership signature",
    "bad_signature": "signature does not verify",
    "other_round": "signature is for another round",
    "other_message": "signature is for another message",
    "other_address": "signature is for or by another address",
    "unsupported_address": "address kind cannot sign messages",
    "invalid_address": "not a valid address on its chain",
    "unknown_chain": "chain not supported",
    "unknown_asset": "asset not in the liabilities statement",
    "duplicate": "duplicate of an earlier wallet",
    "too_many_decimals": "balance has more decimals than the asset",
}

_RATIO_DIGITS = 40  # significant digits of AssetResult.ratio (rounded down)
# Products and sums of exact decimals stay exact: a result that would need rounding raises Inexact.
_EXACT = Context(prec=400, traps=[Inexact])


def ratio_of(verified_units: int, liabilities_units: int) -> Optional[Decimal]:
    """Reserves ÷ liabilities to 40 significant digits, rounded down (never overstated);
    ``None`` when nothing is owed."""
    if liabilities_units == 0:
        return None
    with localcontext(Context(prec=_RATIO_DIGITS, rounding=ROUND_FLOOR)):
        return Decimal(verified_units) / Decimal(liabilities_units)


def percent_of(ratio: Optional[Decimal]) -> str:
    """``"104.99%"`` (rounded down to 2 places), or ``"n/a"``."""
    if ratio is None:
        return "n/a"
    with localcontext(Context(prec=_RATIO_DIGITS + 10, rounding=ROUND_FLOOR)):
        return f"{(ratio * 100).quantize(Decimal('0.01')):,f}%"


def balances_basis(read: int, counted: int) -> str:
    """What the counted balances rest on, in words, when ``read`` of ``counted`` were read on-chain."""
    if counted and read == counted:
        return "balances checked on-chain at each wallet's snapshot block"
    if read == 0:
        return "balances as declared by the exchange (not checked on-chain)"
    return f"{read} of {counted} counted balances checked on-chain, the rest as declared"


def liabilities_of(statement: Statement) -> Dict[str, int]:
    """What the exchange owes its customers in each asset, in smallest units: the proven
    per-asset totals of customer balances (statement versions 1 and 2), or for a version-3
    statement the **net** customer liability, equity total − debt total, which is negative when
    customers owe more of the asset than they hold in it. The reserves needed are
    ``max(net, 0)`` (:attr:`AssetResult.liabilities_units`; see the module docstring). The one
    place this figure is chosen."""
    if statement.statement_version >= 3:
        return {a.name: statement.totals[a.name] - statement.debt_totals[a.name] for a in statement.assets}
    return {a.name: statement.totals[a.name] for a in statement.assets}


@dataclass(frozen=True)
class MarginTerms:
    """One asset of a version-3 statement: what customers hold (equity) and owe (debt) in it,
    exactly, and the round's price (USD per whole token) and haircut for it (``None``: unpriced,
    worth nothing as collateral and owed by nobody)."""

    equity_units: int
    debt_units: int
    price: Optional[str] = None
    haircut: Optional[str] = None

    @property
    def net_units(self) -> int:
        """Equity − debt: what the exchange owes its customers in this asset (negative when
        customers owe it more than they hold)."""
        return self.equity_units - self.debt_units

    @property
    def required_units(self) -> int:
        """The reserves this asset needs: ``max(net, 0)``."""
        return max(self.net_units, 0)

    def usd(self, units: int, decimals: int) -> Optional[Decimal]:
        """``units`` of this asset at the statement's price, exactly; ``None`` when unpriced."""
        if self.price is None:
            return None
        with localcontext(_EXACT):
            value = _dec(abs(units), decimals) * Decimal(self.price)
            return -value if units < 0 else value

    def to_dict(self, decimals: int) -> dict:
        def amount(units: int) -> str:
            text = format_amount(abs(units), decimals) or "0"
            return "-" + text if units < 0 else text

        d = {"equity": amount(self.equity_units), "equity_units": str(self.equity_units),
             "debt": amount(self.debt_units), "debt_units": str(self.debt_units),
             "net": amount(self.net_units), "net_units": str(self.net_units),
             "price": self.price, "haircut": self.haircut, "usd": None}
        if self.price is not None:
            d["usd"] = {k: format(self.usd(u, decimals), "f") for k, u in
                        (("equity", self.equity_units), ("debt", self.debt_units), ("net", self.net_units))}
        return d


def margin_terms(statement: Statement) -> Optional[Dict[str, MarginTerms]]:
    """Per asset, the equity, debt, price and haircut of a version-3 statement; ``None`` for
    earlier statements (no debt, no prices)."""
    if statement.statement_version < 3:
        return None
    out = {}
    for a in statement.assets:
        price, haircut = statement.prices.get(a.name, (None, None))
        out[a.name] = MarginTerms(statement.totals[a.name], statement.debt_totals[a.name], price, haircut)
    return out


def statement_fingerprint(round_id: str, range_bits: int, num_leaves: int, root: str,
                          assets: Sequence[Tuple[str, int, int]], statement_version: int = 1,
                          margin: Optional[Tuple[int, Sequence[Tuple[int, Optional[Tuple[str, str]]]]]] = None) -> str:
    """:attr:`Statement.fingerprint` of the statement with these published fields, by the Rust
    core: ``assets`` is ``[(name, decimals, total_units), …]`` in statement order (equity
    totals), ``root`` hex, under ``statement_version`` (1, 2 for rounds of amounts up to 2^112,
    3 with ``margin``: ``(value_unit_exp, [(debt_total_units, None | (price, haircut)), …])``
    in statement order).

    A report carries its statement's fingerprint so that a track record cannot mix in a report of
    another round (:mod:`.history` recomputes it). Raises :class:`ValueError` for fields no
    statement can have.
    """
    from .. import _native

    totals = [(name, decimals, _le_bytes(total)) for name, decimals, total in assets]
    args = (round_id, range_bits, num_leaves, bytes.fromhex(root), totals)
    if margin is not None:
        unit_exp, terms = margin
        args += ((unit_exp, [(_le_bytes(debt), None if term is None else tuple(term)) for debt, term in terms]),)
    return _native.statement_fingerprint(args, statement_version).hex()


def _le_bytes(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "little")


def _dec(units: int, decimals: int) -> Decimal:
    """``units`` smallest units as an exact Decimal (no context rounding)."""
    return Decimal(format_amount(units, decimals) or "0")


def _grouped(d: Decimal) -> str:
    return format(d, ",f")


def _usd_of(amount: Decimal, price: Price) -> Decimal:
    with localcontext(_EXACT):
        return amount * price.usd_price


@dataclass(frozen=True)
class WalletResult:
    """How one wallet of the reserves file was judged.

    ``reading`` is its balance as read from the chain at its snapshot block (``None`` when not
    read); ``units`` what it counts for, in the asset's smallest units (the on-chain balance
    when read, else the declared one; ``None`` when not counted).
    """

    wallet: Wallet
    status: str
    detail: str
    counted: bool
    address: Optional[str] = None  # canonical form, when the address parsed
    signer: Optional[str] = None
    reading: Optional[Reading] = None
    units: Optional[int] = None
    balance_check: str = "not_checked"  # "matches", "differs" or "not_checked"
    balance_detail: str = "not checked (no node given)"

    @property
    def balance(self) -> Decimal:
        """The balance this wallet stands for: on-chain when read, else as declared."""
        return self.reading.balance if self.reading is not None else self.wallet.balance

    def to_dict(self) -> dict:
        w = self.wallet
        return {
            "asset": w.asset, "chain": w.chain, "address": self.address or w.address,
            "balance": w.balance_text, "block": w.block, "time": w.time, "label": w.label, "token": w.token,
            "status": self.status, "counted": self.counted, "detail": self.detail,
            "signer": self.signer, "source": w.source,
            "balance_check": self.balance_check, "balance_detail": self.balance_detail,
            "on_chain": None if self.reading is None else self.reading.to_dict(),
        }


@dataclass(frozen=True)
class AssetResult:
    """One asset: liabilities (from the proof), verified and unverified reserves, ratio, pass/fail,
    and with a price, the same in USD.

    ``liabilities_units`` is what the reserves must cover: the customers' total (versions 1 and
    2), or for a version-3 statement ``max(net, 0)``, with ``margin`` holding its equity, debt,
    net, price and haircut."""

    asset: str
    decimals: int
    liabilities_units: int
    verified_units: int
    unverified: Decimal
    wallets_verified: int
    wallets_listed: int
    price: Optional[Price] = None
    margin: Optional[MarginTerms] = None

    @property
    def liabilities(self) -> Decimal:
        return _dec(self.liabilities_units, self.decimals)

    @property
    def verified(self) -> Decimal:
        return _dec(self.verified_units, self.decimals)

    @property
    def liabilities_usd(self) -> Optional[Decimal]:
        return None if self.price is None else _usd_of(self.liabilities, self.price)

    @property
    def verified_usd(self) -> Optional[Decimal]:
        return None if self.price is None else _usd_of(self.verified, self.price)

    @property
    def surplus_usd(self) -> Optional[Decimal]:
        """Verified reserves − liabilities, in USD (negative when short)."""
        if self.price is None:
            return None
        with localcontext(_EXACT):
            return self.verified_usd - self.liabilities_usd

    @property
    def ratio_fraction(self) -> Optional[Fraction]:
        """Verified reserves ÷ liabilities, exactly; ``None`` when nothing is owed."""
        if self.liabilities_units == 0:
            return None
        return Fraction(self.verified_units, self.liabilities_units)

    @property
    def ratio(self) -> Optional[Decimal]:
        """Verified reserves ÷ liabilities to 40 significant digits, rounded down
        (never overstated); ``None`` when nothing is owed."""
        return ratio_of(self.verified_units, self.liabilities_units)

    @property
    def percent(self) -> str:
        """The ratio in percent, rounded down to 2 places (``"104.99%"``), or ``"n/a"``."""
        return percent_of(self.ratio)

    @property
    def passed(self) -> bool:
        """Covered: verified reserves ≥ liabilities (exact integer comparison)."""
        return self.verified_units >= self.liabilities_units

    def to_dict(self) -> dict:
        ratio = self.ratio
        d = {
            "asset": self.asset, "decimals": self.decimals,
            "liabilities": str(self.liabilities), "liabilities_units": str(self.liabilities_units),
            "verified_reserves": str(self.verified), "unverified_reserves": str(self.unverified),
            "ratio": None if ratio is None else str(ratio), "percent": self.percent,
            "passed": self.passed,
            "wallets_verified": self.wallets_verified, "wallets_listed": self.wallets_listed,
            "usd": None,
        }
        if self.price is not None:
            d["usd"] = {"price": format(self.price.usd_price, "f"), "liabilities": format(self.liabilities_usd, "f"),
                        "verified_reserves": format(self.verified_usd, "f"),
                        "surplus": format(self.surplus_usd, "f")}
        d["margin"] = None if self.margin is None else self.margin.to_dict(self.decimals)
        return d


@dataclass(frozen=True)
class Flag:
    """Something the reader should know: ``kind`` (a wallet status, ``"no_reserves"``,
    ``"not_covered"``, ``"mixed_snapshots"``, ``"other_round"``, ``"balance_differs"`` or
    ``"unpriced"``), what it is about, and a sentence."""

    kind: str
    subject: str
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


def _is_web_link(url: str) -> bool:
    """An http(s) URL or a relative path, with nothing that could end a Markdown or HTML link."""
    import re
    from urllib.parse import urlsplit

    return (isinstance(url, str) and re.fullmatch(r"[^\s<>\"'()\\`]+", url) is not None
            and urlsplit(url).scheme in ("", "http", "https"))


@dataclass(frozen=True)
class SolvencyReport:
    """The outcome of :func:`report`; render it with :meth:`to_json`,
    :meth:`to_markdown` or :meth:`to_html`, or :meth:`save` by file suffix."""

    exchange: Optional[str]
    statement: Statement
    assets: Tuple[AssetResult, ...]
    wallets: Tuple[WalletResult, ...]
    flags: Tuple[Flag, ...]
    prices: Optional[Prices] = None
    #: Where users check their own inclusion: the URL (or relative path) of the page
    #: ``stark-por page`` writes for this round; the HTML and Markdown reports link to it.
    inclusion_page: Optional[str] = None

    def __post_init__(self) -> None:
        if self.inclusion_page is not None and not _is_web_link(self.inclusion_page):
            raise ValueError(f"inclusion_page must be an http(s) URL or a relative path, not {self.inclusion_page!r}")

    @property
    def round_id(self) -> str:
        return self.statement.round_id

    @property
    def fingerprint(self) -> str:
        """The statement fingerprint of the liabilities this report judged against."""
        return self.statement.fingerprint

    @property
    def passed(self) -> bool:
        """Every asset with liabilities is covered by verified reserves."""
        return all(a.passed for a in self.assets if a.liabilities_units > 0)

    @property
    def uncovered(self) -> Tuple[AssetResult, ...]:
        return tuple(a for a in self.assets if not a.passed)

    @property
    def checked_on_chain(self) -> Tuple[int, int]:
        """``(counted wallets whose balance was read on-chain, counted wallets)``."""
        counted = self.counted()
        return sum(w.reading is not None for w in counted), len(counted)

    @property
    def balances_basis(self) -> str:
        """Whether the counted balances were read on-chain or are as declared, in words."""
        return balances_basis(*self.checked_on_chain)

    @property
    def verdict(self) -> str:
        """One sentence, e.g. ``"PASS: all 22 assets … covered by verified reserves; balances checked on-chain …"``."""
        owed = [a for a in self.assets if a.liabilities_units > 0]
        if self.passed:
            return (f"PASS: all {len(owed)} assets with liabilities are covered by verified reserves; "
                    f"{self.balances_basis}")
        bad = ", ".join(f"{a.asset} ({a.percent})" for a in self.uncovered)
        return (f"FAIL: {len(self.uncovered)} of {len(owed)} assets are not covered by verified reserves: {bad}; "
                f"{self.balances_basis}")

    def counted(self) -> Tuple[WalletResult, ...]:
        return tuple(w for w in self.wallets if w.counted)

    @property
    def usd_totals(self) -> Optional[Dict[str, Decimal]]:
        """``{"liabilities", "verified_reserves", "surplus"}`` in USD over the priced assets
        (every asset with liabilities is priced); ``None`` without prices."""
        if self.prices is None:
            return None
        priced = [a for a in self.assets if a.price is not None]
        with localcontext(_EXACT):
            liabilities = sum((a.liabilities_usd for a in priced), Decimal(0))
            reserves = sum((a.verified_usd for a in priced), Decimal(0))
            return {"liabilities": liabilities, "verified_reserves": reserves, "surplus": reserves - liabilities}

    @property
    def margin_usd_totals(self) -> Optional[Dict[str, Decimal]]:
        """``{"equity", "debt", "net"}`` in USD at the statement's own prices, over its priced
        assets (a debt is only ever in a priced asset); ``None`` before statement version 3."""
        if self.statement.statement_version < 3:
            return None
        priced = [a for a in self.assets if a.margin is not None and a.margin.price is not None]
        with localcontext(_EXACT):
            out = {k: sum((a.margin.usd(getattr(a.margin, f"{k}_units"), a.decimals) for a in priced), Decimal(0))
                   for k in ("equity", "debt")}
            out["net"] = out["equity"] - out["debt"]
        return out

    # ------------------------------------------------------------------ outputs

    def to_dict(self) -> dict:
        s = self.statement
        read, total = self.checked_on_chain
        usd = self.usd_totals
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "exchange": self.exchange,
            "round_id": s.round_id,
            "passed": self.passed,
            "verdict": self.verdict,
            "liabilities_proof": {"verified": True, "statement_version": s.statement_version,
                                  "fingerprint": self.fingerprint, "root": s.root,
                                  "num_leaves": s.num_leaves, "range_bits": s.range_bits,
                                  "security_bits": s.security_bits,
                                  "proven_security_bits": s.proven_security_bits},
            "balances": {"basis": self.balances_basis, "counted_wallets": total, "checked_on_chain": read},
            "challenge": self.challenge_template(),
            "prices": None if self.prices is None else {
                "sources": list(self.prices.sources), "prices": [p.to_dict() for p in self.prices]},
            "usd": None if usd is None else {k: format(v, "f") for k, v in usd.items()},
            "margin": None if s.statement_version < 3 else {
                "value_unit_exp": s.value_unit_exp, "meaning": MARGIN_MEANING,
                "usd": {k: format(v, "f") for k, v in self.margin_usd_totals.items()}},
            "assets": [a.to_dict() for a in self.assets],
            "wallets": [w.to_dict() for w in self.wallets],
            "flags": [f.to_dict() for f in self.flags],
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        """Amounts and ratios are strings of exact decimals (never floats)."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False) + "\n"

    def challenge_template(self) -> Optional[str]:
        if self.exchange is None:
            return None
        return challenge_message(self.exchange, self.round_id, "ADDRESS")

    def to_markdown(self) -> str:
        from . import render

        return render.markdown(self)

    def to_html(self) -> str:
        """One self-contained page (no external resources, no script)."""
        from . import render

        return render.html_page(self)

    def chart_png(self) -> bytes:
        """The reserve-ratio bar chart as PNG bytes (matplotlib)."""
        from . import render

        return render.chart_png(self)

    def save(self, path: PathLike, format: Optional[str] = None) -> Path:
        """Writes ``format`` (``"html"``, ``"json"`` or ``"markdown"``; by default from the
        suffix: ``.html``/``.htm``, ``.json``, ``.md``) to ``path``, atomically."""
        path = Path(path)
        if format is None:
            format = {".html": "html", ".htm": "html", ".json": "json", ".md": "markdown",
                      ".markdown": "markdown"}.get(path.suffix.lower())
            if format is None:
                raise ValueError(f"cannot tell the report format from {path.name!r}: use .html, .json or .md")
        render = {"html": self.to_html, "json": self.to_json, "markdown": self.to_markdown}.get(format)
        if render is None:
            raise ValueError(f"unknown report format {format!r}: html, json or markdown")
        text = render()
        atomic_write(path, text.encode("utf-8"))
        return path


# ----------------------------------------------------------------------------------- the check


def _require_verified(statement) -> Statement:
    if not isinstance(statement, Statement):
        raise UnverifiedStatementError(
            f"report() needs the Statement returned by stark_por.verify(), not {type(statement).__name__}"
        )
    if not statement.verified:
        raise UnverifiedStatementError(
            "this liabilities statement was read, built or changed without verifying its proof: "
            "pass the Statement returned by stark_por.verify(proof)"
        )
    return statement


def report(statement: Statement, reserves: Union[Reserves, Sequence[Wallet], PathLike], *,
           exchange: Optional[str] = None, chains: Optional[Mapping[str, object]] = None,
           prices: Union[Prices, PathLike, None] = None, timeout: float = DEFAULT_TIMEOUT,
           retries: int = DEFAULT_RETRIES, chain_ids: Optional[Mapping[str, int]] = None) -> SolvencyReport:
    """Judges ``reserves`` against the liabilities of a verified ``statement``.

    ``statement`` must come from :func:`stark_por.verify` (else
    :class:`UnverifiedStatementError`). ``reserves`` is a :class:`Reserves`, a
    list of :class:`Wallet` or a path for :func:`stark_por.reserves.load`.
    ``exchange`` names the exchange in the challenge message; it defaults to
    the reserves file's own, and is required as soon as any wallet is signed.

    ``chains`` maps a chain to the URL of a node (``{"ethereum": "http://…", "bitcoin":
    "https://…/api"}``; an EVM JSON-RPC node, an Esplora API for bitcoin) or to a client
    from :func:`stark_por.reserves.chains.connect`: every counted wallet on those chains is
    read at its snapshot block, with ``timeout`` seconds per answer and ``retries`` more
    tries; ``chain_ids`` overrides the chain id an EVM node must serve (a test network).
    A node that fails raises :class:`~stark_por.errors.ChainError` before anything is written.

    ``prices`` (a :class:`~stark_por.reserves.prices.Prices` or a prices file) values the
    round in USD; every asset with liabilities needs a price (else :class:`PricesError`).
    """
    statement = _require_verified(statement)
    if isinstance(reserves, (str, os.PathLike)):
        reserves = load(reserves)
    elif not isinstance(reserves, Reserves):
        reserves = Reserves(tuple(reserves))
    if exchange is None:
        exchange = reserves.exchange
    if exchange is None and any(w.signature for w in reserves):
        raise ReservesError("the exchange name is needed to check the signatures: pass exchange= "
                            "(CLI: --exchange NAME) or put \"exchange\" in the JSON reserves file")
    if exchange is not None:
        challenge_message(exchange, statement.round_id, "x")  # validates the name early
    liabilities = {name: max(net, 0) for name, net in liabilities_of(statement).items()}
    margin = margin_terms(statement) or {}
    prices = _checked_prices(prices, statement, liabilities)
    nodes = _clients(chains, timeout, retries, chain_ids)

    decimals = {a.name: a.decimals for a in statement.assets}
    first_seen: Dict[tuple, str] = {}
    addresses = set()
    parsed = []
    for w in reserves:
        try:
            addr = parse_address(w.chain, w.address) if w.chain in CHAINS else None
        except AddressError as e:
            addr = e
        parsed.append(addr)
        if addr is not None and not isinstance(addr, Exception):
            addresses.add(addr.canonical)

    results: List[WalletResult] = []
    for w, addr in zip(reserves, parsed):
        canonical = addr.canonical if addr is not None and not isinstance(addr, Exception) else None
        results.append(_judge(w, addr, canonical, decimals, first_seen, addresses, exchange, statement.round_id))
    tokens = _tokens(results)
    results = _read_on_chain(results, parsed, tokens, nodes, decimals)

    assets = []
    for a in statement.assets:
        mine = [r for r in results if r.wallet.asset == a.name and r.status != "duplicate"]
        counted = [r for r in mine if r.counted]
        with localcontext(Context(prec=1000)):  # exact: sums of exact decimals
            unverified = sum((r.balance for r in mine if not r.counted), Decimal(0))
        assets.append(AssetResult(
            asset=a.name, decimals=a.decimals, liabilities_units=liabilities[a.name],
            verified_units=sum(r.units for r in counted),
            unverified=unverified, wallets_verified=len(counted), wallets_listed=len(mine),
            price=None if prices is None else prices.get(a.name), margin=margin.get(a.name),
        ))
    flags = _flags(statement, reserves, assets, results, priced=prices is not None)
    return SolvencyReport(exchange=exchange, statement=statement, assets=tuple(assets),
                          wallets=tuple(results), flags=tuple(flags), prices=prices)


def _checked_prices(prices, statement: Statement, liabilities: Dict[str, int]) -> Optional[Prices]:
    if prices is None:
        return None
    if isinstance(prices, (str, os.PathLike)):
        prices = _prices.load(prices)
    if not isinstance(prices, Prices):
        raise TypeError(f"prices must be a Prices or a prices file, not {type(prices).__name__}")
    where = prices.path or "prices"
    if prices.round_id is not None and prices.round_id != statement.round_id:
        raise PricesError(f"are for round {prices.round_id!r}, the liabilities proof for round "
                          f"{statement.round_id!r}", path=where)
    missing = [a for a, units in liabilities.items() if units > 0 and prices.get(a) is None]
    if missing:
        raise PricesError(f"give no USD price for {', '.join(missing)}, which "
                          f"{'has' if len(missing) == 1 else 'have'} liabilities", path=where, column="asset")
    return prices


def _clients(chains, timeout, retries, chain_ids) -> dict:
    if not chains:
        return {}
    urls = {c: u for c, u in chains.items() if isinstance(u, str)}
    clients = {c: n for c, n in chains.items() if not isinstance(n, str)}
    clients.update(connect(urls, timeout=timeout, retries=retries, chain_ids=chain_ids))
    return clients


def _tokens(results: List[WalletResult]) -> Dict[Tuple[str, str], str]:
    """``{(asset, chain): token contract}`` from the wallets that name one; refuses a token on a
    chain's own coin, a token that is not a contract address, and two tokens for one asset on one chain."""
    tokens: Dict[Tuple[str, str], Tuple[str, str]] = {}
    for r in results:
        w = r.wallet
        if w.token is None or r.status in ("duplicate", "unknown_chain", "invalid_address"):
            continue
        where = w.source or f"{w.asset} wallet {w.address}"
        if w.chain not in EVM_CHAINS:
            raise ReservesError(f"{where}: {w.chain} has no token contracts: leave the token ({w.token}) empty")
        if native_asset(w.chain, w.asset):
            raise ReservesError(f"{where}: {w.asset} on {w.chain} is the chain's own coin, not a token: "
                                f"leave the token ({w.token}) empty")
        try:
            token = parse_address(w.chain, w.token).canonical
        except AddressError as e:
            raise ReservesError(f"{where}: token contract {w.token} {e}") from None
        key = (w.asset, w.chain)
        if key in tokens and tokens[key][0] != token:
            raise ReservesError(f"{where}: {w.asset} on {w.chain} has token {token} here but "
                                f"{tokens[key][0]} at {tokens[key][1]}")
        tokens.setdefault(key, (token, where))
    return {k: v[0] for k, v in tokens.items()}


def _read_on_chain(results: List[WalletResult], parsed, tokens, nodes, decimals) -> List[WalletResult]:
    """Each counted wallet on a chain with a node, read at its snapshot block; every read
    happens (and every node confirms its blocks) before any result is built."""
    todo = []
    for i, (r, addr) in enumerate(zip(results, parsed)):
        w = r.wallet
        if not r.counted or w.chain not in nodes:
            continue
        where = f"{w.asset} {r.address} ({w.source})" if w.source else f"{w.asset} {r.address}"
        if w.block is None:
            raise ReservesError(f"{where}: has no snapshot block, so its balance cannot be read on-chain "
                                f"(give its block on {w.chain})")
        token = None
        if w.chain in EVM_CHAINS and not native_asset(w.chain, w.asset):
            token = tokens.get((w.asset, w.chain))
            if token is None:
                raise ReservesError(f"{where}: {w.asset} is an ERC-20 token on {w.chain} (not its own coin) and "
                                    "no wallet names its token contract (column token)")
        todo.append((i, addr, token, where))
    readings = {}
    for i, addr, token, where in todo:
        w = results[i].wallet
        node = nodes[w.chain]
        target = addr if w.chain not in EVM_CHAINS else addr.canonical
        readings[i] = node.balance(target, w.block, token=token, wallet=where)
    for node in {id(n): n for n in (nodes[results[i].wallet.chain] for i in readings)}.values():
        node.confirm()

    out = []
    for i, r in enumerate(results):
        if i in readings:
            out.append(_with_reading(r, readings[i], decimals[r.wallet.asset]))
        elif r.counted:
            detail = ("not checked (no node given)" if r.wallet.chain not in nodes else "not checked")
            out.append(_replace(r, units=r.wallet.units(decimals[r.wallet.asset]), balance_detail=detail))
        else:
            out.append(_replace(r, balance_detail="not checked (not counted)"))
    return out


def _replace(r: WalletResult, **changes) -> WalletResult:
    from dataclasses import replace

    return replace(r, **changes)


def _with_reading(r: WalletResult, reading: Reading, decimals: int) -> WalletResult:
    w = r.wallet
    # Counted at the on-chain value, in the asset's smallest units (rounded down: never overstated).
    units = reading.units * 10 ** decimals // 10 ** reading.decimals
    at = f"on-chain at block {reading.block}"
    if reading.balance == w.balance:
        check, detail = "matches", f"{at}: matches"
    else:
        check = "differs"
        detail = f"{at}: differs (declared {_grouped(w.balance)}, chain {_grouped(reading.balance)})"
    if units * 10 ** reading.decimals != reading.units * 10 ** decimals:
        detail += f"; counted as {_grouped(_dec(units, decimals))} ({w.asset} has {decimals} decimals)"
    return _replace(r, reading=reading, units=units, balance_check=check, balance_detail=detail)


def _judge(w: Wallet, addr, canonical, decimals, first_seen, addresses, exchange, round_id) -> WalletResult:
    def result(status: str, detail: str, signer=None) -> WalletResult:
        return WalletResult(w, status, detail, status == "verified", canonical, signer)

    key = (w.chain, canonical or w.address, w.asset)
    if key in first_seen:
        return result("duplicate", f"same {w.asset} wallet as {first_seen[key]}, which alone is judged")
    first_seen[key] = w.source or "an earlier row"
    if w.chain not in CHAINS:
        return result("unknown_chain", f"chain {w.chain!r} is not supported (supported: {', '.join(CHAINS)})")
    if isinstance(addr, AddressError):
        return result("invalid_address", f"address {addr}")
    if w.asset not in decimals:
        return result("unknown_asset", f"{w.asset} is not an asset of the liabilities statement")
    try:
        w.units(decimals[w.asset])
    except ValueError:
        return result("too_many_decimals",
                      f"balance {w.balance_text} has more than the {decimals[w.asset]} decimals of {w.asset}")
    if exchange is None:
        return result("unsigned", "no ownership signature")
    check = check_signature(addr, w.signature, exchange=exchange, round_id=round_id, message=w.message)
    detail = check.detail
    if check.status == "bad_signature" and check.signer in addresses and check.signer != canonical:
        return result("other_address", f"signed by the key of {check.signer}, another wallet of this file",
                      check.signer)
    return result(check.status, detail, check.signer)


def _flags(statement: Statement, reserves: Reserves, assets, results, *, priced: bool = False) -> List[Flag]:
    flags: List[Flag] = []
    for a in assets:
        if priced and a.price is None and a.verified_units > 0:
            flags.append(Flag("unpriced", a.asset, f"{a.asset} has verified reserves but no USD price: "
                                                   "left out of the USD totals"))
    if reserves.round_id is not None and reserves.round_id != statement.round_id:
        flags.append(Flag("other_round", "reserves file",
                          f"the reserves file is for round {reserves.round_id!r}; "
                          f"the liabilities proof is for round {statement.round_id!r}"))
    for a in assets:
        if a.liabilities_units == 0 or a.passed:
            continue
        if a.verified_units == 0:
            listed = (f"{a.wallets_listed} wallet(s) listed, none verified" if a.wallets_listed
                      else "no wallet listed")
            flags.append(Flag("no_reserves", a.asset,
                              f"{a.asset} has liabilities of {_grouped(a.liabilities)} but no verified reserves "
                              f"({listed})"))
        else:
            flags.append(Flag("not_covered", a.asset,
                              f"verified reserves cover {a.percent} of {a.asset} liabilities "
                              f"(short by {_grouped(_dec(a.liabilities_units - a.verified_units, a.decimals))})"))
    for r in results:
        if not r.counted:
            w = r.wallet
            where = f" ({w.source})" if w.source else ""
            flags.append(Flag(r.status, f"{w.asset} {w.chain} {w.address}",
                              f"{w.asset} wallet {w.address} on {w.chain}{where}: {r.detail}; not counted"))
    for r in results:
        if r.balance_check == "differs":
            w, chain = r.wallet, r.reading
            with localcontext(_EXACT):
                diff = chain.balance - w.balance
            flags.append(Flag("balance_differs", f"{w.asset} {w.chain} {r.address}",
                              f"{w.asset} wallet {r.address} on {w.chain}: declared {_grouped(w.balance)}, "
                              f"on-chain {_grouped(chain.balance)} at block {chain.block} "
                              f"({'+' if diff > 0 else ''}{_grouped(diff)}); counted at its on-chain value"))
    blocks: Dict[str, set] = {}
    for r in results:
        if r.counted and r.wallet.block is not None:
            blocks.setdefault(r.wallet.chain, set()).add(r.wallet.block)
    for chain, heights in sorted(blocks.items()):
        if len(heights) > 1:
            flags.append(Flag("mixed_snapshots", chain,
                              f"{chain} balances are taken at {len(heights)} different blocks "
                              f"({min(heights)}–{max(heights)}); a snapshot is usually one block"))
    return flags


# ------------------------------------------------------------------------------------- demo


def write_demo_report(statement: Statement, out: PathLike, *, exchange: str = "Demo Exchange",
                      seed: Optional[int] = None, prices: Union[Prices, PathLike, None] = None
                      ) -> Tuple[Path, SolvencyReport]:
    """For ``stark-por demo``: signed demo wallets (``reserves.json``) and their report
    (``report.html``, ``report.json``, ``report.md``) in folder ``out``, valued in USD at
    ``prices`` when given."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reserves = Reserves(tuple(demo_wallets(statement, exchange, seed=seed)), exchange=exchange,
                        round_id=statement.round_id)
    reserves.save(out / "reserves.json")
    rep = report(statement, reserves, prices=prices)
    for name in ("report.json", "report.md"):
        rep.save(out / name)
    return rep.save(out / "report.html"), rep
