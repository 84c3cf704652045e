"""The ``stark-por`` command line: ``demo``, ``prove``, ``verify``, ``report``,
``history``, ``page``, ``inclusion export``, ``inclusion verify``.

Exit codes: 0 success (for ``verify``: the proof is valid; for ``report``: every
asset with liabilities is covered by verified reserves; for ``inclusion verify``:
the user is included), 1 the proof does not verify or (``report``) some asset is
not covered or (``inclusion verify``) the user is not shown included, 2 bad input
or usage.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .errors import InvalidInclusionProof, InvalidProof, LedgerError, StarkPorError
from .progress import Reporter
from .proof import SECURITY_PRESETS, Proof, Statement, summary_path, verify

EXIT_OK, EXIT_INVALID, EXIT_INPUT = 0, 1, 2


def format_statement(s: Statement, prices=None) -> str:
    """The statement as printed by ``prove``, ``verify`` and ``demo``; with ``prices`` (a
    :class:`stark_por.reserves.prices.Prices`) each total's USD value beside it."""
    width = max(len(a.name) for a in s.assets)
    about = {2: " (amounts up to 2^112 at native decimals)",
             3: " (margin: equity and debt up to 2^112 at native decimals, every borrower's debt covered)"}
    lines = [
        f"round        {s.round_id}",
        f"statement    version {s.statement_version}" + about.get(s.statement_version, " (earlier rounds' circuit)"),
        f"fingerprint  {s.fingerprint} (publish it: users check their inclusion against it)",
        f"root         {s.root}",
        f"leaves (N')  {s.num_leaves:,} (user count padded to a power of two)",
        f"range        every balance in [0, 2^{s.range_bits}) smallest units",
    ]
    if s.format_version is not None:  # a statement read from a file
        lines.insert(2, f"file         format {s.format_version}" + _format_note(s))
    if s.security_bits is not None:
        lines.append(f"security     {s.security_bits} bits conjectured, {s.proven_security_bits} bits proven")
    if s.statement_version == 3:
        lines += _margin_lines(s, width)
        return "\n".join(lines)
    lines.append("liabilities:")
    usd_total = 0
    for a in s.assets:
        total = s.totals_decimal[a.name]
        line = f"  {a.name:<{width}}  {total:>38,f}"
        price = prices.get(a.name) if prices is not None else None
        if price is not None:
            usd = total * price.usd_price
            usd_total += usd
            line += f"  ≈ ${usd:>20,.2f}"
        lines.append(line)
    if prices is not None:
        lines.append(f"  {'total':<{width}}  {'':>38}  ≈ ${usd_total:>20,.2f} (at the prices of {', '.join(prices.sources)})")
    return "\n".join(lines)


def _format_note(s: Statement) -> str:
    """What the file publishes per forest or batch, beside the statement."""
    if s.committed:
        return " (each forest publishes a hiding commitment to its totals; one aggregation proof sums them)"
    if s.statement_version >= 2:
        return " (each forest's totals public: --public-batch-totals)"
    return " (each batch's totals public)"


def _margin_lines(s: Statement, width: int) -> list:
    """Version 3: equity, debt and net (the liability reserves must cover) per asset, then the
    prices and haircuts every borrower's collateral was proven against."""
    eq, debt, net = s.totals_decimal, s.debt_totals_decimal, s.net_totals_decimal
    lines = [f"liabilities  equity (owed to users) − debt (owed by users) = net:",
             f"  {'':<{width}}  {'equity':>38}  {'debt':>38}  {'net':>39}"]
    for a in s.assets:
        lines.append(f"  {a.name:<{width}}  {eq[a.name]:>38,f}  {debt[a.name]:>38,f}  {net[a.name]:>39,f}")
    lines.append(f"prices       every borrower's equity after haircuts covers their debt, at (USD per whole token; "
                 f"values in units of 10^-{s.value_unit_exp} USD):")
    for a in s.assets:
        if a.name in s.prices:
            price, haircut = s.prices[a.name]
            lines.append(f"  {a.name:<{width}}  {price:>24} USD  haircut {haircut}")
        else:
            lines.append(f"  {a.name:<{width}}  {'no price':>28}  (counts nothing as collateral; no debt allowed)")
    return lines


