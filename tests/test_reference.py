"""The Python reference of the solvency AIR (circuits/solvency/reference.py) against the Rust trace.

Honest traces (``stark_por._native.trace_dump``) must satisfy every constraint of the reference;
dishonest traces, each made by mutating a dumped trace the way a cheating prover would (and then
re-deriving everything else honestly: MULT, the helper columns, the running sum, the hashes and
the public root), must fail exactly the constraint(s) their family is about, at the expected row.
"""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import Asset, Ledger
from stark_por import _native

_PATH = Path(__file__).resolve().parents[1] / "circuits" / "solvency" / "reference.py"
_spec = importlib.util.spec_from_file_location("solvency_reference", _PATH)
R = importlib.util.module_from_spec(_spec)
sys.modules["solvency_reference"] = R
_spec.loader.exec_module(R)

P = R.P
GF = R.GF
V = R.Violation
SECRET = b"reference-test-secret-0123456789"
_rng = random.Random(20261125)
CHALLENGES = [[_rng.randrange(P), _rng.randrange(P)] for _ in range(3)]


# -- ledgers and dumps ----------------------------------------------------------------------------


def ledger(entries, num_assets, max_bits):
    """A Ledger from per-user lists of (asset index, amount)."""
    indptr = np.cumsum([0] + [len(e) for e in entries]).astype(np.uint64)
    flat = [x for e in entries for x in sorted(e)]
    return Ledger(
        [f"user-{i:03d}" for i in range(len(entries))],
        [Asset(f"A{k:02d}", 8) for k in range(num_assets)],
        indptr,
        np.array([a for a, _ in flat], dtype=np.uint32),
        np.array([v for _, v in flat], dtype=np.uint64),
        max_bits=max_bits,
    )


def dump(led, challenges=CHALLENGES, round_id="2026-11"):
    d = _native.trace_dump(
        list(led.user_ids), [(a.name, a.decimals) for a in led.assets],
        np.ascontiguousarray(led.indptr, dtype=np.uint64),
        np.ascontiguousarray(led.asset_index, dtype=np.uint32),
        np.ascontiguousarray(led.amounts, dtype=np.uint64),
        led.max_bits, SECRET, round_id, challenges,
    )
    d["challenges"] = challenges
    d["public_elements"] = list(d["public_elements"])
    return d


def ledger5():
    """5 users, 3 assets: N' = 8, so three padding leaves; one user holds nothing."""
    return ledger([
        [(0, 123_456_789), (2, (1 << 48) + 77)],
        [],
        [(0, 1), (1, 2), (2, 3)],
        [(1, (1 << 61) + 12_345)],
        [(0, 3 * 65_536 + 5), (1, 999)],
    ], 3, 62)


def ledger8():
    """8 users, 22 assets: one holds all 22 (6 blocks), one nothing, the others 1 to 9."""
    rng = np.random.default_rng(8)
    users = [[(k, int(rng.integers(1, 1 << 56))) for k in range(22)], []]
    for _ in range(6):
        held = rng.choice(22, size=int(rng.integers(1, 10)), replace=False)
        users.append([(int(k), int(2 ** rng.uniform(0, 56))) for k in held])
    users = [[(k, max(v, 1)) for k, v in u] for u in users]
    return ledger(users, 22, 56)


def ledger3():
    """3 users, 2 assets at the widest bound: amounts up to 2^63 - 1."""
    return ledger([[(0, (1 << 63) - 1), (1, 1)], [(1, (1 << 63) - 1)], [(0, 1 << 62)]], 2, 63)


@pytest.fixture(scope="module")
def dumps():
    return {"5x3": dump(ledger5()), "8x22": dump(ledger8()), "3x2": dump(ledger3())}


@pytest.fixture(scope="module")
def d8(dumps):
    return dumps["8x22"]


@pytest.fixture(scope="module")
def d5(dumps):
    return dumps["5x3"]


def clone(d):
    out = dict(d)
    out["main"] = d["main"].copy()
    out["aux"] = d["aux"].copy()
    out["public_elements"] = list(d["public_elements"])
    return out


# -- an honest prover's re-derivations, for the dishonest traces ----------------------------------


def cols(s):
    return slice(R.state(s, 0), R.state(s, 0) + R.STATE_WIDTH)


def to_u64(x):
    return np.asarray(x.view(np.ndarray), dtype=object).astype(np.uint64)


def rehash_row(main, r):
    """Recompute a row's states 1..7 from its permutation input."""
    states = R.permutation_states(GF(main[r, cols(0)]))
    for s in range(1, R.NUM_ROUNDS + 1):
        main[r, cols(s)] = to_u64(states[s])


def rehash_leaf_from(main, r):
    """Recompute row r and carry the capacity through the rest of its leaf."""
    rehash_row(main, r)
    while main[r, R.END] == 0:
        r += 1
        assert main[r, R.CONT] == 1
        main[r, R.state(0, 0):R.state(0, 4)] = main[r - 1, R.state(7, 0):R.state(7, 4)]
        rehash_row(main, r)


