"""The Python reference of the liabilities AIR (circuits/liabilities/reference.py) against Rust
traces of statement version 3, the margin section (``stark_por._native.trace_dump_v3``).

Honest forests (borrowers and debt-free users at native decimals, whales, a borrower covered at
exact equality and one at 2^112 - 1) must satisfy every constraint of the reference, and the
reference's verifier side (debt totals, the pin list) must equal the Rust AIR's. Each dishonest
trace is made by changing a dumped trace the way a cheating prover would — here mostly by
rewriting a borrower's margin rows with ``write_run``, this file's own reading of README §4 —
then re-deriving everything else honestly (MULT, MULTP, the helper columns, the running sum,
hashes, roots and public totals where the cheat needs them). It must break exactly the
constraints its docstring predicts from the README, at the predicted rows; then it is proved by
the Rust prover (``_native.prove_trace_v3``) and must be refused by the Rust verifier. The
forgeries of ``circuits/liabilities/src/margin_tests.rs`` are repeated here (tagged "as
margin_tests.rs").
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from fractions import Fraction
from math import gcd
from pathlib import Path

import numpy as np
import pytest

from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import _native

_PATH = Path(__file__).resolve().parents[1] / "circuits" / "liabilities" / "reference.py"
if "liabilities_reference" in sys.modules:
    R = sys.modules["liabilities_reference"]
else:
    _spec = importlib.util.spec_from_file_location("liabilities_reference", _PATH)
    R = importlib.util.module_from_spec(_spec)
    sys.modules["liabilities_reference"] = R
    _spec.loader.exec_module(R)

P, GF, V = R.P, R.GF, R.Violation
SECRET = b"reference-v3-secret-0123456789ab"
_rng = random.Random(20261203)
CHALLENGES = [[_rng.randrange(P), _rng.randrange(P)] for _ in range(3)]
MAX = (1 << 112) - 1
ETH, BTC, USD6 = 10**18, 10**8, 10**6
UNIT_EXP = 27  # coefficients in units of 10^-27 USD

# (name, decimals, price in USD per token, haircut) — None: no price (c = 0, d = 1)
MARKET = [("BTC", 8, "97000.5", "0.05"), ("ETH", 18, "3512.25", "0.1"), ("USDT", 6, "1", "0"),
          ("USDC", 6, "0.9998", "0.02"), ("SOL", 9, "241.7", "0.15"), ("XRP", 6, "2.31", "0.2"),
          ("DOGE", 8, "0.4123", "0.25"), ("TRX", 6, None, None), ("SHIB", 18, "0.000022", "0.5"),
          ("LINK", 18, "24.8", "0.3")]
ASSETS = [(name, dec) for name, dec, _, _ in MARKET]
BTC_, ETH_, USDT_, USDC_, SOL_, XRP_, DOGE_, TRX_, SHIB_, LINK_ = range(10)
EQ, DEBT = 0, 1


def fold(price, haircut, decimals, unit_exp=UNIT_EXP):
    """README §4: c = floor(price (1 - haircut) 10^(u - dec)), d = ceil(price 10^(u - dec))."""
    if price is None:
        return 0, 1
    scale = Fraction(10) ** (unit_exp - decimals)
    p, h = Fraction(price), Fraction(haircut)
    value = p * scale
    return int((value * (1 - h)) // 1), -int((-value) // 1)


PRICES = [fold(p, h, dec) for _, dec, p, h in MARKET]


def value_of(user, prices=PRICES):
    """(collateral value, debt value) of a user's entries, exactly."""
    c = sum(prices[a][0] * v for a, k, v in user if k == EQ)
    d = sum(prices[a][1] * v for a, k, v in user if k == DEBT)
    return c, d


# -- ledgers and dumps ----------------------------------------------------------------------------


def dump(users, prices=PRICES, assets=ASSETS, bits=112, capacity=None, forest=0, round_id="2026-12"):
    """Forest `forest` of the version-3 round of `users` (lists of (asset index, kind, amount))."""
    flat = [x for u in users for x in sorted(u)]
    amounts = [v for _, _, v in flat]
    d = _native.trace_dump_v3(
        [f"user-{i:03d}" for i in range(len(users))], list(assets),
        np.cumsum([0] + [len(u) for u in users]).astype(np.uint64),
        np.array([a for a, _, _ in flat], dtype=np.uint32),
        np.array([k for _, k, _ in flat], dtype=np.uint8),
        np.array([v & (2**64 - 1) for v in amounts], dtype=np.uint64),
        np.array([v >> 64 for v in amounts], dtype=np.uint64),
        list(prices), bits, SECRET, round_id, CHALLENGES, capacity, forest,
    )
    d["challenges"] = CHALLENGES
    d["public_elements"] = list(d["public_elements"])
    return d


