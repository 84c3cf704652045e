"""Proof of reserves: a verified liabilities statement + reserves wallets -> :class:`SolvencyReport`.

:func:`report` counts, per asset, only the wallets whose ownership signature
verifies for *this* round (see :func:`stark_por.reserves.ownership.challenge_message`),
compares them with the liabilities the STARK proof established, and names
every wallet it did not count and why.  The verdict passes when every asset
with liabilities is covered (verified reserves ≥ liabilities, compared as exact
integers in smallest units).

What it does not check: the balances themselves.  They are as the reserves
file declares them at its snapshot; anyone can compare them with the chain at
that block.  The report says so on the page.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from fractions import Fraction
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..errors import ReservesError, UnverifiedStatementError
from ..ledger import format_amount
from .ownership import CHAINS, AddressError, check_signature, challenge_message, parse_address
from ..proof import Statement, atomic_write
from .wallets import Reserves, Wallet, demo_wallets, load

__all__ = ["report", "SolvencyReport", "AssetResult", "WalletResult", "Flag", "write_demo_report",
           "WALLET_STATUSES"]

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


def _dec(units: int, decimals: int) -> Decimal:
    """``units`` smallest units as an exact Decimal (no context rounding)."""
    return Decimal(format_amount(units, decimals) or "0")


def _grouped(d: Decimal) -> str:
    return format(d, ",f")


@dataclass(frozen=True)
class WalletResult:
    """How one wallet of the reserves file was judged."""

    wallet: Wallet
    status: str
    detail: str
    counted: bool
    address: Optional[str] = None  # canonical form, when the address parsed
    signer: Optional[str] = None

    def to_dict(self) -> dict:
        w = self.wallet
        return {
            "asset": w.asset, "chain": w.chain, "address": self.address or w.address,
            "balance": w.balance_text, "block": w.block, "time": w.time, "label": w.label,
            "status": self.status, "counted": self.counted, "detail": self.detail,
            "signer": self.signer, "source": w.source,
        }


@dataclass(frozen=True)
class AssetResult:
    """One asset: liabilities (from the proof), verified and unverified reserves, ratio, pass/fail."""

    asset: str
    decimals: int
    liabilities_units: int
    verified_units: int
    unverified: Decimal
    wallets_verified: int
    wallets_listed: int

    @property
    def liabilities(self) -> Decimal:
        return _dec(self.liabilities_units, self.decimals)

    @property
    def verified(self) -> Decimal:
        return _dec(self.verified_units, self.decimals)

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
        if self.liabilities_units == 0:
            return None
        with localcontext(Context(prec=_RATIO_DIGITS, rounding=ROUND_FLOOR)):
            return Decimal(self.verified_units) / Decimal(self.liabilities_units)

    @property
    def percent(self) -> str:
        """The ratio in percent, rounded down to 2 places (``"104.99%"``), or ``"n/a"``."""
        r = self.ratio
        if r is None:
            return "n/a"
        with localcontext(Context(prec=_RATIO_DIGITS + 10, rounding=ROUND_FLOOR)):
            return f"{(r * 100).quantize(Decimal('0.01')):,f}%"

    @property
    def passed(self) -> bool:
        """Covered: verified reserves ≥ liabilities (exact integer comparison)."""
        return self.verified_units >= self.liabilities_units

    def to_dict(self) -> dict:
        ratio = self.ratio
        return {
            "asset": self.asset, "decimals": self.decimals,
            "liabilities": str(self.liabilities), "verified_reserves": str(self.verified),
            "unverified_reserves": str(self.unverified),
            "ratio": None if ratio is None else str(ratio), "percent": self.percent,
            "passed": self.passed,
            "wallets_verified": self.wallets_verified, "wallets_listed": self.wallets_listed,
        }


@dataclass(frozen=True)
class Flag:
    """Something the reader should know: ``kind`` (a wallet status, ``"no_reserves"``,
    ``"not_covered"``, ``"mixed_snapshots"`` or ``"other_round"``), what it is about,
    and a sentence."""

    kind: str
    subject: str
    message: str

    def to_dict(self) -> dict:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}


@dataclass(frozen=True)
class SolvencyReport:
    """The outcome of :func:`report`; render it with :meth:`to_json`,
    :meth:`to_markdown` or :meth:`to_html`, or :meth:`save` by file suffix."""

    exchange: Optional[str]
    statement: Statement
    assets: Tuple[AssetResult, ...]
    wallets: Tuple[WalletResult, ...]
    flags: Tuple[Flag, ...]

    @property
    def round_id(self) -> str:
        return self.statement.round_id

    @property
    def passed(self) -> bool:
        """Every asset with liabilities is covered by verified reserves."""
        return all(a.passed for a in self.assets if a.liabilities_units > 0)

    @property
    def uncovered(self) -> Tuple[AssetResult, ...]:
        return tuple(a for a in self.assets if not a.passed)

    @property
    def verdict(self) -> str:
        """One sentence, e.g. ``"PASS: all 22 assets are covered by verified reserves"``."""
        owed = [a for a in self.assets if a.liabilities_units > 0]
        if self.passed:
            return f"PASS: all {len(owed)} assets with liabilities are covered by verified reserves"
        bad = ", ".join(f"{a.asset} ({a.percent})" for a in self.uncovered)
        return f"FAIL: {len(self.uncovered)} of {len(owed)} assets are not covered by verified reserves: {bad}"

    def counted(self) -> Tuple[WalletResult, ...]:
        return tuple(w for w in self.wallets if w.counted)

    # ------------------------------------------------------------------ outputs

    def to_dict(self) -> dict:
        s = self.statement
        return {
            "format": "stark-por reserves report",
            "version": 1,
            "exchange": self.exchange,
            "round_id": s.round_id,
            "passed": self.passed,
            "verdict": self.verdict,
            "liabilities_proof": {"verified": True, "root": s.root, "num_leaves": s.num_leaves,
                                  "range_bits": s.range_bits, "security_bits": s.security_bits},
            "challenge": self.challenge_template(),
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
    if statement.security_bits is None:
        raise UnverifiedStatementError(
            "this liabilities statement was read without verifying its proof (security_bits is None): "
            "pass the Statement returned by stark_por.verify(proof)"
        )
    return statement


def report(statement: Statement, reserves: Union[Reserves, Sequence[Wallet], PathLike], *,
           exchange: Optional[str] = None) -> SolvencyReport:
    """Judges ``reserves`` against the liabilities of a verified ``statement``.

    ``statement`` must come from :func:`stark_por.verify` (else
    :class:`UnverifiedStatementError`). ``reserves`` is a :class:`Reserves`, a
    list of :class:`Wallet` or a path for :func:`stark_por.reserves.load`.
    ``exchange`` names the exchange in the challenge message; it defaults to
    the reserves file's own, and is required as soon as any wallet is signed.
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

    assets = []
    for a in statement.assets:
        mine = [r for r in results if r.wallet.asset == a.name and r.status != "duplicate"]
        counted = [r for r in mine if r.counted]
        with localcontext(Context(prec=1000)):  # exact: sums of exact decimals
            unverified = sum((r.wallet.balance for r in mine if not r.counted), Decimal(0))
        assets.append(AssetResult(
            asset=a.name, decimals=a.decimals, liabilities_units=statement.totals[a.name],
            verified_units=sum(r.wallet.units(a.decimals) for r in counted),
            unverified=unverified, wallets_verified=len(counted), wallets_listed=len(mine),
        ))
    flags = _flags(statement, reserves, assets, results)
    return SolvencyReport(exchange=exchange, statement=statement, assets=tuple(assets),
                          wallets=tuple(results), flags=tuple(flags))


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


def _flags(statement: Statement, reserves: Reserves, assets, results) -> List[Flag]:
    flags: List[Flag] = []
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
                      seed: Optional[int] = None) -> Tuple[Path, SolvencyReport]:
    """For ``stark-por demo``: signed demo wallets (``reserves.json``) and their report
    (``report.html``, ``report.json``, ``report.md``) in folder ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    reserves = Reserves(tuple(demo_wallets(statement, exchange, seed=seed)), exchange=exchange,
                        round_id=statement.round_id)
    reserves.save(out / "reserves.json")
    rep = report(statement, reserves)
    for name in ("report.json", "report.md"):
        rep.save(out / name)
    return rep.save(out / "report.html"), rep