def cmd_demo(args: argparse.Namespace, con: Reporter) -> int:
    from .ledger import Ledger
    from .reserves.prices import load as load_prices
    from .rounds import prove_file, work_folder
    from .workloads import workload, write_workload

    out = Path(args.out)
    borrowers = args.borrowers if args.margin else 0.0
    if args.margin and args.workload not in ("W3", "W4"):
        raise UsageError(f"--margin needs a workload with prices (W3 or W4), not {args.workload}")
    if not 0.0 <= borrowers <= 1.0:
        raise UsageError(f"--borrowers is a fraction of the users, from 0 to 1, not {args.borrowers}")
    out.mkdir(parents=True, exist_ok=True)
    with con.step(f"drawing workload {args.workload}: {args.users:,} users of an exchange"
                  + (f", {borrowers:.0%} of them borrowing" if args.margin else "")):
        drawn = workload(args.workload, args.users, seed=args.seed, borrowers=borrowers)
        files = write_workload(drawn, out, ("csv",))
    ledger_path = files["csv"]
    prices = load_prices(files["prices"]) if "prices" in files else None
    margin = {"prices": files["margin_prices"]} if args.margin else {}
    if args.margin:
        print(f"{len(drawn.borrowers):,} of {drawn.num_users:,} users borrow "
              f"({int(np.count_nonzero(drawn.kinds)):,} debts, each covered after haircuts); "
              f"prices and haircuts: {files['margin_prices']}")
    whale = _largest_borrower(drawn) if args.margin and len(drawn.borrowers) else _largest_account(drawn)
    secret_path = out / "secret.key"
    if not secret_path.exists():
        secret_path.write_bytes(os.urandom(32))
        secret_path.chmod(0o600)
    round_id = args.round_id
    proof_path = out / f"{round_id}.stpor"
    shutil.rmtree(work_folder(proof_path), ignore_errors=True)  # the demo's own leftovers, if any
    # the production path: the CSV streams in, is proved (forests side by side) and written
    con.info(f"proving liabilities ({drawn.num_entries:,} balances, exact at native decimals)")
    prove_file(ledger_path, proof_path, secret=secret_path.read_bytes(), round_id=round_id,
               security=args.security, reporter=con, **margin)
    with con.step("verifying the proof file"):
        statement = verify(proof_path)
    print(format_statement(statement, prices))
    if statement.statement_version >= 3:
        print("\n".join(margin_usd_lines(statement)))
    # checked against the ledger read back from the file the exchange wrote, independently of the prover
    ledger = Ledger.from_csv(ledger_path)
    exact = all(statement.totals[a.name] == t for a, t in zip(ledger.assets, ledger.totals()))
    if args.margin:
        exact = exact and statement.statement_version == 3 and all(
            statement.debt_totals[a.name] == t for a, t in zip(ledger.assets, ledger.debt_totals()))
    print(f"totals{' (held and owed)' if args.margin else ''} match the ledger exactly, to the smallest unit: "
          f"{'yes' if exact else 'NO'}")
    from .reserves.report import write_demo_report

    report_path, rep = write_demo_report(statement, out, prices=files.get("prices"))
    print(f"proof of reserves (demo wallets, real signatures): {rep.verdict} → {report_path}")
    included = demo_inclusion(proof_path, statement, whale, out / "inclusion.json", con)
    from .page import write_page

    page = write_page(statement, out / "verify.html")
    print(f"inclusion page: {page} (open it in a browser, enter {whale!r} and pick inclusion.json)")
    return EXIT_OK if exact and included else EXIT_INVALID