def rebuild_nodes(d, below=None):
    """Recompute the node rows (those with IDX < below) from their children; publish the root."""
    main, last = d["main"], d["last_real_row"]
    digests = {}
    for r in np.flatnonzero(main[:last + 1, R.END] == 1):
        digests[int(main[r, R.IDX])] = main[r, R.state(7, 4):R.state(7, 8)].copy()
    for r in np.flatnonzero(main[:last + 1, R.NODE] == 1):  # IDX N' - 1 down to 1
        i = int(main[r, R.IDX])
        if below is None or i < below:
            main[r, R.state(0, 4):R.state(0, 8)] = digests[2 * i]
            main[r, R.state(0, 8):R.state(0, 12)] = digests[2 * i + 1]
            rehash_row(main, r)
        digests[i] = main[r, R.state(7, 4):R.state(7, 8)].copy()
    d["public_elements"][12:16] = [int(v) for v in digests[1]]


def lookups(rows, range_check):
    """The 28 range-lookup values of each row: the 24 limbs and the 4 bound values
    shift*l_top + 2^12*sum_{i > top} l_i (computed here with the field, not the integers
    ``R.range_lookups`` uses)."""
    vals = [rows[:, R.limb(j, i)] for j in range(R.SLOTS) for i in range(R.LIMBS_PER_AMOUNT)]
    g = GF(rows)
    vals += [to_u64(R.bound_value(g, j, range_check)) for j in range(R.SLOTS)]
    return np.concatenate(vals)


def honest_helpers(rows, range_check, ch):
    """h_g = sum of n_i / d_i over each group of 6 terms (what build_aux_columns writes)."""
    terms = R.row_terms(rows, range_check, ch)
    out = []
    for g in range(R.NUM_HELPERS):
        h = R.ZERO
        for num, den in terms[g * R.TERMS_PER_HELPER:(g + 1) * R.TERMS_PER_HELPER]:
            h = h + num * den.inv()
        out.append(h)
    return out


def refresh(d, before):
    """After tampering with d's main trace (rows 0..last), redo what an honest prover derives
    from it: MULT from the lookups, the helper columns of every changed row, the running sum."""
    main, aux, last = d["main"], d["aux"], d["last_real_row"]
    pub = R.Public.parse(d["public_elements"])
    ch = R.Challenges.of(d["challenges"])
    range_check = pub.range_check()
    vals = lookups(main[:last + 1], range_check)
    counts = np.bincount(vals[vals < R.TABLE_SIZE].astype(np.int64), minlength=R.TABLE_SIZE)
    main[:R.TABLE_SIZE, R.MULT] = counts.astype(np.uint64)
    changed = np.flatnonzero((main[:last + 1] != before[:last + 1]).any(axis=1))
    if not changed.size:
        return
    cur_aux = GF(aux[changed])
    old = R.aux_column(cur_aux, 0)
    for g in range(1, R.NUM_HELPERS):
        old = old + R.aux_column(cur_aux, g)
    helpers = honest_helpers(GF(main[changed]), range_check, ch)
    new = helpers[0]
    for g, h in enumerate(helpers):
        aux[changed, g, 0] = to_u64(h.a * GF(np.ones(changed.size, dtype=np.uint64)))
        aux[changed, g, 1] = to_u64(h.b * GF(np.ones(changed.size, dtype=np.uint64)))
        if g:
            new = new + h
    delta = new - old
    steps = np.zeros((last + 2, 2), dtype=object)
    steps[changed + 1, 0] = np.asarray(delta.a.view(np.ndarray), dtype=object)
    steps[changed + 1, 1] = np.asarray(delta.b.view(np.ndarray), dtype=object)
    total = (aux[:last + 2, R.SUM].astype(object) + np.cumsum(steps, axis=0)) % P
    aux[:last + 2, R.SUM] = total.astype(np.uint64)


def tampered(d, mutate, *, rederive=True):
    """A copy of d mutated by ``mutate(copy)``; then (by default) MULT and the aux re-derived."""
    t = clone(d)
    mutate(t)
    if rederive:
        refresh(t, d["main"])
    return t


def assert_violations(t, expected, residuals=None):
    got = set(R.check(t))
    expected = set(expected)
    assert got == expected, f"unexpected: {sorted(got - expected)}, missing: {sorted(expected - got)}"
    pub = R.Public.parse(t["public_elements"])
    res = R.bus_residuals(t["main"], t["last_real_row"], pub)
    if residuals is not None:
        assert res == residuals
    # the row-by-row running sum and the exact bus balance tell the same story
    ch = R.Challenges.of(t["challenges"])
    final = R.Quad.of(t["aux"][t["last_real_row"] + 1, R.SUM])
    assert bool(final == R.expected_sum(pub, ch) + R.residual_sum(res, ch)) or any(
        v.kind == "A" for v in got)