def exact_pair():
    """Equity in BTC and debt in ETH whose values are exactly equal: e c_BTC = x d_ETH."""
    c, d = PRICES[BTC_][0], PRICES[ETH_][1]
    g = gcd(c, d)
    m = 3
    return [(BTC_, EQ, d // g * m), (ETH_, DEBT, c // g * m)]


def users_v3():
    """Borrowers and debt-free users at native decimals: a plain borrower, an ETH whale owing
    BTC, exact equality across assets and within one (USDT, no haircut, 2^112 - 1 both ways), a
    borrower with seven entries (four entry rows), dust, SHIB's supply, an unpriced asset held."""
    return [
        [(BTC_, EQ, 2 * BTC), (USDT_, DEBT, 50_000 * USD6), (SOL_, EQ, 10 * 10**9)],  # a spare slot
        [(ETH_, EQ, 3 * ETH), (USDC_, EQ, 1_500 * USD6)],  # debt-free
        [(ETH_, EQ, 250_000 * ETH), (BTC_, DEBT, 100 * BTC)],  # a whale borrowing
        exact_pair(),  # covered exactly
        [(USDT_, EQ, MAX), (USDT_, DEBT, MAX)],  # covered exactly, at the range bound
        [(BTC_, EQ, 1), (ETH_, EQ, 1)],  # dust, debt-free
        [(BTC_, EQ, 5 * BTC), (ETH_, EQ, 40 * ETH), (ETH_, DEBT, 10 * ETH), (USDT_, DEBT, 9_999 * USD6),
         (SOL_, EQ, 1_000 * 10**9), (DOGE_, DEBT, 20_000 * BTC), (LINK_, EQ, 500 * ETH)],
        [(TRX_, EQ, 10**6 * USD6), (SHIB_, EQ, 10**15 * ETH)],  # unpriced TRX, SHIB's supply
        [(XRP_, EQ, 12_345 * USD6)],
        [(SHIB_, EQ, 10**9 * ETH), (SHIB_, DEBT, 10**8 * ETH)],  # a meme-coin borrower
        [],
    ]


def borrowers(users):
    return [i for i, u in enumerate(users) if any(k == DEBT for _, k, _ in u)]


@pytest.fixture(scope="module")
def whole():
    return dump(users_v3())


def clone(d):
    out = dict(d)
    out["main"], out["aux"] = d["main"].copy(), d["aux"].copy()
    out["public_elements"] = list(d["public_elements"])
    return out


def public(d):
    return R.Public.parse(d["public_elements"])


# -- an honest prover's re-derivations ------------------------------------------------------------


def cols(s):
    return slice(R.state(s, 0), R.state(s, 0) + R.STATE_WIDTH)


def to_u64(x):
    return np.asarray(x.view(np.ndarray), dtype=object).astype(np.uint64)


def rehash_row(main, r):
    states = R.permutation_states(GF(main[r, cols(0)]))
    for s in range(1, R.NUM_ROUNDS + 1):
        main[r, cols(s)] = to_u64(states[s])


def rehash_leaf_from(main, r):
    rehash_row(main, r)
    while main[r, R.END] == 0:
        r += 1
        main[r, R.state(0, 0):R.state(0, 4)] = main[r - 1, R.state(7, 0):R.state(7, 4)]
        rehash_row(main, r)


def rebuild_nodes(d):
    """Recompute every node row from its children, then publish the forest roots."""
    main, last = d["main"], d["last_real_row"]
    digests = {}
    for r in range(last + 1):
        if main[r, R.END] == 1:
            digests[int(main[r, R.IDX])] = main[r, R.state(7, 4):R.state(7, 8)].copy()
        elif main[r, R.NODE] == 1:
            i = int(main[r, R.IDX])
            main[r, R.state(0, 4):R.state(0, 8)] = digests[2 * i]
            main[r, R.state(0, 8):R.state(0, 12)] = digests[2 * i + 1]
            rehash_row(main, r)
            digests[i] = main[r, R.state(7, 4):R.state(7, 8)].copy()
    for k, i in enumerate(public(d).forest.roots()):
        d["public_elements"][15 + 4 * k:19 + 4 * k] = [int(v) for v in digests[i]]


def honest_mult(main, last, pub):
    """MULT: every range lookup of v (weighted by its numerator) on the first table row holding
    v; MULTP: every entry slot's price lookup on the table row holding its tuple."""
    rows = main[:last + 1]
    counts = R.range_lookups(rows, pub.range_check(), margin=True)
    uses = {}
    for r in np.flatnonzero(rows[:, R.MENTRY]):
        row = [int(v) for v in rows[r]]
        for j in range(R.MARGIN_SLOTS):
            t = price_tuple_of(row, j)
            uses[t] = uses.get(t, 0) + row[R.MENTRY]
    values, first = np.unique(rows[:, R.TABLE], return_index=True)
    mult = np.zeros(last + 1, dtype=np.uint64)
    for v, r in zip(values.tolist(), first.tolist()):
        mult[r] = counts.get(v, 0) % P
    main[:last + 1, R.MULT] = mult
    for r in np.flatnonzero(main[:last + 1, R.MPRICE]):
        main[r, R.MULTP] = uses.get(price_tuple_of([int(v) for v in main[r]], 0), 0) % P


def price_tuple_of(row, j):
    limbs = [row[R.limb(j, i)] for i in range(R.LIMBS_PER_SLOT)]
    high = sum(l << (13 * k) for k, l in enumerate(limbs[R.LOW_LIMBS:]))
    tag = (row[R.slot_high(j)] - (high << R.TAG_BITS)) % P
    return (tag, row[R.kind_col(j)]) + tuple(row[R.coef_col(j, i)] for i in range(R.COEF_DIGITS))


def helpers_of(rows, pub, ch):
    terms = R.row_terms(GF(rows), pub.range_check(), ch, margin=True)
    out = []
    for g in range(R.NUM_HELPERS):
        h = R.ZERO
        for num, den in terms[g * R.TERMS_PER_HELPER:(g + 1) * R.TERMS_PER_HELPER]:
            h = h + num * den.inv()
        out.append(h)
    return out


def refresh(d, before):
    """Re-derive MULT, MULTP, the helper columns of every changed real row, and the running sum."""
    main, aux, last = d["main"], d["aux"], d["last_real_row"]
    pub, ch = public(d), R.Challenges.of(d["challenges"])
    honest_mult(main, last, pub)
    changed = np.flatnonzero((main[:last + 1] != before[:last + 1]).any(axis=1))
    if not changed.size:
        return
    ones = GF(np.ones(changed.size, dtype=np.uint64))
    delta = R.ZERO
    for g, h in enumerate(helpers_of(main[changed], pub, ch)):
        old = R.aux_column(GF(aux[changed]), g)
        delta = delta + (h - old)
        aux[changed, g, 0] = to_u64(h.a * ones)
        aux[changed, g, 1] = to_u64(h.b * ones)
    steps = np.zeros((last + 2, 2), dtype=object)
    steps[changed + 1, 0] = np.asarray((delta.a * ones).view(np.ndarray), dtype=object)
    steps[changed + 1, 1] = np.asarray((delta.b * ones).view(np.ndarray), dtype=object)
    aux[:last + 2, R.SUM] = ((aux[:last + 2, R.SUM].astype(object) + np.cumsum(steps, axis=0)) % P).astype(np.uint64)


def tampered(d, mutate, *, rederive=True):
    t = clone(d)
    mutate(t)
    if rederive:
        refresh(t, d["main"])
    return t


# A proof of a 2^14-row trace takes seconds on a shared machine: by default the forgeries the
# issue names (and the honest rewrites) are proved; STARK_POR_PROVE_ALL=1 proves every trace.
PROVE_ALL = os.environ.get("STARK_POR_PROVE_ALL") == "1"


def assert_violations(t, expected, residuals=None, *, prove=None):
    """The reference finds exactly `expected` (and, if given, exactly these bus residuals); the
    Rust prover proves the same main trace against the same public inputs and the Rust verifier
    accepts exactly when the reference found nothing (`prove`: None proves under PROVE_ALL)."""
    got = set(R.check(t))
    expected = set(expected)
    assert got == expected, f"unexpected: {sorted(got - expected)}, missing: {sorted(expected - got)}"
    pub, ch = public(t), R.Challenges.of(t["challenges"])
    res = R.bus_residuals(t["main"], t["last_real_row"], pub)
    if residuals is not None:
        assert res == residuals
    final = R.Quad.of(t["aux"][t["last_real_row"] + 1, R.SUM])
    assert bool(final == R.expected_sum(pub, ch) + R.residual_sum(res, ch)) or any(
        v.kind == "A" or (v.kind == "B" and v.index == 7) for v in got)
    if prove or (prove is None and PROVE_ALL):
        accepted, why = _native.prove_trace_v3(np.ascontiguousarray(t["main"]).ravel(), t["public_elements"])
        assert accepted == (not expected), f"the Rust verifier {'accepted' if accepted else 'refused'}: {why}"


# -- the margin section, read and written ---------------------------------------------------------


def col(d, c):
    return d["main"][:d["last_real_row"] + 1, c]


def price_rows(d):
    return [int(r) for r in np.flatnonzero(col(d, R.MPRICE))]


def runs(d):
    """[(uid, entry rows, close row)] in trace order."""
    out, rows = [], [int(r) for r in np.flatnonzero(col(d, R.MENTRY))]
    while rows:
        uid, k = int(d["main"][rows[0], R.UIDK]), 1
        while k < len(rows) and rows[k] == rows[k - 1] + 1:
            k += 1
        out.append((uid, rows[:k], rows[k - 1] + 1))
        rows = rows[k:]
    return out


def run_of(d, n_rows=None, pred=lambda uid, rows: True):
    return next((u, rs, c) for u, rs, c in runs(d) if (n_rows is None or len(rs) == n_rows) and pred(u, rs))


def leaf_rows(d, uid):
    return [int(r) for r in np.flatnonzero((col(d, R.IDX) == uid) & ((col(d, R.FIRST) + col(d, R.CONT)) != 0))]


def slot_entry(d, r, j):
    """(tag, amount) of slot j on row r, from its limbs."""
    m = d["main"]
    amount = R.amount_of_limbs(m[r, R.limb(j, 0):R.limb(j, 0) + R.LIMBS_PER_SLOT])
    tag = (int(m[r, R.slot_high(j)]) - ((amount >> R.LOW_BITS) << R.TAG_BITS)) % P
    return tag, amount


def run_entries(d, rows):
    """The (tag, amount) entries a run's rows hold (the unused slot's (2, 0) left out)."""
    out = [slot_entry(d, r, j) for r in rows for j in range(R.MARGIN_SLOTS)]
    return [e for e in out if e != (2, 0)]


def leaf_entries(d, uid):
    m, out = d["main"], []
    for r in leaf_rows(d, uid):
        for j in range(R.SLOTS):
            if (j >= 2 or m[r, R.CONT] == 1) and m[r, R.slot_high(j)] != 0:
                out.append(slot_entry(d, r, j))
    return out


MARGIN_COLS = [R.UIDK, R.MENTRY, R.MCLOSE, R.MPRICE] + list(range(R.STATE, R.MAIN_WIDTH))


def clear_rows(m, rows):
    for r in rows:
        m[r, MARGIN_COLS] = 0


def signed(v):
    v %= P
    return v - P if v > P // 2 else v


def write_run(t, start, uid, entries, *, coef=None, close=True, cnt_from=1, acc_from=None):
    """Writes a run of `entries` ((tag, amount), two per row) keyed `uid` from row `start`, and
    its close row, as README §4 describes them: per slot its tag in x1, its amount in x0/x1 and
    the limbs, its kind and coefficient digits (the public ones, or `coef(tag)`), the running
    value ACC, CNT, INV = 1/UIDK; the close row's remainders, offset carries and 32 CNT. Unused
    slots hold asset 1's equity tuple with amount 0. Returns the row after the close row."""
    m, pub = t["main"], public(t)
    coef = coef or (lambda tag: pub.coefficient(tag // 2, tag % 2))
    padded = list(entries) + [(2, 0)] * (len(entries) % 2)
    acc = list(acc_from) if acc_from is not None else [0] * R.POSITIONS
    r = start
    for k in range(len(padded) // 2):
        clear_rows(m, [r])
        m[r, R.MENTRY], m[r, R.UIDK], m[r, R.INV], m[r, R.CNT] = 1, uid, pow(uid, P - 2, P), cnt_from + k
        for j, (tag, amount) in enumerate(padded[2 * k:2 * k + 2]):
            m[r, R.slot_high(j)] = R.entry_elements(tag, amount)[1]  # the tag and h (x0 is free)
            limbs = R.limbs_of(amount)
            m[r, R.limb(j, 0):R.limb(j, 0) + R.LIMBS_PER_SLOT] = limbs
            m[r, R.kind_col(j)] = tag % 2
            c = coef(tag)
            m[r, R.coef_col(j, 0):R.coef_col(j, 0) + R.COEF_DIGITS] = R.coef_digits(c)
            a = limbs[:4] + [limbs[4] + (limbs[5] << 10)] + [limbs[i + 1] << 10 for i in range(5, 8)]
            cd = R.coef_digits(c)
            sign = -1 if tag % 2 else 1
            for p in range(R.POSITIONS):
                acc[p] += sign * sum(a[i] * cd[p - i] for i in range(8) if 0 <= p - i < R.COEF_DIGITS)
        m[r, R.acc_col(0):R.acc_col(0) + R.POSITIONS] = [v % P for v in acc]
        r += 1
    if close:
        write_close(m, r, acc, cnt_from + len(padded) // 2 - 1)
        r += 1
    return r


def close_cells(acc, cnt):
    """The close row's 36 cells for running value `acc` (signed integers) after `cnt` rows; a
    negative last carry is written as its field element in one cell (out of the table)."""
    cells, carry = [], 0
    for j in range(R.PAIRS):
        v = acc[2 * j] + (acc[2 * j + 1] << 13) + carry
        rem, k = v % (1 << 26), v >> 26
        stored = (k + R.CARRY_OFFSET if j + 1 < R.PAIRS else k) % P
        split = [stored & 8191, (stored >> 13) & 2047, stored >> 24] if stored < 1 << 37 else [stored, 0, 0]
        cells += [rem & 8191, rem >> 13] + split
        carry = k
    return cells + [32 * cnt]


def write_close(m, r, acc, cnt):
    clear_rows(m, [r])
    m[r, R.MCLOSE] = 1
    m[r, R.cell(0):R.cell(0) + R.COUNT_CELL + 1] = close_cells(acc, cnt)


def rewrite_close(t, close_row):
    """The close row recomputed from the ACC and CNT of the row before it."""
    m = t["main"]
    acc = [signed(int(v)) for v in m[close_row - 1, R.acc_col(0):R.acc_col(0) + R.POSITIONS]]
    write_close(m, close_row, acc, int(m[close_row - 1, R.CNT]))


def debt_index(d, asset, part):
    """Index in public_elements of part `part` of asset `asset`'s (1-based) debt total."""
    pub = public(d)
    return 15 + 4 * len(pub.roots) + R.PARTS * pub.num_assets + R.PARTS * (asset - 1) + part


def equity_index(d, asset, part):
    return 15 + 4 * len(public(d).roots) + R.PARTS * (asset - 1) + part


def move_total(t, tag, old_amount, new_amount):
    """Publish the totals (equity or debt by the tag's parity) a cheat needs."""
    new, old = R.parts_of_limbs(R.limbs_of(new_amount)), R.parts_of_limbs(R.limbs_of(old_amount))
    at = debt_index if tag % 2 else equity_index
    for i in range(R.PARTS):
        k = at(t, tag // 2, i)
        t["public_elements"][k] = (t["public_elements"][k] + new[i] - old[i]) % P


def set_leaf_amount(t, uid, tag, amount):
    """The leaf's entry of `tag` holds `amount` (elements and limbs), leaf, nodes and roots
    rehashed."""
    m = t["main"]
    for r in leaf_rows(t, uid):
        for j in range(R.SLOTS):
            if (j >= 2 or m[r, R.CONT] == 1) and m[r, R.slot_high(j)] != 0 and slot_entry(t, r, j)[0] == tag:
                x0, x1 = R.entry_elements(tag, amount)
                m[r, R.slot_low(j)], m[r, R.slot_high(j)] = x0, x1
                m[r, R.limb(j, 0):R.limb(j, 0) + R.LIMBS_PER_SLOT] = R.limbs_of(amount)
                rehash_leaf_from(m, r)
                rebuild_nodes(t)
                return
    raise AssertionError(f"leaf {uid} has no tag {tag}")


def M(i, r):
    return V("M", i, r)


def BUS(bus, d):
    return V("bus", bus, d["last_real_row"] + 1)


def B8(d):
    return V("B", 8, d["last_real_row"] + 1)


# -- honest forests -------------------------------------------------------------------------------


def test_whole_tree_is_honest(whole):
    """Every transition of every row (no sampling), every boundary and bus, and the verifier's
    side computed here (debt totals, pin list) equals the Rust AIR's."""
    assert whole["main"].shape == (1 << 14, R.MAIN_WIDTH_V3) and whole["circuit_version"] == 3
    # every leaf, node and margin row and the rows around them; fillers sampled (version 2's
    # test checks every row of a version-2 trace)
    assert R.check(whole, fillers=512, blinding=64) == []
    assert R.expected_sum(public(whole), R.Challenges.of(CHALLENGES)).pair() == tuple(whole["expected_sum"])


def test_public_inputs_are_exact(whole):
    """Equity and debt totals exact at any size; the coefficients are the ones given, digit by
    digit; every tag of every asset is pinned."""
    pub = public(whole)
    users = users_v3()
    for kind, got in ((EQ, pub.exact_totals()), (DEBT, pub.exact_debt_totals())):
        sums = [0] * len(ASSETS)
        for u in users:
            for a, k, v in u:
                sums[a] += v if k == kind else 0
        assert got == sums
    assert pub.exact_totals()[USDT_] > 1 << 111 and pub.exact_debt_totals()[USDT_] > 1 << 111
    assert [(pub.coefficient(a, 0), pub.coefficient(a, 1)) for a in range(1, len(ASSETS) + 1)] == PRICES
    assert PRICES[TRX_] == (0, 1) and PRICES[USDT_] == (10**21, 10**21)
    assert len(pub.listed_tuples()) == 2 * len(ASSETS) == len(price_rows(whole))


def test_the_section_is_the_readme_s(whole):
    """2K price-table rows, then per borrower ceil(entries / 2) entry rows counted from 1 and a
    close row; each run holds exactly its leaf's entries, its leaf rows keyed by their IDX;
    debt-free leaves keyed 0; the close row's value is exactly sum c e - sum d x."""
    users, main = users_v3(), whole["main"]
    found = runs(whole)
    assert len(found) == len(borrowers(users))
    by_entries = {}
    for uid, rows, close in found:
        assert [int(main[r, R.CNT]) for r in rows] == list(range(1, len(rows) + 1))
        assert all(int(main[r, R.UIDK]) == uid for r in leaf_rows(whole, uid))
        entries = run_entries(whole, rows)
        assert entries == leaf_entries(whole, uid) and len(rows) == -(-len(entries) // 2)
        assert main[close, R.MCLOSE] == 1
        cells = [int(v) for v in main[close, R.cell(0):R.cell(0) + R.COUNT_CELL + 1]]
        assert cells[-1] == 32 * len(rows)
        value = sum(c << (26 * j) for j, c in enumerate(
            cells[R.CELLS_PER_PAIR * j] + (cells[R.CELLS_PER_PAIR * j + 1] << 13) for j in range(R.PAIRS)))
        top = cells[R.CELLS_PER_PAIR * 6 + 2] + (cells[R.CELLS_PER_PAIR * 6 + 3] << 13) + (cells[R.CELLS_PER_PAIR * 6 + 4] << 24)
        by_entries[tuple(sorted(entries))] = value + (top << 182)
    for i in borrowers(users):
        entries = tuple(sorted((2 * (a + 1) + k, v) for a, k, v in users[i]))
        c, d = value_of(users[i])
        assert by_entries[entries] == c - d
    assert by_entries[tuple(sorted((2 * (a + 1) + k, v) for a, k, v in exact_pair()))] == 0
    debt_free = [i for i in range(len(users)) if i not in borrowers(users)]
    keyed = {int(v) for v in col(whole, R.UIDK)[(col(whole, R.FIRST) + col(whole, R.CONT)) != 0]}
    assert keyed - {0} == {uid for uid, _, _ in found} and len(debt_free) > 0


def test_write_run_reproduces_the_honest_section(whole):
    """This file's reading of the entry and close rows (``write_run``) rewrites every run to a
    trace that satisfies every constraint, and the Rust verifier accepts its proof."""
    def mutate(t):
        for uid, rows, _ in runs(t):
            write_run(t, rows[0], uid, run_entries(t, rows))

    assert_violations(tampered(whole, mutate), set(), {}, prove=True)


def test_forests_of_a_cut_round_are_honest():
    """The round cut into forests: each forest has the whole price table and only its own
    borrowers' runs; the debt totals of the forests add up to the round's."""
    users = users_v3()
    first = dump(users, capacity=6)
    assert first["forests"] >= 3
    debts = [0] * len(ASSETS)
    for i in range(first["forests"]):
        d = first if i == 0 else dump(users, capacity=6, forest=i)
        pub = public(d)
        assert R.check(d, fillers=32, blinding=8) == []
        assert R.expected_sum(pub, R.Challenges.of(CHALLENGES)).pair() == tuple(d["expected_sum"])
        assert len(price_rows(d)) == 2 * len(ASSETS)
        debts = [x + y for x, y in zip(debts, pub.exact_debt_totals())]
    assert debts == public(dump(users)).exact_debt_totals()


def test_a_round_without_borrowers_is_honest():
    """Version 3 without a debt: the price table only, every leaf keyed 0."""
    d = dump([[(BTC_, EQ, 3)], [(ETH_, EQ, 7 * ETH), (SHIB_, EQ, MAX)]])
    assert R.check(d, fillers=32, blinding=8) == [] and runs(d) == []
    assert not col(d, R.UIDK).any() and len(price_rows(d)) == 2 * len(ASSETS)


def close_value(d, close):
    """V = sum_j r_j 2^(26 j) + 2^182 k_6, read from a close row's cells."""
    cells = [int(v) for v in d["main"][close, R.cell(0):R.cell(R.COUNT_CELL)]]
    rem = sum((cells[5 * j] + (cells[5 * j + 1] << 13)) << (26 * j) for j in range(R.PAIRS))
    top = cells[32] + (cells[33] << 13) + (cells[34] << 24)
    return rem + (top << 182)


@settings(max_examples=4, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(st.data())
def test_random_borrowers_are_honest(data):
    """Random equity over the whole range, debts worth up to the collateral after haircuts,
    random prices and haircuts (any decimals): every constraint holds, and every close row holds
    exactly sum c e - sum d x, computed here with plain integers."""
    k = data.draw(st.integers(2, 6), label="assets")
    decimals = [data.draw(st.sampled_from([0, 6, 8, 9, 18]), label="decimals") for _ in range(k)]
    prices = []
    for dec in decimals:
        cents = data.draw(st.integers(1, 10**7 if dec else 240), label="price in cents")
        haircut = data.draw(st.sampled_from(["0", "0.05", "0.5", "0.999", "1"]), label="haircut")
        prices.append(fold(Fraction(cents, 100), haircut, dec))
    users = []
    for _ in range(data.draw(st.integers(1, 6), label="users")):
        held = sorted(data.draw(st.sets(st.integers(0, k - 1), min_size=1), label="held"))
        user = [(a, EQ, data.draw(st.integers(1, MAX), label="equity")) for a in held]
        room = value_of(user, prices)[0]
        owed = data.draw(st.sets(st.integers(0, k - 1), max_size=2), label="owed")
        for a in sorted(owed):
            most = min(room // prices[a][1], MAX)
            if most >= 1:
                x = data.draw(st.integers(1, most), label="debt")
                user.append((a, DEBT, x))
                room -= x * prices[a][1]
        users.append(sorted(user))
    d = dump(users, prices, ASSETS[:k])
    assert R.check(d, fillers=32, blinding=8) == []
    assert R.expected_sum(public(d), R.Challenges.of(CHALLENGES)).pair() == tuple(d["expected_sum"])
    values = sorted(close_value(d, close) for _, _, close in runs(d))
    expected = sorted(value_of(u, prices)[0] - value_of(u, prices)[1] for u in users if any(x == DEBT for _, x, _ in u))
    assert values == expected and all(v >= 0 for v in values)


def test_degrees_are_the_readme_table(whole):
    """T0-T120 as version 2's, then M0-M34 as README's table; the helpers of 7 terms keep degree
    9, the last (6 terms) 8."""
    main, aux = R.constraint_degrees(public(whole), R.Challenges.of(CHALLENGES))
    v2 = [2] * 2 + [3] * 12 + [4] + [3] * 3 + [4] * 2 + [3] * 17 + [9] * 84
    margin = [4] + [3] * 3 + [3] + [3] * 3 + [4, 4, 4, 3, 3] + [5] * 14 + [3] + [3] * 7
    assert main == v2 + margin
    assert aux == [9] * 8 + [8, 2]


# -- dishonest: the collateral condition ----------------------------------------------------------


def meme_borrower(d):
    """The run of the borrower holding SHIB equity 10^9 tokens and owing 10^8 SHIB."""
    shib_eq, shib_debt = 2 * (SHIB_ + 1), 2 * (SHIB_ + 1) + 1
    return run_of(d, pred=lambda uid, rows: run_entries(d, rows) == [(shib_eq, 10**9 * ETH), (shib_debt, 10**8 * ETH)])


def owe_more_shib(t, uid, rows, debt, *, coef=None):
    """The borrower's SHIB debt raised to `debt` in its leaf (rehashed, roots, the debt total)
    and in its run (rewritten honestly but for `coef`)."""
    shib_eq, shib_debt = 2 * (SHIB_ + 1), 2 * (SHIB_ + 1) + 1
    set_leaf_amount(t, uid, shib_debt, debt)
    move_total(t, shib_debt, 10**8 * ETH, debt)
    write_run(t, rows[0], uid, [(shib_eq, 10**9 * ETH), (shib_debt, debt)], coef=coef)


def test_the_dummy_user_uncovered(whole):
    """As margin_tests.rs, the dummy-user attack: 10^9 SHIB of collateral ($22,000, $11,000
    after its 50 % haircut) against a debt raised to 6 * 10^8 SHIB ($13,200). Leaf, roots and
    debt totals made to match; the run's value is negative, so the close row's last carry is a
    field element far outside the table: only the range bus (and so B8) sees it."""
    uid, rows, close = meme_borrower(whole)
    debt = 6 * 10**8 * ETH
    c, d = PRICES[SHIB_][0] * 10**9 * ETH, PRICES[SHIB_][1] * debt
    assert c < d < PRICES[SHIB_][1] * 10**9 * ETH  # uncovered only because of the haircut
    t = tampered(whole, lambda t: owe_more_shib(t, uid, rows, debt))
    last_carry = int(t["main"][close, R.cell(R.CELLS_PER_PAIR * 6 + 2)])
    assert last_carry == ((c - d) >> 182) % P == P - 1  # the carry -1, as a field element
    assert_violations(t, {BUS(R.RANGE_BUS, whole), B8(whole)}, {("range", last_carry): (1,)}, prove=True)


def test_the_dummy_user_with_the_haircut_left_out(whole):
    """As margin_tests.rs: the same uncovered borrower, its SHIB collateral valued at the debt
    coefficient (no haircut): the run's value is positive and its close row honest, but the
    tuple (SHIB equity, kind 0, d's digits) has no price-table row: only the price bus."""
    uid, rows, _ = meme_borrower(whole)
    shib_eq, d_shib = 2 * (SHIB_ + 1), PRICES[SHIB_][1]
    pub = public(whole)
    no_haircut = lambda tag: d_shib if tag == shib_eq else pub.coefficient(tag // 2, tag % 2)  # noqa: E731
    t = tampered(whole, lambda t: owe_more_shib(t, uid, rows, 6 * 10**8 * ETH, coef=no_haircut))
    assert_violations(t, {BUS(R.PRICE_BUS, whole), B8(whole)},
                      {("price", (shib_eq, 0) + tuple(R.coef_digits(d_shib))): (1,)}, prove=True)


def test_a_price_table_row_changed(whole):
    """As margin_tests.rs: SHIB's equity row of the price table lists d instead of c, and the
    run uses it (the price bus balances): the pin bus has the changed tuple once and misses the
    listed one."""
    uid, rows, _ = meme_borrower(whole)
    shib_eq, (c_shib, d_shib) = 2 * (SHIB_ + 1), PRICES[SHIB_]
    pub = public(whole)
    table = next(r for r in price_rows(whole) if slot_entry(whole, r, 0)[0] == shib_eq and whole["main"][r, R.kind_col(0)] == 0)

    def mutate(t):
        t["main"][table, R.coef_col(0, 0):R.coef_col(0, R.COEF_DIGITS)] = R.coef_digits(d_shib)
        owe_more_shib(t, uid, rows, 6 * 10**8 * ETH,
                      coef=lambda tag: d_shib if tag == shib_eq else pub.coefficient(tag // 2, tag % 2))

    assert_violations(tampered(whole, mutate), {BUS(R.PIN_BUS, whole), B8(whole)},
                      {("pin", (shib_eq, 0) + tuple(R.coef_digits(d_shib))): (1,),
                       ("pin", (shib_eq, 0) + tuple(R.coef_digits(c_shib))): (P - 1,)}, prove=True)


def test_an_honest_proof_claimed_for_another_price(whole):
    """As margin_tests.rs: the honest trace with BTC's debt coefficient one higher in the public
    inputs: the table no longer matches the pin list."""
    t = clone(whole)
    at = 15 + 4 * len(public(t).roots) + 2 * R.PARTS * len(ASSETS) + 14 * BTC_ + 7
    t["public_elements"][at] += 1
    old = (3, 1) + tuple(R.coef_digits(PRICES[BTC_][1]))
    new = (3, 1) + tuple(R.coef_digits(PRICES[BTC_][1] + 1))
    assert_violations(t, {BUS(R.PIN_BUS, whole), B8(whole)}, {("pin", old): (1,), ("pin", new): (P - 1,)})


def first_borrower(d):
    """The run of the borrower owing 50,000 USDT against 2 BTC and 10 SOL (3 entries, 2 rows)."""
    usdt_debt = 2 * (USDT_ + 1) + 1
    return run_of(d, pred=lambda uid, rows: (usdt_debt, 50_000 * USD6) in run_entries(d, rows)
                  and len(run_entries(d, rows)) == 3)


def test_debt_past_the_range_check():
    """A debt of 2^62 under a 62-bit bound (leaf, roots, totals and run made consistent with
    it): the bound value 2^13 is looked up twice, on the leaf row and on the entry row; 2^62 - 1
    is admitted."""
    users = [[(BTC_, EQ, (1 << 62) - 1), (USDT_, DEBT, 7)], [(ETH_, EQ, 3)], [(USDT_, DEBT, 1), (USDT_, EQ, 2)]]
    d = dump(users, bits=62)
    usdt_debt = 2 * (USDT_ + 1) + 1
    uid, rows, _ = run_of(d, pred=lambda u, rs: (usdt_debt, 7) in run_entries(d, rs))

    def owe(amount):
        def mutate(t):
            set_leaf_amount(t, uid, usdt_debt, amount)
            move_total(t, usdt_debt, 7, amount)
            write_run(t, rows[0], uid, [(2 * (BTC_ + 1), (1 << 62) - 1), (usdt_debt, amount)])
        return mutate

    assert_violations(tampered(d, owe((1 << 62) - 1)), set(), {})
    assert_violations(tampered(d, owe(1 << 62)), {BUS(R.RANGE_BUS, d), B8(d)}, {("range", 1 << 13): (2,)}, prove=True)


@pytest.mark.parametrize("part", [0, 2, 3])
def test_debt_total_off_by_one(whole, part):
    """As margin_tests.rs: one part of USDT's debt total off by one: the asset bus under the debt
    key (2a + 1, 1)."""
    t = clone(whole)
    t["public_elements"][debt_index(t, USDT_ + 1, part)] += 1
    residual = tuple(P - 1 if i == part else 0 for i in range(R.PARTS))
    assert_violations(t, {BUS(R.ASSET_BUS, whole), B8(whole)}, {("asset", (2 * (USDT_ + 1) + 1, 1)): residual},
                      prove=part == 0 or None)


@pytest.mark.parametrize("totals", ["lowered", "kept"])
def test_a_borrower_passed_off_as_debt_free(whole, totals):
    """As margin_tests.rs: the borrower's leaf keyed 0 and its run and close row removed. Its
    equity meets the equity totals under (2a, 0) directly, but its debt under (2a + 1, 0) has no
    sink; with the debt totals kept, the debt key (2a + 1, 1) misses it as well."""
    uid, rows, close = first_borrower(whole)
    usdt_debt = 2 * (USDT_ + 1) + 1

    def mutate(t):
        t["main"][leaf_rows(t, uid), R.UIDK] = 0
        clear_rows(t["main"], rows + [close])
        if totals == "lowered":
            move_total(t, usdt_debt, 50_000 * USD6, 0)

    parts = R.parts_of_limbs(R.limbs_of(50_000 * USD6))
    residuals = {("asset", (usdt_debt, 0)): tuple(parts)}
    if totals == "kept":
        residuals[("asset", (usdt_debt, 1))] = tuple((P - v) % P for v in parts)
    assert_violations(tampered(whole, mutate), {BUS(R.ASSET_BUS, whole), B8(whole)}, residuals)


def test_collateral_lent_from_another_borrower(whole):
    """As margin_tests.rs: the seven-entry borrower's 500 LINK counted in the first borrower's
    run (in its spare slot) instead of its own: each run stays covered, but the leaf's LINK is
    consumed under the other key."""
    lender, lender_rows, lender_close = run_of(whole, n_rows=4)
    uid, rows, _ = first_borrower(whole)
    link = (2 * (LINK_ + 1), 500 * ETH)

    def mutate(t):
        kept = [e for e in run_entries(t, lender_rows) if e != link]
        clear_rows(t["main"], lender_rows + [lender_close])
        write_run(t, lender_rows[0], lender, kept)
        write_run(t, rows[0], uid, run_entries(t, rows) + [link])

    parts = tuple(R.parts_of_limbs(R.limbs_of(link[1])))
    assert_violations(tampered(whole, mutate), {BUS(R.ASSET_BUS, whole), B8(whole)},
                      {("asset", (link[0], lender)): parts, ("asset", (link[0], uid)): tuple((P - v) % P for v in parts)})


def test_a_debt_stowed_in_slot_2(whole):
    """As margin_tests.rs: the USDT debt written into slot 2 of the borrower's entry row (which
    consumes nothing) and left out of the debt totals: the leaf's debt is never consumed."""
    uid, rows, close = first_borrower(whole)
    debt = (2 * (USDT_ + 1) + 1, 50_000 * USD6)

    def mutate(t):
        m = t["main"]
        clear_rows(m, rows + [close])
        write_run(t, rows[0], uid, [e for e in run_entries(whole, rows) if e != debt])
        x0, x1 = R.entry_elements(*debt)
        m[rows[0], R.slot_low(2)], m[rows[0], R.slot_high(2)] = x0, x1
        m[rows[0], R.limb(2, 0):R.limb(2, R.LIMBS_PER_SLOT)] = R.limbs_of(debt[1])
        move_total(t, debt[0], debt[1], 0)

    assert_violations(tampered(whole, mutate), {BUS(R.ASSET_BUS, whole), B8(whole)},
                      {("asset", (debt[0], uid)): tuple(R.parts_of_limbs(R.limbs_of(debt[1])))}, prove=True)


# -- dishonest: keys, runs and counts -------------------------------------------------------------


def test_a_run_relabelled_midway(whole):
    """As margin_tests.rs [M9]: the seven-entry borrower's last two entry rows keyed by the
    first borrower (INV to match): their entries are consumed under the other key."""
    uid, rows, _ = run_of(whole, n_rows=4)
    other = first_borrower(whole)[0]

    def mutate(t):
        for r in rows[2:]:
            t["main"][r, R.UIDK], t["main"][r, R.INV] = other, pow(other, P - 2, P)

    moved = [e for e in run_entries(whole, rows[2:])]
    residuals = {}
    for tag, amount in moved:
        parts = tuple(R.parts_of_limbs(R.limbs_of(amount)))
        residuals[("asset", (tag, uid))] = parts
        residuals[("asset", (tag, other))] = tuple((P - v) % P for v in parts)
    assert_violations(tampered(whole, mutate), {M(9, rows[2] - 1), BUS(R.ASSET_BUS, whole), B8(whole)}, residuals, prove=True)


def test_a_leaf_keyed_by_another_index(whole):
    """As margin_tests.rs [M0]: the first borrower's leaf rows and run keyed by a debt-free leaf's
    index: every bus balances, M0 fails on each of its leaf rows."""
    uid, rows, _ = first_borrower(whole)
    other = next(int(whole["main"][r, R.IDX]) for r in np.flatnonzero(col(whole, R.FIRST))
                 if whole["main"][r, R.UIDK] == 0)

    def mutate(t):
        t["main"][leaf_rows(t, uid), R.UIDK] = other
        for r in rows:
            t["main"][r, R.UIDK], t["main"][r, R.INV] = other, pow(other, P - 2, P)

    assert_violations(tampered(whole, mutate), {M(0, r) for r in leaf_rows(whole, uid)}, {}, prove=True)


def test_a_run_left_unclosed(whole):
    """As margin_tests.rs [M11]: the first borrower's close row made a filler."""
    _, rows, close = first_borrower(whole)
    assert_violations(tampered(whole, lambda t: clear_rows(t["main"], [close])), {M(11, rows[-1])}, {}, prove=True)


def test_a_run_open_at_the_last_real_row(whole):
    """[M-B0]: the whale's run moved to the last real rows without its close row: no transition
    constraint sees it (the last one is exempt), the boundary does."""
    whale_debt = (2 * (BTC_ + 1) + 1, 100 * BTC)
    uid, rows, close = run_of(whole, pred=lambda u, rs: whale_debt in run_entries(whole, rs))
    last = whole["last_real_row"]

    def mutate(t):
        m = t["main"]
        moved = m[rows][:, MARGIN_COLS].copy()
        clear_rows(m, rows + [close])
        for k, r in enumerate(range(last - len(rows) + 1, last + 1)):
            m[r, MARGIN_COLS] = moved[k]

    assert_violations(tampered(whole, mutate), {V("MB", 0, last)}, {}, prove=True)


@pytest.mark.parametrize("p", [0, 6, 13])
def test_running_value_off_its_products(whole, p):
    """As margin_tests.rs [M13-M26]: position p of the seven-entry run's value one higher on every
    row (the close row normalising the higher value): only the first row's step fails."""
    _, rows, close = run_of(whole, n_rows=4)

    def mutate(t):
        for r in rows:
            t["main"][r, R.acc_col(p)] = (int(t["main"][r, R.acc_col(p)]) + 1) % P
        rewrite_close(t, close)

    assert_violations(tampered(whole, mutate), {M(13 + p, rows[0] - 1)}, {}, prove=p == 6 or None)


def test_entry_rows_counted_from_zero(whole):
    """[M10]: the seven-entry run counts 0, 1, 2, 3 (and its close row 32 * 3): the first step."""
    _, rows, close = run_of(whole, n_rows=4)

    def mutate(t):
        for r in rows:
            t["main"][r, R.CNT] = int(t["main"][r, R.CNT]) - 1
        rewrite_close(t, close)

    assert_violations(tampered(whole, mutate), {M(10, rows[0] - 1)}, {})


def test_close_row_count_cell_off(whole):
    """[M27]: the close row's 32 * CNT cell one higher (still a table value)."""
    _, rows, close = run_of(whole, n_rows=4)
    t = tampered(whole, lambda t: t["main"].__setitem__((close, R.cell(R.COUNT_CELL)), 32 * 4 + 1))
    assert_violations(t, {M(27, close - 1)}, {})


@pytest.mark.parametrize("j", range(7))
def test_close_row_remainder_off(whole, j):
    """[M28-M34]: remainder r_j of the whale's close row one higher (its low cell still 13-bit)."""
    whale_debt = (2 * (BTC_ + 1) + 1, 100 * BTC)
    _, rows, close = run_of(whole, pred=lambda u, rs: whale_debt in run_entries(whole, rs))
    c = R.cell(R.CELLS_PER_PAIR * j)
    assert whole["main"][close, c] < R.TABLE_SIZE - 1
    t = tampered(whole, lambda t: t["main"].__setitem__((close, c), whole["main"][close, c] + 1))
    assert_violations(t, {M(28 + j, close - 1)}, {})


def test_inverse_of_the_key_wrong(whole):
    """[M8]: INV one off on an entry row."""
    _, rows, _ = first_borrower(whole)
    t = tampered(whole, lambda t: t["main"].__setitem__((rows[1], R.INV), (int(whole["main"][rows[1], R.INV]) + 1) % P))
    assert_violations(t, {M(8, rows[1])}, {})


def test_a_close_row_after_a_filler(whole):
    """[M12]: a close row (of value 0, count 0) after a filler; every cell a table value."""
    r = runs(whole)[-1][2] + 5
    t = tampered(whole, lambda t: write_close(t["main"], r, [0] * R.POSITIONS, 0))
    assert_violations(t, {M(12, r - 1)}, {})


# -- dishonest: flags -----------------------------------------------------------------------------


def zero_run(t, r, uid=5, me=1, cnt_step=1):
    """A run of two entry rows holding nothing (asset 1's equity tuple at amount 0), keyed uid,
    and its close row, from row r; the first row's ME is `me`, the second's CNT follows M10."""
    write_run(t, r, uid, [(2, 0)] * 4)
    t["main"][r, R.MENTRY] = me
    t["main"][r + 1, R.CNT] = (me * 1 + 1) % P
    t["main"][r + 2, R.cell(R.COUNT_CELL)] = 32 * ((me + 1) % P)


def test_an_empty_run_is_honest(whole):
    """A run that holds nothing breaks nothing (the flags tests below start from it)."""
    r = runs(whole)[-1][2] + 5
    assert_violations(tampered(whole, lambda t: zero_run(t, r)), set(), {})


def test_entry_flag_two(whole):
    """[M1]: ME = 2 on an empty run's first row (CNT 1, 3 and 32 * 3 to match): no other
    constraint or bus sees it."""
    r = runs(whole)[-1][2] + 5
    assert_violations(tampered(whole, lambda t: zero_run(t, r, me=2)), {M(1, r)}, {})


def test_close_flags_cancelling(whole):
    """[M2]: MC = 2 and -2 on two fillers holding a close row of value 0; [M12] sees each after a
    non-entry row. Their x0-top lookups count 1 - MC = -1 and 3: the close cell 2^12 in slot 0's
    l4 (the carry offset 2^36 = 2^24 * 2^12) is looked up twice net as 8 * 2^12, outside the
    table (a close row's MC = 1 is what turns that lookup off)."""
    r1, r2 = runs(whole)[-1][2] + 5, runs(whole)[-1][2] + 9

    def mutate(t):
        for r, flag in ((r1, 2), (r2, P - 2)):
            write_close(t["main"], r, [0] * R.POSITIONS, 0)
            t["main"][r, R.MCLOSE] = flag

    assert_violations(tampered(whole, mutate), {M(2, r1), M(2, r2), M(12, r1 - 1), M(12, r2 - 1),
                                                BUS(R.RANGE_BUS, whole), B8(whole)}, {("range", 8 << 12): (2,)})


def test_price_flags_cancelling(whole):
    """[M3]: MP = 2 and -2 on two fillers: their pin messages cancel, only M3 sees them."""
    r1, r2 = runs(whole)[-1][2] + 5, runs(whole)[-1][2] + 9

    def mutate(t):
        t["main"][r1, R.MPRICE], t["main"][r2, R.MPRICE] = 2, P - 2

    assert_violations(tampered(whole, mutate), {M(3, r1), M(3, r2)}, {})


def test_an_entry_row_doubling_as_a_price_row(whole):
    """[M6]: the price-table row of asset 1's equity dropped and an empty run's first entry row
    (which holds that tuple in slot 0) pinned in its place, answering every lookup of it."""
    r = runs(whole)[-1][2] + 5
    table = next(q for q in price_rows(whole) if slot_entry(whole, q, 0)[0] == 2 and whole["main"][q, R.kind_col(0)] == 0)

    def mutate(t):
        zero_run(t, r)
        t["main"][table, R.MPRICE] = 0
        t["main"][r, R.MPRICE] = 1

    assert_violations(tampered(whole, mutate), {M(6, r)}, {})


def test_a_close_row_doubling_as_a_price_row(whole):
    """[M7]: the whale's close row also pinned as the price-table row of asset 1's equity (slot 0's
    x1, kind and digits made that tuple; the table row dropped): it answers every lookup."""
    whale_debt = (2 * (BTC_ + 1) + 1, 100 * BTC)
    _, _, close = run_of(whole, pred=lambda u, rs: whale_debt in run_entries(whole, rs))
    table = next(q for q in price_rows(whole) if slot_entry(whole, q, 0)[0] == 2 and whole["main"][q, R.kind_col(0)] == 0)

    def mutate(t):
        m = t["main"]
        high = sum(int(m[close, R.limb(0, R.LOW_LIMBS + k)]) << (13 * k) for k in range(R.HIGH_LIMBS))
        m[close, R.slot_high(0)] = 2 + (high << R.TAG_BITS)
        m[close, R.coef_col(0, 0):R.coef_col(0, R.COEF_DIGITS)] = R.coef_digits(PRICES[0][0])
        m[table, R.MPRICE], m[close, R.MPRICE] = 0, 1

    assert_violations(tampered(whole, mutate), {M(7, close)}, {})


def test_an_entry_row_flagged_closed(whole):
    """[M5]: an empty run's second entry row also flagged MC: the run neither continues nor
    closes [M11], and the close-row constraints read that row's cells (all zero: no count [M27],
    carries of -2^36 in every pair [M28-M34])."""
    r = runs(whole)[-1][2] + 5

    def mutate(t):
        zero_run(t, r)
        t["main"][r + 1, R.MCLOSE] = 1

    assert_violations(tampered(whole, mutate), {M(5, r + 1), M(11, r), M(27, r)} | {M(28 + j, r) for j in range(7)}, {})


def test_a_leaf_row_flagged_closed(whole):
    """[M4]: MC on a leaf's first row would turn its x0-top and bound lookups off; the row before
    (another leaf's last) is no entry row [M12] and its hash state is no run's count or value
    [M27, M28-M34]."""
    r = next(f for f in np.flatnonzero(col(whole, R.FIRST)) if f > 0)
    t = tampered(whole, lambda t: t["main"].__setitem__((r, R.MCLOSE), 1))
    assert_violations(t, {M(4, r), M(12, r - 1), M(27, r - 1)} | {M(28 + j, r - 1) for j in range(7)}, {})