def margin_usd_lines(s: Statement) -> list:
    """A version-3 statement's held, owed and net per priced asset in USD, at the statement's own
    prices (exact, shown to the cent), and their totals."""
    from .reserves.report import margin_terms

    terms = margin_terms(s)
    width = max(5, *(len(a.name) for a in s.assets))
    widths = (20, 18, 20)

    def row(name: str, cells) -> str:
        return f"  {name:<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(cells, widths))

    lines = ["in USD at the statement's prices:", row("", ("held", "owed", "net"))]
    totals = [0, 0, 0]
    for a in s.assets:
        m = terms[a.name]
        if m.price is None:
            continue
        values = [m.usd(u, a.decimals) for u in (m.equity_units, m.debt_units, m.net_units)]
        totals = [t + v for t, v in zip(totals, values)]
        lines.append(row(a.name, map(_usd, values)))
    lines.append(row("total", map(_usd, totals)))
    return lines


def _usd(d) -> str:
    return f"{'-' if d < 0 else ''}${abs(d):,.2f}"


def _largest_account(drawn) -> str:
    """The user whose inclusion the demo checks: the largest account by USD value when the
    workload has prices (its balances, 18-decimal ones among them, come back exact to the
    last unit), else the first user."""
    usd = getattr(drawn, "usd", None)
    return drawn.user_ids[int(np.argmax(usd))] if usd is not None and len(usd) else drawn.user_ids[0]


def _largest_borrower(drawn) -> str:
    """The borrower whose debt is worth the most at the round's prices (exact)."""
    from fractions import Fraction

    prices = drawn.margin_prices
    unit = [Fraction(prices[a.name][0]) / 10**a.decimals for a in drawn.assets]
    owed = {i: sum((unit[j] * v for j, v in drawn.debts(i)), Fraction(0)) for i in drawn.borrowers.tolist()}
    return drawn.user_ids[max(owed, key=lambda i: (owed[i], -i))]


def demo_inclusion(proof_path: Path, statement: Statement, user_id: str, out: Path, con: Reporter) -> bool:
    """Exports one user's inclusion proof and checks it as that user would: with the Rust core
    against the verified proof, and with the pure-Python verifier against the published summary
    and the fingerprint the exchange published."""
    from .inclusion import PublishedSummary, export, load_inclusion, store_path, verify_inclusion

    export(store_path(proof_path), user_id).save(out)
    print(f"inclusion proof of user {user_id!r}: {out.stat().st_size:,} bytes → {out}")
    ok = True
    for pure in (False, True):
        against = "the published summary and fingerprint" if pure else "the verified proof"
        try:
            with con.step(f"checking it with the {VERIFIERS[pure]} against {against}"):
                anchor = PublishedSummary.load(summary_path(proof_path)) if pure else statement
                result = verify_inclusion(out, anchor, user_id=user_id, fingerprint=statement.fingerprint, pure=pure)
            balances = result if isinstance(result, dict) else load_inclusion(out).balances
            print(f"  INCLUDED ({VERIFIERS[pure]}, {against}): "
                  + (", ".join(f"{a} {v:,f}" for a, v in balances.items()) or "no balances")
                  + ("" if isinstance(result, dict) else
                     f"; collateral after haircuts {result.collateral_usd} USD, debt {result.debt_usd} USD: covered"))
        except InvalidInclusionProof as e:
            print(f"  NOT INCLUDED ({VERIFIERS[pure]}, {e.reason}): {e.message}")
            ok = False
    return ok


VERIFIERS = {False: "Rust core", True: "pure-Python verifier"}


