"""A track record across rounds, built from the JSON reports of several rounds.

``stark-por history 2026-09.json 2026-10.json 2026-11.json -o history.html``
(or :func:`build` then :meth:`History.save`) shows each asset's reserve ratio
over the rounds against the 100% line, total reserves and liabilities in USD
over time, the assets covered per round and the longest run of rounds in which
every asset was covered.  Rounds are taken in the order given (oldest first).

What it checks, so that a history cannot mix in a report of another round or
another exchange (:class:`~stark_por.errors.HistoryError` names the file):

* each file is a JSON reserves report of version 2 or 3;
* its statement fingerprint is recomputed from the statement version, round id,
  tree size, range, root and per-asset totals it carries (for a version-3 statement: the
  equity and debt totals, prices, haircuts and value unit), and must match (a report whose
  liabilities were edited, or glued to another round's root, is refused); for a version-3
  statement each asset's liabilities must be ``max(equity − debt, 0)`` and its net
  ``equity − debt``;
* each asset's ratio, pass/fail and USD figures are recomputed from its exact
  amounts and price, and must match what the report says;
* every report names the same exchange; no round id and no fingerprint twice.

A report is only as good as the run that wrote it: the history re-checks its
arithmetic and its binding to one liabilities statement, not its signatures or
balances (re-run ``stark-por report`` for that).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from .._files import atomic_write
from ..errors import HistoryError
from ..ledger import _AmountError, parse_amount
from .report import (_EXACT, REPORT_FORMAT, REPORT_VERSIONS, MarginTerms, balances_basis, percent_of,
                     ratio_of, statement_fingerprint)

__all__ = ["History", "Round", "RoundAsset", "build", "load_round"]

PathLike = Union[str, "os.PathLike[str]"]


@dataclass(frozen=True)
class RoundAsset:
    """One asset of one round, as re-checked from the report."""

    asset: str
    liabilities_units: int
    verified_units: int
    decimals: int
    liabilities_usd: Optional[Decimal]
    verified_usd: Optional[Decimal]

    @property
    def owed(self) -> bool:
        return self.liabilities_units > 0

    @property
    def passed(self) -> bool:
        return self.verified_units >= self.liabilities_units

    @property
    def ratio(self) -> Optional[Decimal]:
        """Verified reserves ÷ liabilities (40 digits, rounded down); ``None`` when nothing is owed."""
        return ratio_of(self.verified_units, self.liabilities_units)


@dataclass(frozen=True)
class Round:
    """One round's report, re-checked."""

    path: str
    exchange: str
    round_id: str
    fingerprint: str
    root: str
    assets: Tuple[RoundAsset, ...]
    balances_basis: str
    usd: Optional[Dict[str, Decimal]]  # liabilities, verified_reserves, surplus; None without prices

    @property
    def owed(self) -> Tuple[RoundAsset, ...]:
        return tuple(a for a in self.assets if a.owed)

    @property
    def covered(self) -> Tuple[RoundAsset, ...]:
        return tuple(a for a in self.owed if a.passed)

    @property
    def passed(self) -> bool:
        return len(self.covered) == len(self.owed)


@dataclass(frozen=True)
class History:
    """Rounds of one exchange, oldest first."""

    rounds: Tuple[Round, ...]

    @property
    def exchange(self) -> str:
        return self.rounds[0].exchange

    @property
    def asset_names(self) -> List[str]:
        """Every asset with liabilities in some round, in order of first appearance."""
        return list(dict.fromkeys(a.asset for r in self.rounds for a in r.owed))

    def ratios(self) -> Dict[str, List[Optional[Decimal]]]:
        """Per asset, its ratio in each round (``None`` where it had no liabilities)."""
        out = {}
        for name in self.asset_names:
            row = []
            for r in self.rounds:
                a = next((a for a in r.owed if a.asset == name), None)
                row.append(None if a is None else a.ratio)
            out[name] = row
        return out

    @property
    def longest_streak(self) -> Tuple[int, Optional[str], Optional[str]]:
        """``(rounds, first round id, last round id)`` of the longest run of fully covered rounds."""
        best = (0, None, None)
        run = 0
        for i, r in enumerate(self.rounds):
            run = run + 1 if r.passed else 0
            if run > best[0]:
                best = (run, self.rounds[i - run + 1].round_id, r.round_id)
        return best

    @property
    def current_streak(self) -> int:
        """Fully covered rounds in a row, counting back from the latest."""
        n = 0
        for r in reversed(self.rounds):
            if not r.passed:
                break
            n += 1
        return n

    def to_html(self) -> str:
        from . import render

        return render.history_page(self)

    def save(self, path: PathLike) -> Path:
        """Writes the page (HTML) atomically."""
        path = Path(path)
        atomic_write(path, self.to_html().encode("utf-8"))
        return path