# -- finding rows ---------------------------------------------------------------------------------


def last_real(d):
    return d["last_real_row"]


def leaves(d):
    """(first row, last row) of every leaf, in trace order."""
    main = d["main"]
    firsts = np.flatnonzero(main[:last_real(d) + 1, R.FIRST] == 1)
    out = []
    for f in firsts:
        r = int(f)
        while main[r, R.END] != 1:
            r += 1
        out.append((int(f), r))
    return out


def node_rows(d):
    return [int(r) for r in np.flatnonzero(d["main"][:last_real(d) + 1, R.NODE] == 1)]


def first_filler(d):
    return node_rows(d)[-1] + 1


def multi_block_leaf(d):
    return next((f, l) for f, l in leaves(d) if l > f)


def empty_leaf_inside(d):
    """A one-block leaf with no entries that is neither the first nor the last leaf."""
    main, ls = d["main"], leaves(d)
    for f, l in ls[1:-1]:
        if f == l and not main[f, R.LIMBS:].any():
            return f
    raise AssertionError("no empty leaf inside")


def entry_slot(d, *, min_limb1=0, max_limb0=R.TABLE_SIZE - 1):
    """(row, slot, asset) of a real entry in slots 2..3 of some leaf row with limb conditions."""
    main = d["main"]
    for f, l in leaves(d):
        for r in range(f, l + 1):
            for j in range(2, R.SLOTS):
                if (main[r, R.slot_asset(j)] != 0 and main[r, R.limb(j, 1)] >= min_limb1
                        and main[r, R.limb(j, 0)] < max_limb0):
                    return r, j, int(main[r, R.slot_asset(j)])
    raise AssertionError("no such entry")


def total_index(asset, part):
    """Index in public_elements of the public sum of part `part` of asset `asset` (from 1)."""
    return 16 + R.PARTS * (asset - 1) + part


def limbs_of(amount):
    return [(amount >> (R.LIMB_BITS * i)) & (R.TABLE_SIZE - 1) for i in range(R.LIMBS_PER_AMOUNT)]


def parts_of(amount):
    return [(amount >> (R.PART_BITS * i)) & ((1 << R.PART_BITS) - 1) for i in range(R.PARTS)]


def set_amount(t, r, j, amount):
    """Give slot j of leaf row r a new amount (and its limbs); rehash the leaf, the tree and the
    root, and move the asset's public part sums by the difference."""
    m = t["main"]
    asset, old = int(m[r, R.slot_asset(j)]), int(m[r, R.slot_amount(j)])
    m[r, R.slot_amount(j)] = amount
    m[r, R.limb(j, 0):R.limb(j, 0) + R.LIMBS_PER_AMOUNT] = limbs_of(amount)
    rehash_leaf_from(m, r)
    rebuild_nodes(t)
    for i, (new_part, old_part) in enumerate(zip(parts_of(amount), parts_of(old))):
        k = total_index(asset, i)
        t["public_elements"][k] = (t["public_elements"][k] + new_part - old_part) % P


def T(i, r):
    return V("T", i, r)


def B(i, r):
    return V("B", i, r)


def BUS(bus, d):
    return V("bus", bus, last_real(d) + 1)


def B9(d):
    return V("B", 9, last_real(d) + 1)


# -- the reference's own pieces -------------------------------------------------------------------


def test_permutation_known_answer():
    # winter-crypto's test vector for Rp64_256 (from the Sage reference implementation)
    out = R.permutation(GF(np.arange(12, dtype=np.uint64)))
    assert [int(v) for v in out] == [
        11084501481526603421, 6291559951628160880, 13626645864671311919, 18397438323058963117,
        7443014167353970324, 17930833023906771425, 4275355080008025761, 7676681476902901785,
        3460534574143792217, 11912731278641497187, 8104899243369883110, 674509706691634438]