def cmd_inclusion_export(args: argparse.Namespace, con: Reporter) -> int:
    from .inclusion import InclusionStore, export, export_all, store_path

    store_file = Path(args.store) if args.store else store_path(args.proof)
    if not store_file.is_file():
        raise UsageError(f"no inclusion store at {store_file} (Proof.save writes it beside the proof)")
    try:
        statement = Proof.load(args.proof).statement
    except OSError as e:
        raise UsageError(f"cannot read the proof file {args.proof}: {e.strerror}")
    with InclusionStore(store_file) as store:
        if (store.root, store.round_id) != (statement.root, statement.round_id):
            raise UsageError(f"{store_file} is the store of another proof (round {store.round_id!r}, root {store.root})")
        if args.all:
            with con.step(f"exporting {len(store):,} inclusion proofs"):
                count = export_all(store, sys.stdout if args.output == "-" else args.output)
            con.info(f"  {count:,} proofs → {args.output} (JSON Lines)")
            return EXIT_OK
        try:
            proof = export(store, args.user)
        except KeyError:
            raise UsageError(f"user {args.user!r} is not in round {store.round_id!r}") from None
    if args.output == "-":
        print(proof.to_json(indent=2))
    else:
        proof.save(args.output)
        con.info(f"  inclusion proof of {args.user!r} → {args.output} ({Path(args.output).stat().st_size:,} bytes)")
    return EXIT_OK


def cmd_inclusion_verify(args: argparse.Namespace, con: Reporter) -> int:
    from .inclusion import BARE_ROOT, PublishedSummary, load_inclusion, verify_inclusion
    from .verifiers.pyverify import parse_expect, parse_fingerprint, position_lines

    if args.root is not None:
        raise UsageError(f"--root is not accepted: {BARE_ROOT} (--summary ROUND.stpor.json), or verify the round "
                         "yourself (--proof ROUND.stpor)")
    if args.proof is None and args.summary is None:
        raise UsageError("give the round to check against: --proof ROUND.stpor or --summary ROUND.stpor.json")
    fingerprint = None if args.fingerprint is None else parse_fingerprint(args.fingerprint, "--fingerprint")
    expect = None if args.expect is None else parse_expect(args.expect)
    try:
        inclusion = load_inclusion(Path(args.inclusion))
        if args.proof:
            try:
                with con.step(f"verifying the liabilities proof {args.proof}"):
                    anchor = verify(args.proof, min_security=args.min_security)
            except InvalidProof as e:
                print(f"INVALID liabilities proof: {e}", file=sys.stderr)
                return EXIT_INVALID
        else:
            anchor = PublishedSummary.load(args.summary)
        result = verify_inclusion(inclusion, anchor, user_id=args.user, expect=expect,
                                  fingerprint=None if fingerprint is None else fingerprint.hex(), pure=args.pure)
    except OSError as e:
        raise UsageError(f"cannot read {e.filename}: {e.strerror}")
    except InvalidInclusionProof as e:
        print(f"NOT INCLUDED ({e.reason}): {e.message}")
        return EXIT_INVALID
    print(f"INCLUDED: user {inclusion.user_id!r} is in round {inclusion.round_id!r} of {anchor.num_leaves:,} leaves, "
          f"root {anchor.root} (checked by the {VERIFIERS[args.pure]})")
    if isinstance(result, dict):
        width = max((len(a) for a in result), default=0)
        for asset, amount in result.items():
            print(f"  {asset:<{width}}  {amount:,f}")
        if not result:
            print("  (no balances)")
    else:  # version 3: equity and debt per asset, and the collateral check
        print("\n".join(position_lines(inclusion, result)))
    if expect is not None:
        print(f"your expected balances match ({', '.join(sorted(expect))})")
    print(f"statement fingerprint {anchor.fingerprint}")
    if fingerprint is not None:
        print("  equal to the fingerprint you gave")
    elif args.proof:
        print("  (of the proof you verified: compare it with the one the exchange published)")
    else:
        print("  compare it with the fingerprint the exchange published: the check above holds for that "
              "statement only if they are equal (or pass --fingerprint)")
    return EXIT_OK


def _power_of_two(text: str) -> int:
    """``4096`` or ``2^12`` as an int (0 when it is neither); ValueError when not a number."""
    if "^" in text:
        base, exp = text.split("^", 1)
        if base.strip() != "2":
            raise ValueError
        exp_value = int(exp)
        return 2**exp_value if 0 <= exp_value <= 40 else 0
    return int(text)