def _fail(path: str, reason: str) -> HistoryError:
    return HistoryError(f"{path}: {reason}")


def _field(doc: dict, key: str, kind, path: str, where: str = ""):
    value = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise _fail(path, f"{where}field {key!r} is missing or not {getattr(kind, '__name__', kind)}")
    return value


def _decimal(text, path: str, what: str) -> Decimal:
    try:
        d = Decimal(text) if isinstance(text, str) else None
    except InvalidOperation:
        d = None
    if d is None or not d.is_finite():
        raise _fail(path, f"{what} {text!r} is not a decimal number")
    return d


def load_round(path: PathLike) -> Round:
    """Reads one JSON reserves report and re-checks it (see the module docstring)."""
    spath = os.fspath(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as e:
        raise _fail(spath, f"cannot read: {e.strerror}") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise _fail(spath, f"is not a JSON report ({e})") from None
    if not isinstance(doc, dict) or doc.get("format") != REPORT_FORMAT:
        raise _fail(spath, f"is not a {REPORT_FORMAT} (write one with stark-por report --json)")
    version = doc.get("version")
    if version not in REPORT_VERSIONS or isinstance(version, bool):
        raise _fail(spath, f"is a report of version {version!r}; the history reads versions "
                           f"{' and '.join(map(str, REPORT_VERSIONS))} (write it again with this stark-por)")
    exchange = doc.get("exchange")
    if not isinstance(exchange, str) or not exchange:
        raise _fail(spath, "names no exchange: a track record is one exchange's")
    round_id = _field(doc, "round_id", str, spath)
    proof = _field(doc, "liabilities_proof", dict, spath)
    root = _field(proof, "root", str, spath, "liabilities_proof ")
    fingerprint = _field(proof, "fingerprint", str, spath, "liabilities_proof ")
    num_leaves = _field(proof, "num_leaves", int, spath, "liabilities_proof ")
    range_bits = _field(proof, "range_bits", int, spath, "liabilities_proof ")
    statement_version = proof.get("statement_version", 1)  # absent in reports of version-1 rounds
    versions = (1, 2, 3) if version >= 3 else (1, 2)  # margin (statement version 3) came with report version 3
    if statement_version not in versions or isinstance(statement_version, bool):
        raise _fail(spath, f"liabilities_proof statement_version {statement_version!r} is not "
                           f"{', '.join(map(str, versions[:-1]))} or {versions[-1]}")
    unit_exp = None
    if statement_version >= 3:
        margin = _field(doc, "margin", dict, spath)
        unit_exp = _field(margin, "value_unit_exp", int, spath, "margin ")
    items = _field(doc, "assets", list, spath)
    parsed = []
    for i, a in enumerate(items):
        where = f"asset {i}: "
        name = _field(a, "asset", str, spath, where)
        decimals = _field(a, "decimals", int, spath, where)
        try:
            liabilities = int(_field(a, "liabilities_units", str, spath, where))
            verified = parse_amount(_field(a, "verified_reserves", str, spath, where), decimals)
        except (ValueError, _AmountError) as e:
            raise _fail(spath, f"{where}amounts are not exact decimals of {decimals} places ({e})") from None
        if liabilities < 0:
            raise _fail(spath, f"{where}liabilities_units is negative")
        terms = _margin_terms(a, spath, f"{name}: ") if statement_version >= 3 else None
        parsed.append((a, RoundAsset(name, liabilities, verified, decimals, None, None), terms))
    # First the binding to one statement: round id, tree, root and totals (and for version 3 the
    # equity and debt totals, prices and haircuts).
    try:
        if statement_version >= 3:
            totals = [(ra.asset, ra.decimals, t.equity_units) for _, ra, t in parsed]
            margin_args = (unit_exp, [(t.debt_units, None if t.price is None else (t.price, t.haircut))
                                      for _, _, t in parsed])
        else:
            totals = [(ra.asset, ra.decimals, ra.liabilities_units) for _, ra, _ in parsed]
            margin_args = None
        computed = statement_fingerprint(round_id, range_bits, num_leaves, root, totals, statement_version,
                                         margin_args)
    except (ValueError, TypeError) as e:
        raise _fail(spath, f"its liabilities proof fields are not a statement's: {e}") from None
    if computed != fingerprint:
        raise _fail(spath, f"its fingerprint {fingerprint[:16]}… does not match its round, root and totals "
                           f"({computed[:16]}…): the report mixes rounds or was altered")
    # Then its arithmetic: net liabilities, ratios, pass/fail and USD follow from the exact amounts.
    for a, ra, terms in parsed:
        if terms is not None:
            _check_margin(a, ra, terms, spath)
    assets = []
    for a, ra, _ in parsed:
        name = ra.asset
        if a.get("passed") is not ra.passed or a.get("ratio") != (None if ra.ratio is None else str(ra.ratio)) \
                or a.get("percent") != percent_of(ra.ratio):
            raise _fail(spath, f"{name}: the ratio or pass/fail does not follow from its amounts "
                               "(the report was altered)")
        usd = a.get("usd")
        if usd is not None:
            price = _decimal(_field(usd, "price", str, spath, f"{name} usd "), spath, f"{name} price")
            with localcontext(_EXACT):
                liab_usd = Decimal(ra.liabilities_units).scaleb(-ra.decimals) * price
                ver_usd = Decimal(ra.verified_units).scaleb(-ra.decimals) * price
                surplus = ver_usd - liab_usd
            for key, value in (("liabilities", liab_usd), ("verified_reserves", ver_usd), ("surplus", surplus)):
                if _decimal(usd.get(key), spath, f"{name} usd {key}") != value:
                    raise _fail(spath, f"{name}: usd {key} is not amount × price (the report was altered)")
            ra = RoundAsset(name, ra.liabilities_units, ra.verified_units, ra.decimals, liab_usd, ver_usd)
        assets.append(ra)
    if bool(doc.get("passed")) != all(a.passed for a in assets if a.owed):
        raise _fail(spath, "its verdict does not follow from its assets (the report was altered)")
    usd_totals = None
    if doc.get("usd") is not None:
        priced = [a for a in assets if a.liabilities_usd is not None]
        with localcontext(_EXACT):
            usd_totals = {"liabilities": sum((a.liabilities_usd for a in priced), Decimal(0)),
                          "verified_reserves": sum((a.verified_usd for a in priced), Decimal(0))}
            usd_totals["surplus"] = usd_totals["verified_reserves"] - usd_totals["liabilities"]
        for key, value in usd_totals.items():
            if _decimal(doc["usd"].get(key) if isinstance(doc["usd"], dict) else None, spath, f"usd {key}") != value:
                raise _fail(spath, f"its USD total {key} is not the sum over its assets (the report was altered)")
    if statement_version >= 3:
        _check_margin_usd(doc["margin"], [(ra, t) for _, ra, t in parsed], spath)
    basis = _basis(doc, assets, spath)
    return Round(spath, exchange, round_id, fingerprint, root, tuple(assets), basis,
                 usd_totals)


def _check_margin_usd(margin: dict, assets, path: str) -> None:
    """The report's equity, debt and net in USD are the sums over its priced assets."""
    usd = _field(margin, "usd", dict, path, "margin ")
    priced = [(ra, t) for ra, t in assets if t.price is not None]
    with localcontext(_EXACT):
        want = {k: sum((t.usd(getattr(t, f"{k}_units"), ra.decimals) for ra, t in priced), Decimal(0))
                for k in ("equity", "debt")}
        want["net"] = want["equity"] - want["debt"]
    for key, value in want.items():
        if _decimal(usd.get(key), path, f"margin usd {key}") != value:
            raise _fail(path, f"its margin USD total {key} is not the sum over its assets (the report was altered)")


def _margin_terms(a: dict, path: str, where: str) -> MarginTerms:
    """An asset's equity, debt, price and haircut from a report of a version-3 statement."""
    m = _field(a, "margin", dict, path, where)
    try:
        equity = int(_field(m, "equity_units", str, path, where + "margin "))
        debt = int(_field(m, "debt_units", str, path, where + "margin "))
    except ValueError:
        raise _fail(path, f"{where}margin equity_units or debt_units is not an integer") from None
    if equity < 0 or debt < 0:
        raise _fail(path, f"{where}margin equity_units or debt_units is negative")
    price, haircut = m.get("price"), m.get("haircut")
    if (price is None) != (haircut is None) or not all(v is None or isinstance(v, str) for v in (price, haircut)):
        raise _fail(path, f"{where}margin price and haircut must both be decimal text, or both null")
    return MarginTerms(equity, debt, price, haircut)


def _check_margin(a: dict, ra: RoundAsset, terms: MarginTerms, path: str) -> None:
    """An asset of a version-3 statement: liabilities ``max(net, 0)``, net ``equity − debt`` and
    its USD values amount × the statement's price."""
    name = ra.asset
    if ra.liabilities_units != terms.required_units or a["margin"].get("net_units") != str(terms.net_units):
        raise _fail(path, f"{name}: liabilities or net are not max(equity − debt, 0) and equity − debt "
                          "(the report was altered)")
    if terms.price is None:
        return
    usd = a["margin"].get("usd")
    if not isinstance(usd, dict):
        raise _fail(path, f"{name}: margin usd is missing for a priced asset")
    for key, units in (("equity", terms.equity_units), ("debt", terms.debt_units), ("net", terms.net_units)):
        if _decimal(usd.get(key), path, f"{name}: margin usd {key}") != terms.usd(units, ra.decimals):
            raise _fail(path, f"{name}: margin usd {key} is not amount × price (the report was altered)")


def _basis(doc: dict, assets: Sequence[RoundAsset], path: str) -> str:
    """The report's balances basis, after checking it against its own wallet list: the counted
    wallets, how many were read on-chain, and that each asset's verified reserves are their sum."""
    wallets = _field(doc, "wallets", list, path)
    balances = _field(doc, "balances", dict, path)
    decimals = {a.asset: a.decimals for a in assets}
    sums = {a.asset: 0 for a in assets}
    counted = read = 0
    for i, w in enumerate(wallets):
        if not isinstance(w, dict) or w.get("counted") is not True:
            continue
        counted += 1
        chain = w.get("on_chain")
        read += chain is not None
        try:
            d = decimals[w["asset"]]
            # As the report counted it: the on-chain units in the asset's decimals (rounded down), else declared.
            sums[w["asset"]] += parse_amount(w["balance"], d) if chain is None else \
                int(chain["units"]) * 10 ** d // 10 ** int(chain["decimals"])
        except (KeyError, TypeError, ValueError, _AmountError):
            raise _fail(path, f"wallet {i} is counted but its asset or balance does not read") from None
    if any(sums[a.asset] != a.verified_units for a in assets):
        raise _fail(path, "an asset's verified reserves are not the sum of its counted wallets (the report was altered)")
    if balances.get("counted_wallets") != counted or balances.get("checked_on_chain") != read:
        raise _fail(path, "its count of balances checked on-chain does not match its wallets (the report was altered)")
    return balances_basis(read, counted)


def build(paths: Sequence[PathLike]) -> History:
    """The track record of the reports at ``paths`` (oldest first); refuses reports of different
    exchanges, a round twice, and any report that does not re-check."""
    if not paths:
        raise HistoryError("a history needs at least one report")
    rounds = [load_round(p) for p in paths]
    first = rounds[0]
    seen_round: Dict[str, str] = {}
    seen_fp: Dict[str, str] = {}
    for r in rounds:
        if r.exchange != first.exchange:
            raise _fail(r.path, f"is a report of exchange {r.exchange!r}, {first.path} of {first.exchange!r}: "
                                "a history is one exchange's")
        if r.round_id in seen_round:
            raise _fail(r.path, f"repeats round {r.round_id!r} of {seen_round[r.round_id]}")
        if r.fingerprint in seen_fp:
            raise _fail(r.path, f"has the same liabilities statement as {seen_fp[r.fingerprint]}")
        seen_round[r.round_id] = r.path
        seen_fp[r.fingerprint] = r.path
    return History(tuple(rounds))