def test_quad_matches_galois_extension_field():
    ext = R.galois.GF(P**2, irreducible_poly=R.galois.Poly([1, P - 1, 2], field=GF))
    rnd = random.Random(3)
    for _ in range(20):
        a, b, c, e = (rnd.randrange(P) for _ in range(4))
        x, y = R.Quad(a, b), R.Quad(c, e)
        X, Y = ext(b * P + a), ext(e * P + c)  # a + b*phi is the polynomial b*x + a
        prod, quot = int(X * Y), int(X / Y)
        assert (x * y).pair() == (prod % P, prod // P)
        assert (x / y).pair() == (quot % P, quot // P)


def test_layout_and_counts():
    assert R.LIMBS == 104 and R.MAIN_WIDTH == 128 and R.NUM_TERMS == 36 and R.AUX_WIDTH == 7
    assert R.LEAF_TAG == int.from_bytes(b"stpr/lf\x01", "big")
    row, nxt = GF(np.zeros(R.MAIN_WIDTH, dtype=np.uint64)), GF(np.zeros(R.MAIN_WIDTH, dtype=np.uint64))
    pub = R.Public.parse([1, 2, 62, 1] + [0] * 12 + [0, 0, 0])
    assert len(R.main_transition(row, nxt, pub)) == R.NUM_MAIN_CONSTRAINTS == 117
    assert R.FIRST_ROUND_CONSTRAINT == 33
    # RangeCheck::new: (top, shift) for a few bounds
    checks = {bits: R.Public.parse([1, 2, bits, 1] + [0] * 15).range_check() for bits in (32, 48, 56, 60, 62, 63)}
    assert checks == {32: (2, 16), 48: (3, 1), 56: (4, 16), 60: (4, 1), 62: (5, 1024), 63: (5, 512)}


def test_bound_value_fits_the_table_iff_the_amount_is_below_the_bound():
    """For 12-bit limbs, shift*l_top + 2^12*sum_{i > top} l_i is an integer below 2^26 (no
    wrap-around), and below 2^12 exactly when the amount is below 2^R: for every bound, on
    amounts around 2^R, around each limb boundary above it, at the extremes, and random."""
    rnd = random.Random(5)
    for bits in range(R.MIN_RANGE_BITS, R.MAX_RANGE_BITS + 1):
        pub = R.Public.parse([1, 2, bits, 1] + [0] * 15)
        amounts = {0, 1, (1 << 72) - 1, P - 1}
        for e in [bits] + list(range(bits, 72, R.LIMB_BITS)) + [12 * i for i in range(1, 6)]:
            amounts |= {(1 << e) - 1, 1 << e, (1 << e) + 1}
        amounts |= {rnd.randrange(1 << rnd.randrange(1, 73)) for _ in range(200)}
        amounts = sorted(a for a in amounts if 0 <= a < 1 << 72)
        rows = np.zeros((len(amounts), R.MAIN_WIDTH), dtype=np.uint64)
        for k, a in enumerate(amounts):
            rows[k, R.limb(2, 0):R.limb(2, 0) + R.LIMBS_PER_AMOUNT] = limbs_of(a)
        values = [int(v) for v in R.bound_value(GF(rows), 2, pub.range_check())]
        exact = R.range_lookups(rows, pub.range_check())[R.SLOTS * R.LIMBS_PER_AMOUNT + 2]
        assert [int(v) for v in exact] == values
        for a, v in zip(amounts, values):
            assert v < 1 << 26
            assert (v < R.TABLE_SIZE) == (a < 1 << bits), (bits, a, v)


# Degrees the constraints have by their formulas (and by the README's table): [T0-T1] 2,
# [T2-T13] 3, [T14] 4, [T15-T32] 3, [T33-T116] 9; [A0-A5] 8, [A6] 2.
INTENDED_MAIN_DEGREES = [2] * 2 + [3] * 12 + [4] + [3] * 18 + [9] * 84
INTENDED_AUX_DEGREES = [8] * 6 + [2]


def declared_degrees():
    """The (count, degree) lists SolvencyAir::new declares, read from air.rs's source."""
    src = (_PATH.parent / "src" / "air.rs").read_text()
    env = {"NUM_ROUNDS": R.NUM_ROUNDS, "STATE_WIDTH": R.STATE_WIDTH, "NUM_HELPERS": R.NUM_HELPERS,
           "TERMS_PER_HELPER": R.TERMS_PER_HELPER, "SLOTS": R.SLOTS}
    out = []
    for name in ("main_degrees", "aux_degrees"):
        body = re.search(name + r" = degrees\(&\[(.*?)\]\);", src, re.S).group(1)
        body = re.sub(r"//[^\n]*", "", body)
        pairs = re.findall(r"\(([^(),]+),([^(),]+)\)", body)
        out.append([int(eval(deg, {}, env)) for count, deg in pairs for _ in range(eval(count, {}, env))])
    return out


def test_measured_degrees_are_the_intended_ones():
    pub = R.Public.parse([1, 8, 56, 2] + [0] * 12 + [5, 6, 7, 8, 9, 10])
    main, aux = R.constraint_degrees(pub, R.Challenges.of(CHALLENGES))
    assert main == INTENDED_MAIN_DEGREES
    assert aux == INTENDED_AUX_DEGREES


def test_declared_degrees_match_the_constraints():
    main, aux = declared_degrees()
    assert len(main) == R.NUM_MAIN_CONSTRAINTS and len(aux) == R.NUM_AUX_CONSTRAINTS
    assert aux == INTENDED_AUX_DEGREES
    assert main == INTENDED_MAIN_DEGREES


# -- honest traces --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["5x3", "8x22", "3x2"])
def test_honest_trace_satisfies_every_constraint(dumps, name):
    d = dumps[name]
    assert d["circuit_version"] == R.CIRCUIT_VERSION
    assert d["last_real_row"] == R.last_real_row(d["main"].shape[0])
    # every transition of the 22-asset trace; the others as check() selects them
    assert R.check(d, rows="all" if name == "8x22" else None) == []
    pub = R.Public.parse(d["public_elements"])
    ch = R.Challenges.of(d["challenges"])
    assert R.bus_residuals(d["main"], last_real(d), pub) == {}
    expected = R.expected_sum(pub, ch)
    assert expected.pair() == tuple(d["expected_sum"])
    assert R.Quad.of(d["aux"][last_real(d) + 1, R.SUM]).pair() == expected.pair()
    # the evaluated rows include every leaf and node row and both sides of each boundary
    rows = set(R.evaluated_rows(d).tolist())
    assert set(range(first_filler(d))) <= rows
    assert {0, R.TABLE_SIZE - 1, last_real(d) - 1, last_real(d), last_real(d) + 1} <= rows


def test_helper_columns_match_rust(d8):
    """The helpers the reference would write equal the dumped ones on leaf, node and table rows."""
    pub = R.Public.parse(d8["public_elements"])
    ch = R.Challenges.of(d8["challenges"])
    rows = np.arange(first_filler(d8) + 3)
    for g, h in enumerate(honest_helpers(GF(d8["main"][rows]), pub.range_check(), ch)):
        assert (h == R.aux_column(GF(d8["aux"][rows]), g)).all()


@pytest.mark.parametrize("name", ["5x3", "8x22"])
def test_permutation_equals_trace_states(dumps, name):
    d = dumps[name]
    main = d["main"]
    rows = [r for f, l in leaves(d) for r in range(f, l + 1)] + node_rows(d)
    assert any(main[r, R.CONT] for r in rows) and any(main[r, R.NODE] for r in rows)
    for r in rows:
        states = R.permutation_states(GF(main[r, cols(0)]))
        assert [int(v) for v in R.permutation(GF(main[r, cols(0)]))] == main[r, cols(7)].tolist()
        for s in range(1, 8):
            assert [int(v) for v in states[s]] == main[r, cols(s)].tolist(), (r, s)


def test_blinding_rows_are_gated_off(d5):
    """Every transition from the last real row on evaluates to zero although the blinding rows
    are uniform: only SEL gates them. Forcing SEL to 1 there makes them fail wholesale."""
    main, last = d5["main"], last_real(d5)
    n = main.shape[0]
    assert (main[last + 1:, R.SEL] == 0).all() and main[last + 1:, R.FIRST].any()
    assert R.check(d5, rows=np.arange(last, n - 1)) == []
    ungated = clone(d5)
    ungated["main"][last + 1:, R.SEL] = 1
    rs = np.arange(last + 1, last + 9)
    values = R.main_transition(GF(ungated["main"][rs]), GF(ungated["main"][rs + 1]),
                               R.Public.parse(d5["public_elements"]))
    assert sum(int((v != 0).sum()) for v in values) > 8 * 80


def test_refresh_of_an_untouched_trace_changes_nothing(d5):
    t = tampered(d5, lambda t: None)
    assert (t["main"] == d5["main"]).all() and (t["aux"] == d5["aux"]).all()


@settings(max_examples=5, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_small_ledgers_are_honest(data):
    k = data.draw(st.integers(1, 6), label="assets")
    n = data.draw(st.integers(1, 9), label="users")
    bits = data.draw(st.integers(32, 62), label="range bits")
    users = []
    for _ in range(n):
        held = data.draw(st.sets(st.integers(0, k - 1)), label="held")
        users.append([(a, data.draw(st.integers(1, (1 << bits) - 1))) for a in sorted(held)])
    d = dump(ledger(users, k, bits), round_id=data.draw(st.text("abc-019", min_size=1, max_size=12)))
    assert R.check(d, fillers=32, blinding=16) == []
    pub = R.Public.parse(d["public_elements"])
    assert R.Quad.of(d["aux"][last_real(d) + 1, R.SUM]) == R.expected_sum(pub, R.Challenges.of(CHALLENGES))


def test_running_sum_changed_anywhere(d5):
    """[A6] is evaluated on every row: one changed cell of the sum fails the two transitions
    that read it, wherever it is."""
    r = last_real(d5) - 101
    t = clone(d5)
    t["aux"][r, R.SUM, 1] = (int(t["aux"][r, R.SUM, 1]) + 1) % P
    assert set(R.check(t)) == {V("A", R.SUM, r - 1), V("A", R.SUM, r)}


def test_sel_raised_deep_in_the_blinding_rows(d5):
    """A blinding row with SEL = 1 far from the boundary is found (not sampled) and fails [T1]
    on the transition into it (s'*(1 - s) = 1), besides whatever its random values break."""
    r = (last_real(d5) + d5["main"].shape[0]) // 2
    t = clone(d5)
    t["main"][r, R.SEL] = 1
    got = set(R.check(t))
    assert V("T", 1, r - 1) in got
    assert all(v.row in (r - 1, r) for v in got)


# -- dishonest traces: range ----------------------------------------------------------------------


def test_limb_outside_the_table(d8):
    """l0 + 2^12*l1 kept equal, but l0 >= 2^12: no MULT can balance the lookup of l0."""
    r, j, _ = entry_slot(d8, min_limb1=1)
    l0 = int(d8["main"][r, R.limb(j, 0)])

    def mutate(t):
        t["main"][r, R.limb(j, 0)] += np.uint64(R.TABLE_SIZE)
        t["main"][r, R.limb(j, 1)] -= np.uint64(1)

    t = tampered(d8, mutate)
    assert_violations(t, {BUS(R.RANGE_BUS, d8), B9(d8)}, {("range", l0 + R.TABLE_SIZE): (1,)})


def test_limb_outside_the_table_with_stale_aux(d8):
    """Without re-deriving the aux, the helper constraint of the limb's group fails at its row."""
    r, j, _ = entry_slot(d8, min_limb1=1)

    def mutate(t):
        t["main"][r, R.limb(j, 0)] += np.uint64(R.TABLE_SIZE)
        t["main"][r, R.limb(j, 1)] -= np.uint64(1)

    t = tampered(d8, mutate, rederive=False)
    groups = {((R.LIMBS_PER_AMOUNT + 1) * j + i) // R.TERMS_PER_HELPER for i in (0, 1)}
    assert set(R.check(t)) == {V("A", g, r) for g in groups} | {BUS(R.RANGE_BUS, d8)}


def test_amount_not_equal_to_its_limbs(d8):
    """Limbs worth one more than the hashed amount, and a public total to match them."""
    r, j, asset = entry_slot(d8, max_limb0=R.TABLE_SIZE - 1)

    def mutate(t):
        t["main"][r, R.limb(j, 0)] += np.uint64(1)
        t["public_elements"][total_index(asset, 0)] += 1  # part 0 of the entry's asset

    assert_violations(tampered(d8, mutate), {T(29 + j, r)}, {})


@pytest.mark.parametrize("name", ["5x3", "8x22"])
def test_balance_of_p_minus_1(dumps, name):
    """An amount of p - 1 = 2^64 - 2^32, its only 12-bit limbs (0, 0, 0xF00, 0xFFF, 0xFFF, 0xF);
    hashes, root and totals are made consistent with it. Under a 62-bit bound (top limb 5,
    shift 2^10) the bound value 0xF * 2^10 falls outside the table; under a 56-bit bound
    (top limb 4, shift 2^4) so does 0xFFF * 2^4 + 2^12 * 0xF. No main constraint fails: the
    one bound lookup is all that refuses it."""
    d = dumps[name]
    r, j, _ = entry_slot(d)
    top, shift = R.Public.parse(d["public_elements"]).range_check()
    limbs = limbs_of(P - 1)
    assert limbs == [0, 0, 0xF00, 0xFFF, 0xFFF, 0xF]
    bound = limbs[top] * shift + R.TABLE_SIZE * sum(limbs[top + 1:])
    assert bound == {5: 0xF << 10, 4: (0xFFF << 4) + (0xF << 12)}[top]

    t = tampered(d, lambda t: set_amount(t, r, j, P - 1))
    assert_violations(t, {BUS(R.RANGE_BUS, d), B9(d)}, {("range", bound): (1,)})


@pytest.mark.parametrize("bits_over", [0, 1])
def test_amount_at_the_bound(d8, bits_over):
    """2^56 - 1 is the largest amount a 56-bit bound admits, 2^56 the smallest it refuses: its
    limb 4 is 2^8 and 2^8 * 2^4 = 2^12 is just outside the table."""
    r, j, _ = entry_slot(d8)
    amount = (1 << 56) - 1 + bits_over
    t = tampered(d8, lambda t: set_amount(t, r, j, amount))
    if bits_over:
        assert_violations(t, {BUS(R.RANGE_BUS, d8), B9(d8)}, {("range", R.TABLE_SIZE): (1,)})
    else:
        assert_violations(t, set(), {})


@pytest.mark.parametrize("kind", ["filler", "first block", "node", "entry"])
def test_limb_above_the_bound(d8, kind):
    """The bound lookup is made on every real row: a 1 in limb 5 (above the 56-bit bound's top
    limb 4) of slot j puts shift*l_4 + 2^12 outside the table, whatever the row, even where
    nothing else reads the limb. No main constraint sees it (there is none on those limbs any
    more): only the range bus, hence B9. On an entry the amount, hash, root and public total
    are made consistent with the limbs, so the bound lookup alone refuses the amount."""
    rows = {"filler": first_filler(d8) + 7, "first block": leaves(d8)[1][0], "node": node_rows(d8)[3]}
    if kind == "entry":
        r, j, _ = entry_slot(d8)
    else:
        r, j = rows[kind], (1 if kind != "filler" else 3)
    top, shift = R.Public.parse(d8["public_elements"]).range_check()
    assert (top, shift) == (4, 16)
    l_top = int(d8["main"][r, R.limb(j, top)])
    assert int(d8["main"][r, R.limb(j, 5)]) == 0

    def mutate(t):
        if kind == "entry":
            set_amount(t, r, j, int(t["main"][r, R.slot_amount(j)]) + (1 << 60))
        else:
            t["main"][r, R.limb(j, 5)] = 1

    t = tampered(d8, mutate)
    assert int(t["main"][r, R.limb(j, 5)]) == 1
    assert_violations(t, {BUS(R.RANGE_BUS, d8), B9(d8)}, {("range", l_top * shift + R.TABLE_SIZE): (1,)})


# -- dishonest traces: totals and the tree --------------------------------------------------------


@pytest.mark.parametrize("part", [0, 2])
def test_wrong_total(d8, part):
    t = clone(d8)
    t["public_elements"][total_index(1, part)] += 1
    residual = tuple(P - 1 if i == part else 0 for i in range(R.PARTS))
    assert_violations(t, {BUS(R.ASSET_BUS, d8), B9(d8)}, {("asset", 1): residual})


def test_leaf_digest_not_consumed_by_its_parent(d8):
    """The lowest node absorbs a left child one off from the published leaf digest; the node and
    its ancestors are rehashed and the new root is published."""
    r = node_rows(d8)[0]
    i = int(d8["main"][r, R.IDX])
    child = tuple(int(v) for v in d8["main"][r, R.state(0, 4):R.state(0, 8)])

    def mutate(t):
        t["main"][r, R.state(0, 4)] += np.uint64(1)
        rehash_row(t["main"], r)
        rebuild_nodes(t, below=i)

    forged = (child[0] + 1,) + child[1:]
    assert_violations(tampered(d8, mutate), {BUS(R.TREE_BUS, d8), B9(d8)},
                      {("tree", (2 * i,) + child): (1,), ("tree", (2 * i,) + forged): (P - 1,)})


def test_padding_leaf_with_an_entry(d5):
    """An empty leaf gains (asset 1, 5); tree and root are consistent, the totals are not."""
    r = empty_leaf_inside(d5)

    def mutate(t):
        m = t["main"]
        m[r, R.slot_asset(2)] = 1
        m[r, R.slot_amount(2)] = 5
        m[r, R.limb(2, 0)] = 5
        rehash_leaf_from(m, r)
        rebuild_nodes(t)

    assert_violations(tampered(d5, mutate), {BUS(R.ASSET_BUS, d5), B9(d5)}, {("asset", 1): (5, 0, 0)})


# -- dishonest traces: flags and row order --------------------------------------------------------


def test_end_dropped_before_a_new_leaf(d8):
    """[T11], [T14]: a leaf that does not end is followed by a new leaf; its digest is never
    published."""
    main = d8["main"]
    r = next(l for f, l in leaves(d8) if main[l + 1, R.FIRST] == 1)
    msg = (int(main[r, R.IDX]),) + tuple(int(v) for v in main[r, R.state(7, 4):R.state(7, 8)])

    def mutate(t):
        t["main"][r, R.END] = 0

    assert_violations(tampered(d8, mutate), {T(11, r), T(14, r), BUS(R.TREE_BUS, d8), B9(d8)},
                      {("tree", msg): (P - 1,)})


def test_end_raised_inside_a_leaf(d8):
    """[T10]: a block that ends its leaf is followed by a continuation."""
    main = d8["main"]
    r = multi_block_leaf(d8)[0]
    msg = (int(main[r, R.IDX]),) + tuple(int(v) for v in main[r, R.state(7, 4):R.state(7, 8)])

    def mutate(t):
        t["main"][r, R.END] = 1

    assert_violations(tampered(d8, mutate), {T(10, r), BUS(R.TREE_BUS, d8), B9(d8)},
                      {("tree", msg): (1,)})


def test_first_flag_not_binary(d5):
    """FIRST = 2 on an empty one-block leaf: [T2], [T9] (e*(1 - leaf) = -1), [T13] and [T15]
    on the transition into it."""
    r = empty_leaf_inside(d5)

    def mutate(t):
        t["main"][r, R.FIRST] = 2

    assert_violations(tampered(d5, mutate), {T(2, r), T(9, r), T(13, r - 1), T(15, r - 1)}, {})


def test_first_flag_dropped(d5):
    """FIRST = 0 on an empty one-block leaf: a row with END but no kind [T9], a filler after a
    leaf [T13], IDX stepping without a new leaf [T15]."""
    r = empty_leaf_inside(d5)

    def mutate(t):
        t["main"][r, R.FIRST] = 0

    assert_violations(tampered(d5, mutate), {T(9, r), T(13, r - 1), T(15, r - 1)}, {})


@pytest.mark.parametrize("where", ["filler", "leaf"])
def test_idx_off_by_one(d5, where):
    """[T15] on both transitions around the row; a leaf also publishes under the wrong index."""
    main = d5["main"]
    r = first_filler(d5) + 100 if where == "filler" else empty_leaf_inside(d5)

    def mutate(t):
        t["main"][r, R.IDX] += np.uint64(1)

    expected = {T(15, r - 1), T(15, r)}
    residuals = {}
    if where == "leaf":
        i = int(main[r, R.IDX])
        digest = tuple(int(v) for v in main[r, R.state(7, 4):R.state(7, 8)])
        expected |= {BUS(R.TREE_BUS, d5), B9(d5)}
        residuals = {("tree", (i,) + digest): (P - 1,), ("tree", (i + 1,) + digest): (1,)}
    assert_violations(tampered(d5, mutate), expected, residuals)


# -- dishonest traces: hashing --------------------------------------------------------------------


@pytest.mark.parametrize("k", [0, 3])
def test_capacity_not_carried(d8, k):
    """[T17-T20]: the last block of a multi-block leaf starts from another capacity; the block,
    the tree and the root are rehashed consistently."""
    r = multi_block_leaf(d8)[1]

    def mutate(t):
        t["main"][r, R.state(0, k)] += np.uint64(1)
        rehash_row(t["main"], r)
        rebuild_nodes(t)

    assert_violations(tampered(d8, mutate), {T(17 + k, r - 1)}, {})


@pytest.mark.parametrize("k", [0, 2])
def test_wrong_leaf_iv(d8, k):
    """[T21-T24]: a leaf hashed from another capacity than [LEAF_TAG, 0, 0, 0]."""
    r = leaves(d8)[2][0]

    def mutate(t):
        t["main"][r, R.state(0, k)] += np.uint64(1)
        rehash_leaf_from(t["main"], r)
        rebuild_nodes(t)

    assert_violations(tampered(d8, mutate), {T(21 + k, r)}, {})


def test_wrong_node_iv(d8):
    """[T25-T28]: a node hashed from another capacity than [NODE_TAG, 0, 0, 0]."""
    r = node_rows(d8)[2]
    i = int(d8["main"][r, R.IDX])

    def mutate(t):
        t["main"][r, R.state(0, 1)] = 7
        rehash_row(t["main"], r)
        rebuild_nodes(t, below=i)

    assert_violations(tampered(d8, mutate), {T(26, r)}, {})


@pytest.mark.parametrize("kind,s,c", [("leaf", 3, 5), ("node", 1, 0), ("node", 7, 9)])
def test_hash_state_cell_changed(d8, kind, s, c):
    """One cell of an intermediate state breaks the 12 constraints of the round that produces it
    and the 12 of the round that consumes it (MDS and its inverse are dense); a cell of the
    output's non-digest rate only the last round's."""
    r = multi_block_leaf(d8)[0] + 1 if kind == "leaf" else node_rows(d8)[1]

    def mutate(t):
        t["main"][r, R.state(s, c)] = (int(t["main"][r, R.state(s, c)]) + 1) % P

    rounds = [rnd for rnd in (s - 1, s) if 0 <= rnd < R.NUM_ROUNDS]
    expected = {T(R.FIRST_ROUND_CONSTRAINT + 12 * rnd + k, r) for rnd in rounds for k in range(12)}
    assert_violations(tampered(d8, mutate), expected, {})


# -- dishonest traces: SEL ------------------------------------------------------------------------


def test_sel_drops_to_zero_among_fillers(d8):
    r = (R.TABLE_SIZE + last_real(d8)) // 2  # a filler past the table
    assert first_filler(d8) < R.TABLE_SIZE < r < last_real(d8)

    def mutate(t):
        t["main"][r, R.SEL] = 0

    assert_violations(tampered(d8, mutate), {T(1, r)}, {})


def test_sel_not_binary(d8):
    r = first_filler(d8) + 5

    def mutate(t):
        t["main"][r, R.SEL] = 2

    assert_violations(tampered(d8, mutate), {T(0, r), T(1, r)}, {})


def test_sel_zero_on_the_first_row(d8):
    def mutate(t):
        t["main"][0, R.SEL] = 0

    assert_violations(tampered(d8, mutate), {B(0, 0), T(1, 0)}, {})


def test_sel_zero_on_the_last_real_row(d8):
    last = last_real(d8)

    def mutate(t):
        t["main"][last, R.SEL] = 0

    assert_violations(tampered(d8, mutate), {B(1, last)}, {})


def test_sel_one_on_the_first_blinding_row(d8):
    """[B2]; the blinding row's uniform values then face every constraint (any failing one will
    do), and T1 lets SEL fall back to 0 after it."""
    last = last_real(d8)
    t = clone(d8)
    t["main"][last + 1, R.SEL] = 1
    got = set(R.check(t))
    assert B(2, last + 1) in got
    assert any(v.kind == "T" and v.row == last + 1 for v in got)