def trace_size_arg(text: str) -> int:
    """``--trace-size``: ``65536`` or ``2^16``, a power of two from 2^14 to 2^28."""
    try:
        value = _power_of_two(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a trace size: {text!r} (e.g. 65536 or 2^16)")
    if value < 2**14 or value & (value - 1) or value > 2**28:
        raise argparse.ArgumentTypeError(f"the trace size must be a power of two from 2^14 to 2^28, not {text}")
    return value


def batch_size_arg(text: str) -> int:
    """``--batch-size``: ``4096`` or ``2^12``, a power of two from 2 to 2^39."""
    try:
        value = _power_of_two(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a batch size: {text!r} (e.g. 4096 or 2^12)")
    if value < 2 or value & (value - 1) or value > 2**39:
        raise argparse.ArgumentTypeError(f"the batch size must be a power of two from 2 to 2^39, not {text}")
    return value


def cmd_prove(args: argparse.Namespace, con: Reporter) -> int:
    from .rounds import prove_file

    version = args.statement_version or (3 if args.prices else 2)
    if version != 1 and args.batch_size is not None:
        raise UsageError(f"--batch-size applies to --statement-version 1; version {version} sizes its forests by "
                         "--trace-size")
    if version == 1 and args.trace_size is not None:
        raise UsageError("--trace-size applies to --statement-version 2; version 1 sizes its batches by --batch-size")
    if version == 3 and not args.prices:
        raise UsageError("--statement-version 3 proves debts covered at public prices: give --prices FILE")
    if version != 3 and args.prices:
        raise UsageError(f"--prices makes statement version 3 (margin); version {version} proves equity only")
    if version == 1 and args.public_batch_totals:
        raise UsageError("--public-batch-totals applies to statement versions 2 and 3; version 1's batches always "
                         "publish their totals")
    try:
        secret = Path(args.secret_file).read_bytes()
    except OSError as e:
        raise UsageError(f"cannot read the secret file {args.secret_file}: {e.strerror}")
    statement = prove_file(
        args.ledger,
        args.output,
        secret=secret,
        round_id=args.round_id,
        assets=args.assets,
        security=args.security,
        version=version,
        prices=args.prices,
        range_bits=args.range_bits,
        trace_log2=None if args.trace_size is None else args.trace_size.bit_length() - 1,
        batch_size=args.batch_size,
        committed=None if version == 1 else not args.public_batch_totals,
        workers=args.workers,
        executor="ray" if args.ray else "local",
        ray_address=None if args.ray in (None, "local") else args.ray,
        resume=args.resume,
        keep_work=args.keep_work,
        reporter=con,
    )
    con.info(f"  summary: {summary_path(args.output)}")
    if not args.quiet:
        print(format_statement(statement))
    return EXIT_OK


def verified(args: argparse.Namespace, con: Reporter) -> Optional[Statement]:
    """The statement of ``args.proof`` if it verifies; otherwise says why and gives ``None``."""
    try:
        with con.step(f"verifying {args.proof}"):
            return verify(args.proof, min_security=args.min_security)
    except InvalidProof as e:
        print(f"INVALID: {e}", file=sys.stderr)
        return None


def cmd_verify(args: argparse.Namespace, con: Reporter) -> int:
    statement = verified(args, con)
    if statement is None:
        return EXIT_INVALID
    print("VALID")
    if not args.quiet:
        print(format_statement(statement))
    return EXIT_OK


def cmd_report(args: argparse.Namespace, con: Reporter) -> int:
    from .reserves.report import report
    from .reserves import load

    statement = verified(args, con)
    if statement is None:
        return EXIT_INVALID
    from .reserves.chains import parse_chain_option

    nodes = {}
    for spec in args.chain or ():
        chain, url = parse_chain_option(spec)
        if chain in nodes:
            raise UsageError(f"--chain {chain} is given twice")
        nodes[chain] = url
    chain_ids = {}
    for spec in args.chain_id or ():
        chain, _, ident = spec.partition("=")
        if not ident.strip().isdigit():
            raise UsageError(f"--chain-id {spec!r} is not CHAIN=NUMBER")
        chain_ids[chain.strip().lower()] = int(ident)
    step = f"checking the wallets of {args.reserves}" + (f" on {', '.join(nodes)}" if nodes else "")
    with con.step(step):
        rep = report(statement, load(args.reserves), exchange=args.exchange, chains=nodes, prices=args.prices,
                     timeout=args.timeout, retries=args.retries, chain_ids=chain_ids)
    if args.inclusion_page:
        rep = dataclasses.replace(rep, inclusion_page=args.inclusion_page)
    for path, fmt in ((args.output, "html"), (args.json, "json"), (args.markdown, "markdown")):
        if path:
            con.info(f"  wrote {rep.save(path, fmt)}")
    width = max(len(a.asset) for a in rep.assets)
    for a in rep.assets:
        mark = "ok  " if a.passed else "FAIL"
        print(f"  {mark} {a.asset:<{width}}  {a.percent:>10}  ({a.wallets_verified}/{a.wallets_listed} wallets verified)")
    if rep.flags:
        print(f"{len(rep.flags)} item(s) need attention (see the report)")
    print(rep.verdict)
    return EXIT_OK if rep.passed else EXIT_INVALID


def cmd_history(args: argparse.Namespace, con: Reporter) -> int:
    from .reserves.history import build

    with con.step(f"reading {len(args.reports)} report(s)"):
        hist = build(args.reports)
    con.info(f"  wrote {hist.save(args.output)}")
    streak, first, last = hist.longest_streak
    for r in hist.rounds:
        print(f"  {'ok  ' if r.passed else 'FAIL'} {r.round_id}  {len(r.covered)}/{len(r.owed)} assets covered")
    span = "" if not streak else f" ({first})" if first == last else f" ({first} to {last})"
    print(f"{sum(r.passed for r in hist.rounds)} of {len(hist.rounds)} rounds fully covered; longest streak "
          f"{streak} round(s){span}")
    return EXIT_OK


def cmd_page(args: argparse.Namespace, con: Reporter) -> int:
    from .page import write_page

    statement = verified(args, con)
    if statement is None:
        return EXIT_INVALID
    write_page(statement, args.output)
    con.info(f"  inclusion page → {args.output}")
    print(f"fingerprint  {statement.fingerprint}")
    print("publish this fingerprint beside the page: users compare it with the one the page shows")
    return EXIT_OK


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stark-por", description="Transparent zk-STARK proofs of solvency.")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.add_argument("--log-format", choices=("text", "json"), default="text",
                   help="progress on stderr as text for people or JSON Lines for log collectors")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="draw an exchange's ledger, prove, verify, check an inclusion, report reserves")
    d.add_argument("--users", type=int, default=10_000)
    d.add_argument("--workload", choices=("W1", "W2", "W3", "W4"), default="W3",
                   help="W3: 22 real assets at native decimals and USD prices (default); W4: 220 assets; "
                        "W1/W2: the earlier log-uniform draws, for comparison")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--round-id", default="demo-round")
    d.add_argument("--security", choices=sorted(SECURITY_PRESETS), default="100")
    d.add_argument("--out", default="stark-por-demo", help="folder for the ledger, key and proof")
    d.add_argument("--margin", action="store_true",
                   help="users borrow (statement version 3): debts in <ASSET>.debt columns, the round's prices and "
                        "haircuts in margin_prices.csv, reserves against net liabilities")
    d.add_argument("--borrowers", type=float, default=0.1, metavar="FRACTION",
                   help="with --margin, the fraction of users who borrow (default 0.1)")
    d.set_defaults(run=cmd_demo)

    pr = sub.add_parser("prove", help="prove a ledger's liabilities")
    pr.add_argument("ledger", help="ledger CSV (user_id,<ASSET>,…) or Parquet file")
    pr.add_argument("-o", "--output", required=True, help="proof file to write (ROUND.stpor)")
    pr.add_argument("--round-id", required=True)
    pr.add_argument("--secret-file", required=True, help="file holding the master secret (≥ 16 bytes)")
    pr.add_argument("--assets", help="assets CSV (asset,decimals); default: <ledger>.assets.csv")
    pr.add_argument("--security", choices=sorted(SECURITY_PRESETS), default="100")
    pr.add_argument("--prices", metavar="FILE",
                    help="prices and haircuts of the round (CSV: asset,price,haircut): statement version 3, "
                         "margin — debts in <ASSET>.debt columns, every borrower's debt proven covered")
    pr.add_argument("--statement-version", type=int, choices=(1, 2, 3),
                    help="2 (default): amounts up to 2^112, proved as forests; 3 (default with --prices): version 2 "
                         "with margin; 1: the version-1 circuit, amounts below 2^62, proved in batches")
    pr.add_argument("--public-batch-totals", action="store_true",
                    help="versions 2 and 3: publish each forest's totals in the clear (file formats 2 and 3) "
                         "instead of hiding commitments summed by an aggregation proof (formats 4 and 5, default)")
    pr.add_argument("--range-bits", type=int,
                    help="prove every balance < 2^BITS (version 2: 32–112, default 112; version 1: 32–63, default 62)")
    pr.add_argument("--workers", type=int, help="forests or batches proved side by side (default: one per core)")
    pr.add_argument("--resume", action="store_true", help="continue an interrupted run from <output>.work")
    pr.add_argument("--ray", metavar="ADDRESS", help="prove forests or batches on a Ray cluster (ADDRESS, or 'local')")
    pr.add_argument("--keep-work", action="store_true", help="keep the work folder (private: ids and balances)")
    pr.add_argument(
        "--batch-size",
        type=batch_size_arg,
        help="version 1: leaves per batch (a power of two, e.g. 4096 or 2^12; default 2^14, less if memory is short)",
    )
    pr.add_argument(
        "--trace-size",
        type=trace_size_arg,
        help="version 2: trace rows each forest fills (a power of two, 2^14 to 2^28; default 2^16, less if memory "
             "is short)",
    )
    pr.set_defaults(run=cmd_prove)

    v = sub.add_parser("verify", help="verify a proof file; exit code 0 only when valid")
    v.add_argument("proof")
    v.add_argument("--min-security", type=int, default=100)
    v.set_defaults(run=cmd_verify)

    r = sub.add_parser("report", help="proof of reserves: verify the liabilities proof, check the wallets, "
                       "write a report; exit code 0 only when every asset is covered")
    r.add_argument("proof", help="liabilities proof file (ROUND.stpor)")
    r.add_argument("--reserves", required=True, help="reserves file, CSV or JSON (see stark_por.reserves)")
    r.add_argument("-o", "--output", required=True, help="HTML report to write")
    r.add_argument("--json", help="also write the report as JSON")
    r.add_argument("--markdown", help="also write the report as Markdown")
    r.add_argument("--exchange", help="exchange name in the signed challenge (default: the JSON file's)")
    r.add_argument("--inclusion-page", metavar="URL",
                   help="where users check their inclusion (the page `stark-por page` writes); the report links to it")
    r.add_argument("--chain", action="append", metavar="CHAIN=URL",
                   help="read balances on CHAIN at each wallet's snapshot block from this node: an EVM JSON-RPC "
                   "node (an archive node for old blocks) or, for bitcoin, an Esplora API; repeat per chain")
    r.add_argument("--chain-id", action="append", metavar="CHAIN=ID",
                   help="the chain id an EVM node must serve, for a private or test network (default: the "
                   "chain's public id, e.g. 1 for ethereum)")
    r.add_argument("--timeout", type=float, default=20.0, help="seconds to wait for each node answer (default 20)")
    r.add_argument("--retries", type=int, default=2, help="more tries of a request that got no answer (default 2)")
    r.add_argument("--prices", help="USD prices of the round (CSV or JSON: asset, usd_price, source, timestamp)")
    r.add_argument("--min-security", type=int, default=100)
    r.set_defaults(run=cmd_report)

    h = sub.add_parser("history", help="track record across rounds: a page from the JSON reports of several "
                       "rounds of one exchange (oldest first)")
    h.add_argument("reports", nargs="+", help="JSON reports (stark-por report --json), oldest round first")
    h.add_argument("-o", "--output", required=True, help="HTML page to write")
    h.set_defaults(run=cmd_history)

    pg = sub.add_parser("page", help="write the inclusion page of a verified round: one offline HTML file on "
                        "which every user checks their inclusion proof in a browser")
    pg.add_argument("proof", help="the round's proof file (ROUND.stpor), verified first")
    pg.add_argument("-o", "--output", required=True, help="HTML file to write (e.g. verify.html)")
    pg.add_argument("--min-security", type=int, default=100)
    pg.set_defaults(run=cmd_page)

    inc = sub.add_parser("inclusion", help="users' inclusion proofs: export them, verify one")
    inc_sub = inc.add_subparsers(dest="inclusion_command", required=True)
    ie = inc_sub.add_parser("export", help="export inclusion proofs from the store beside a proof (ROUND.stpor.db)")
    ie.add_argument("proof", help="the round's proof file (ROUND.stpor)")
    who = ie.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the user id to export")
    who.add_argument("--all", action="store_true", help="every user, as JSON Lines")
    ie.add_argument("-o", "--output", required=True, help="file to write (- for stdout)")
    ie.add_argument("--store", help="inclusion store (default: <proof>.db)")
    ie.set_defaults(run=cmd_inclusion_export)
    iv = inc_sub.add_parser(
        "verify", help="check an inclusion proof; exit code 0 only when the user is included",
        description="Check that an inclusion proof shows you inside a round. Get from the exchange's publication: "
                    "your inclusion proof, the round's summary (ROUND.stpor.json) or proof file (ROUND.stpor), and "
                    "the statement fingerprint it published (auditors attest the same value).")
    iv.add_argument("inclusion", help="the user's inclusion proof (JSON)")
    iv.add_argument("--user", required=True,
                    help="your own user id. It matters: without it an exchange could give two users with the same "
                         "balances one shared leaf, count them once, and hand both the same proof")
    anchor = iv.add_mutually_exclusive_group()
    anchor.add_argument("--proof", help="the round's proof file: verified first, then the inclusion against it")
    anchor.add_argument("--summary", help="the round's published summary (ROUND.stpor.json); compare the fingerprint "
                        "printed with the published one, or pass --fingerprint")
    anchor.add_argument("--root", help=argparse.SUPPRESS)  # refused: a root cannot vouch for asset names
    iv.add_argument("--fingerprint", help="the statement fingerprint the exchange published (64 hex digits): "
                    "refused unless the round's statement has it")
    iv.add_argument("--expect", help="the balances you expect, e.g. BTC=0.5,ETH=2 (exact; an asset the proof "
                    "lacks counts as 0; assets not named are not compared)")
    iv.add_argument("--pure", action="store_true", help="use the pure-Python verifier (stark_por.verifiers.pyverify)")
    iv.add_argument("--min-security", type=int, default=100)
    iv.set_defaults(run=cmd_inclusion_verify)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    con = Reporter(args.log_format, quiet=args.quiet)
    try:
        return args.run(args, con)
    except (LedgerError, UsageError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except InvalidProof as e:
        print(f"INVALID: {e}", file=sys.stderr)
        return EXIT_INVALID
    except StarkPorError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INPUT
    except OSError as e:  # a full disk, a missing or unreadable file: say which, no traceback
        where = f" ({e.filename})" if e.filename else ""
        print(f"error: {e.strerror or e}{where}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
