"""The Python reference of the liabilities AIR (circuits/liabilities/reference.py, statement
version 2) against Rust traces of version-2 forests (``stark_por._native.trace_dump_v2``).

Honest forests must satisfy every constraint of the reference, and the reference's verifier side
(expected sum) must equal the Rust AIR's. Each dishonest trace is made by mutating a dumped trace
the way a cheating prover would, then re-deriving everything else honestly (MULT, the helper
columns, the running sum, hashes, node digests and public roots, public totals where the cheat
needs them); it must fail exactly the constraints its comment predicts from the README, at the
predicted rows. Each dishonest main trace is then proved by the Rust prover
(``_native.prove_trace_v2``) and must be refused by the Rust verifier (accepted when the
reference finds nothing). The cheats of ``circuits/liabilities/src/tests.rs`` are repeated here
(tagged "as tests.rs") so that both readings of the constraints agree on what each one breaks.
"""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from pathlib import Path

import numpy as np
import pytest

from hypothesis import HealthCheck, given, settings, strategies as st

from stark_por import _native

_PATH = Path(__file__).resolve().parents[1] / "circuits" / "liabilities" / "reference.py"
_spec = importlib.util.spec_from_file_location("liabilities_reference", _PATH)
R = importlib.util.module_from_spec(_spec)
sys.modules["liabilities_reference"] = R
_spec.loader.exec_module(R)

P, GF, V = R.P, R.GF, R.Violation
SECRET = b"reference-v2-secret-0123456789ab"
_rng = random.Random(20261202)
CHALLENGES = [[_rng.randrange(P), _rng.randrange(P)] for _ in range(3)]
MAX = (1 << 112) - 1
ETH = 10**18

# a few exchange assets at their native decimals
ASSETS = [("BTC", 8), ("ETH", 18), ("USDT", 6), ("USDC", 6), ("SOL", 9), ("XRP", 6), ("DOGE", 8),
          ("TRX", 6), ("SHIB", 18), ("LINK", 18)]


# -- ledgers and dumps ----------------------------------------------------------------------------


def dump(users, assets=ASSETS, bits=112, capacity=None, forest=0, round_id="2026-12"):
    """Forest `forest` of the round of `users` (lists of (asset index, amount)) cut into forests
    of at most `capacity` permutation rows (None: the whole tree)."""
    flat = [x for u in users for x in sorted(u)]
    amounts = [v for _, v in flat]
    d = _native.trace_dump_v2(
        [f"user-{i:03d}" for i in range(len(users))], list(assets),
        np.cumsum([0] + [len(u) for u in users]).astype(np.uint64),
        np.array([a for a, _ in flat], dtype=np.uint32),
        np.array([v & (2**64 - 1) for v in amounts], dtype=np.uint64),
        np.array([v >> 64 for v in amounts], dtype=np.uint64),
        bits, SECRET, round_id, CHALLENGES, capacity, forest,
    )
    d["challenges"] = CHALLENGES
    d["public_elements"] = list(d["public_elements"])
    return d


def w3_users():
    """Eleven W3-like users: BTC at 8 decimals, ETH and SHIB at 18 with whales, dust, a user
    holding all ten assets (three blocks), amounts at every limb boundary and at 2^112 - 1, and
    one of 5 * 2^62 (x0 = 0, the tag attack's target)."""
    return [
        [(0, 50_000_000), (1, 3_200_000_000_000_000_000), (2, 1_500_000_000)],
        [(1, 250_000 * ETH), (8, 10**15 * ETH)],  # an ETH whale, SHIB's whole supply
        [(0, 1), (1, 1)],  # dust
        [(0, (1 << 62) - 1), (1, 1 << 62), (2, (1 << 13) - 1), (3, 1 << 13), (4, (1 << 26) + 1),
         (5, (1 << 52) - 1), (6, (1 << 75) - 1), (7, 1 << 88), (8, MAX), (9, 1 << 101)],
        [(1, 5 * ETH)],  # 5 ETH: above 2^62 wei
        [(2, 10**6)],
        [(1, 5 << 62)],
        [(4, 7), (9, 12 * ETH)],
        [(0, 21_000_000 * 10**8)],  # every bitcoin
        [(3, 999_999), (5, (1 << 39) + 3)],
        [(8, 123_456_789 * ETH), (9, MAX)],
    ]


@pytest.fixture(scope="module")
def whole():
    """The whole tree of the eleven users (N' = 16) as one forest."""
    return dump(w3_users())


@pytest.fixture(scope="module")
def middle():
    """The middle forest of the same round cut into 3: a range with several roots."""
    d = dump(w3_users(), capacity=12, forest=1)
    assert d["forests"] >= 3 and len(R.Public.parse(d["public_elements"]).roots) >= 3
    return d


def clone(d):
    out = dict(d)
    out["main"], out["aux"] = d["main"].copy(), d["aux"].copy()
    out["public_elements"] = list(d["public_elements"])
    return out


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
    """Rehash row r and carry the capacity through the rest of its leaf."""
    rehash_row(main, r)
    while main[r, R.END] == 0:
        r += 1
        main[r, R.state(0, 0):R.state(0, 4)] = main[r - 1, R.state(7, 0):R.state(7, 4)]
        rehash_row(main, r)


def public(d):
    return R.Public.parse(d["public_elements"])


def rebuild_nodes(d, below=None):
    """Recompute every node row (IDX < below) from its children, then publish the forest roots."""
    main, last = d["main"], d["last_real_row"]
    digests = {}
    for r in range(last + 1):
        if main[r, R.END] == 1:
            digests[int(main[r, R.IDX])] = main[r, R.state(7, 4):R.state(7, 8)].copy()
        elif main[r, R.NODE] == 1:
            i = int(main[r, R.IDX])
            if below is None or i < below:
                main[r, R.state(0, 4):R.state(0, 8)] = digests[2 * i]
                main[r, R.state(0, 8):R.state(0, 12)] = digests[2 * i + 1]
                rehash_row(main, r)
            digests[i] = main[r, R.state(7, 4):R.state(7, 8)].copy()
    for k, i in enumerate(public(d).forest.roots()):
        d["public_elements"][15 + 4 * k:19 + 4 * k] = [int(v) for v in digests[i]]


def honest_mult(main, last, pub):
    """MULT as an honest prover derives it: every lookup of v (weighted by its numerator) on the
    first table row holding v."""
    counts = R.range_lookups(main[:last + 1], pub.range_check())
    values, first = np.unique(main[:last + 1, R.TABLE], return_index=True)
    mult = np.zeros(last + 1, dtype=np.uint64)
    for v, r in zip(values.tolist(), first.tolist()):
        mult[r] = counts.get(v, 0) % P
    return mult


def helpers_of(rows, pub, ch):
    terms = R.row_terms(GF(rows), pub.range_check(), ch)
    out = []
    for g in range(R.NUM_HELPERS):
        h = R.ZERO
        for num, den in terms[g * R.TERMS_PER_HELPER:(g + 1) * R.TERMS_PER_HELPER]:
            h = h + num * den.inv()
        out.append(h)
    return out


def refresh(d, before):
    """Re-derive MULT, the helper columns of every changed real row, and the running sum."""
    main, aux, last = d["main"], d["aux"], d["last_real_row"]
    pub, ch = public(d), R.Challenges.of(d["challenges"])
    main[:last + 1, R.MULT] = honest_mult(main, last, pub)
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


# A proof of a 2^14-row trace takes seconds: by default only the traces whose fate the row
# checks alone do not settle are proved — honest ones, and cheats that break no transition
# constraint (only a boundary assertion or a bus) — unless tests.rs proves the same cheat
# (tagged "As tests.rs": those pass prove=PROVE_ALL). A cheat breaking a transition constraint
# is refused by the Rust verifier in circuits/liabilities/src/tests.rs, which proves a forgery
# of each constraint; STARK_POR_PROVE_ALL=1 proves every trace here too.
PROVE_ALL = os.environ.get("STARK_POR_PROVE_ALL") == "1"


def assert_violations(t, expected, residuals=None, *, prove=True):
    """The reference finds exactly `expected` (and, if given, exactly these bus residuals); then
    (unless the cheat is in the auxiliary columns, which the Rust prover derives itself, or
    breaks a transition constraint and PROVE_ALL is off) the Rust prover proves the same main
    trace against the same public inputs and the Rust verifier accepts exactly when the
    reference found nothing."""
    got = set(R.check(t))
    expected = set(expected)
    assert got == expected, f"unexpected: {sorted(got - expected)}, missing: {sorted(expected - got)}"
    pub, ch = public(t), R.Challenges.of(t["challenges"])
    res = R.bus_residuals(t["main"], t["last_real_row"], pub)
    if residuals is not None:
        assert res == residuals
    # the row-by-row running sum and the exact bus balance tell the same story
    final = R.Quad.of(t["aux"][t["last_real_row"] + 1, R.SUM])
    assert bool(final == R.expected_sum(pub, ch) + R.residual_sum(res, ch)) or any(
        v.kind == "A" or (v.kind == "B" and v.index == 7) for v in got)
    if prove and (PROVE_ALL or not any(v.kind == "T" for v in expected)):
        accepted, why = _native.prove_trace_v2(np.ascontiguousarray(t["main"]).ravel(), t["public_elements"])
        assert accepted == (not expected), f"the Rust verifier {'accepted' if accepted else 'refused'}: {why}"


# -- finding rows ---------------------------------------------------------------------------------


def col(d, c):
    return d["main"][:d["last_real_row"] + 1, c]


def leaves(d):
    """(first row, last row) of every leaf."""
    out = []
    for f in np.flatnonzero(col(d, R.FIRST) == 1):
        r = int(f)
        while d["main"][r, R.END] != 1:
            r += 1
        out.append((int(f), r))
    return out


def node_rows(d):
    return [int(r) for r in np.flatnonzero(col(d, R.NODE) == 1)]


def first_filler(d):
    return node_rows(d)[-1] + 1 if node_rows(d) else leaves(d)[-1][1] + 1


def leaf_of_blocks(d, blocks):
    return next((f, l) for f, l in leaves(d) if l - f + 1 == blocks)


def empty_leaf_inside(d):
    main = d["main"]
    for f, l in leaves(d)[1:-1]:
        if f == l and not main[f, R.LIMBS:].any():
            return f
    raise AssertionError("no empty leaf inside")


def inner_node(d):
    """A node row between two node rows of its level (no level start on it or after it)."""
    main = d["main"]
    for r in node_rows(d):
        if main[r - 1, R.NODE] == 1 and main[r + 1, R.NODE] == 1 and main[r, R.LSTART] == 0 \
                and main[r + 1, R.LSTART] == 0:
            return r
    raise AssertionError("no inner node")


def slot_entry(d, r, j):
    """(tag, amount) of slot j on row r, from its limbs."""
    m = d["main"]
    amount = R.amount_of_limbs(m[r, R.limb(j, 0):R.limb(j, 0) + R.LIMBS_PER_SLOT])
    tag = (int(m[r, R.slot_high(j)]) - ((amount >> R.LOW_BITS) << R.TAG_BITS)) % P
    return tag, amount


def find_entry(d, pred=lambda tag, amount: True, slots=range(R.SLOTS)):
    m = d["main"]
    for f, l in leaves(d):
        for r in range(f, l + 1):
            for j in slots:
                if (j >= 2 or m[r, R.CONT] == 1) and m[r, R.slot_high(j)] != 0:
                    tag, amount = slot_entry(d, r, j)
                    if pred(tag, amount):
                        return r, j, tag, amount
    raise AssertionError("no such entry")


def total_index(d, tag, part):
    """Index in public_elements of part `part` of the total of equity tag `tag` (= 2k)."""
    return 15 + 4 * len(public(d).roots) + R.PARTS * (tag // 2 - 1) + part


def move_total(t, tag, old_amount, new_amount):
    """Publish the totals a cheat that turns old_amount into new_amount needs."""
    new, old = R.parts_of_limbs(R.limbs_of(new_amount)), R.parts_of_limbs(R.limbs_of(old_amount))
    for i in range(R.PARTS):
        k = total_index(t, tag, i)
        t["public_elements"][k] = (t["public_elements"][k] + new[i] - old[i]) % P


def add_row_parts_to_totals(t, r, sign=1):
    """Move the public totals by (sign times) every entry counted on row r."""
    m = t["main"]
    for j in range(R.SLOTS):
        if (j >= 2 or m[r, R.CONT] == 1) and m[r, R.slot_high(j)] != 0:
            tag, amount = slot_entry(t, r, j)
            move_total(t, tag, 0, amount) if sign > 0 else move_total(t, tag, amount, 0)


def set_amount(t, r, j, amount, *, totals=True):
    """Slot j of leaf row r holds `amount` (elements, limbs), the leaf, nodes and roots rehashed,
    and (by default) the public totals moved by the difference."""
    m = t["main"]
    tag, old = slot_entry(t, r, j)
    x0, x1 = R.entry_elements(tag, amount)
    m[r, R.slot_low(j)], m[r, R.slot_high(j)] = x0, x1
    m[r, R.limb(j, 0):R.limb(j, 0) + R.LIMBS_PER_SLOT] = R.limbs_of(amount)
    rehash_leaf_from(m, r)
    rebuild_nodes(t)
    if totals:
        move_total(t, tag, old, amount)


def T(i, r):
    return V("T", i, r)


def A(i, r):
    return V("A", i, r)


def B(i, r):
    return V("B", i, r)


def BUS(bus, d):
    return V("bus", bus, d["last_real_row"] + 1)


def B8(d):
    return B(8, d["last_real_row"] + 1)


# -- honest forests -------------------------------------------------------------------------------


def test_whole_tree_is_honest_on_every_row(whole):
    """Every transition of every row (no sampling), every boundary and bus."""
    assert whole["main"].shape == (1 << 14, R.MAIN_WIDTH)  # the smallest trace: table + blinding
    assert R.check(whole, rows="all") == []


@pytest.mark.parametrize("capacity", [None, 12, 7])
def test_every_forest_of_a_round_is_honest(capacity):
    first = dump(w3_users(), capacity=capacity)
    pub0 = public(first)
    n_leaves, ranges = pub0.forest.num_leaves, []
    for i in range(first["forests"]):
        d = first if i == 0 else dump(w3_users(), capacity=capacity, forest=i)
        pub = public(d)
        assert R.check(d, fillers=64, blinding=16) == []
        # the verifier's side computed here equals the Rust AIR's
        assert R.expected_sum(pub, R.Challenges.of(CHALLENGES)).pair() == tuple(d["expected_sum"])
        assert (pub.forest.num_leaves, pub.forest.start, pub.forest.end) == (d["num_leaves"], d["start"], d["end"])
        ranges.append((pub.forest.start, pub.forest.end))
    # the forests partition [0, N')
    assert ranges[0][0] == 0 and ranges[-1][1] == n_leaves
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_whole_tree_totals_are_exact(whole):
    pub = public(whole)
    sums = [0] * len(ASSETS)
    for user in w3_users():
        for a, v in user:
            sums[a] += v
    assert pub.exact_totals() == sums
    assert pub.exact_totals()[8] > 1 << 109  # SHIB: beyond any u64/part, exact


def test_w3_workload_forests_are_honest():
    """A real W3 sample (22 assets at native decimals), cut into forests."""
    from stark_por.workloads import W3
    w = W3(24, seed=5)
    users = [w.entries(i) for i in range(w.num_users)]
    assets = [(a.name, a.decimals) for a in w.assets]
    d = dump(users, assets, capacity=20, forest=1)
    assert d["forests"] >= 2
    assert R.check(d, fillers=64, blinding=16) == []
    assert R.expected_sum(public(d), R.Challenges.of(CHALLENGES)).pair() == tuple(d["expected_sum"])


def test_forest_geometry_matches_the_trace(middle):
    """Roots, levels and level starts computed here from (N', start, end) are the ones the trace
    walks: leaves N'+start.., then each level's nodes descending."""
    pub = public(middle)
    f = pub.forest
    main = middle["main"]
    idx_leaves = [int(main[a, R.IDX]) for a, _ in leaves(middle)]
    assert idx_leaves == list(range(f.num_leaves + f.start, f.num_leaves + f.end))
    expected_nodes = [i for a, b in f.levels() for i in range(b - 1, a - 1, -1)]
    assert [int(main[r, R.IDX]) for r in node_rows(middle)] == expected_nodes
    starts = [(int(main[r, R.PREV]), int(main[r, R.IDX])) for r in np.flatnonzero(col(middle, R.LSTART))]
    assert starts == f.level_starts()
    assert len(f.roots()) == len(pub.roots) >= 3


def test_degrees_are_the_readme_table(whole):
    main, aux = R.constraint_degrees(public(whole), R.Challenges.of(CHALLENGES))
    readme = [2] * 2 + [3] * 12 + [4] + [3] * 3 + [4] * 2 + [3] * 17 + [9] * 84
    assert main == readme
    assert aux == [9] * 8 + [3, 2]  # eight groups of 7 terms, the last of 1, the running sum


amounts = st.one_of(
    st.integers(1, 1 << 20),
    st.sampled_from(R.LIMB_OFFSETS[1:] + (26, 62, 88, 112)).flatmap(
        lambda b: st.integers(max(1, (1 << b) - 2), min((1 << b) + 1, MAX))),
    st.integers(1, MAX),
)


@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.data())
def test_random_ledgers_are_honest(data):
    """Amounts over the whole range (small, around each limb boundary, up to 2^112 - 1), any
    bound that admits them, any forest of any cut."""
    k = data.draw(st.integers(1, 10), label="assets")
    users = []
    for _ in range(data.draw(st.integers(1, 9), label="users")):
        held = sorted(data.draw(st.sets(st.integers(0, k - 1)), label="held"))
        users.append([(a, data.draw(amounts, label="amount")) for a in held])
    top = max([v for u in users for _, v in u], default=1)
    bits = data.draw(st.integers(max(32, top.bit_length()), 112), label="bits")
    capacity = data.draw(st.sampled_from([None, 3, 8]), label="capacity")
    first = dump(users, ASSETS[:k], bits, capacity)
    forest = data.draw(st.integers(0, first["forests"] - 1), label="forest")
    d = dump(users, ASSETS[:k], bits, capacity, forest)
    assert R.check(d, fillers=32, blinding=8) == []
    assert R.expected_sum(public(d), R.Challenges.of(CHALLENGES)).pair() == tuple(d["expected_sum"])
    if capacity is None:
        sums = [0] * k
        for u in users:
            for a, v in u:
                sums[a] += v
        assert public(d).exact_totals() == sums


def test_refresh_of_an_untouched_trace_changes_nothing(whole):
    t = tampered(whole, lambda t: None)
    assert (t["main"] == whole["main"]).all() and (t["aux"] == whole["aux"]).all()
    # and the Rust prover and verifier accept the dumped trace as it is
    accepted, bits = _native.prove_trace_v2(whole["main"].ravel(), whole["public_elements"])
    assert accepted and int(bits) >= 100


# -- dishonest: SEL and the boundary --------------------------------------------------------------


def test_sel_not_binary(whole):
    r = first_filler(whole) + 5
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.SEL), 2)), {T(0, r), T(1, r)}, {})


def test_sel_drops_among_fillers(whole):
    r = (R.TABLE_SIZE + whole["last_real_row"]) // 2
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.SEL), 0)), {T(1, r)}, {})


def test_sel_zero_on_first_and_last_real_rows(whole):
    last = whole["last_real_row"]
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((0, R.SEL), 0)), {B(0, 0), T(1, 0)})
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((last, R.SEL), 0)), {B(1, last)})


def test_sel_one_on_the_first_blinding_row(whole):
    last = whole["last_real_row"]
    t = clone(whole)
    t["main"][last + 1, R.SEL] = 1
    got = set(R.check(t))
    assert B(2, last + 1) in got and any(v.kind == "T" and v.row == last + 1 for v in got)
    assert not _native.prove_trace_v2(t["main"].ravel(), t["public_elements"])[0]


def test_first_row_not_a_leaf(whole):
    """[B3]: FIRST[0] = 0 (the cheat drops leaf 0's first-block entries from the totals): a row
    that ends a leaf without being one [T10], or a continuation after no leaf block [T11]."""
    ends = whole["main"][0, R.END] == 1

    def mutate(t):
        add_row_parts_to_totals(t, 0, sign=-1)
        t["main"][0, R.FIRST] = 0

    assert_violations(tampered(whole, mutate), {B(3, 0), T(10 if ends else 11, 0)}, {})


def test_first_leaf_index_off_by_one(whole):
    """[B4]; the walk [T15] and the tree bus (leaf published under N'+1) see it too."""
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((0, R.IDX), whole["main"][0, R.IDX] + 1)),
                      {B(4, 0), T(15, 0), BUS(R.TREE_BUS, whole), B8(whole)})


def test_table_not_starting_at_zero(whole):
    """[B5]: TABLE[0] = 1; the table never holds 0, which every row looks up."""
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((0, R.TABLE), 1)),
                      {B(5, 0), BUS(R.RANGE_BUS, whole), B8(whole)})


def test_table_stopping_short(whole):
    """[B6]: the table stops at 2^13 - 2; the limb 2^13 - 1 (amount 2^13 - 1) has no row."""
    last = whole["last_real_row"]

    def mutate(t):
        t["main"][R.TABLE_SIZE - 1:last + 1, R.TABLE] = R.TABLE_SIZE - 2

    assert_violations(tampered(whole, mutate), {B(6, last), BUS(R.RANGE_BUS, whole), B8(whole)})


def test_running_sum_not_starting_at_zero(whole):
    """[B7]: the whole running sum shifted by one: every step holds, both ends fail."""
    def mutate(t):
        t["aux"][:t["last_real_row"] + 2, R.SUM, 0] = (t["aux"][:t["last_real_row"] + 2, R.SUM, 0].astype(object) + 1) % P

    assert_violations(tampered(whole, mutate, rederive=False), {B(7, 0), B8(whole)}, prove=False)


# -- dishonest: flags and row order ---------------------------------------------------------------


def test_first_flag_two(whole):
    """FIRST = 2 on an empty leaf: [T2], [T10] (e(1 - l) = -1), the walk [T15] and [T18]
    (1 - f' = -1) on the transition into it."""
    r = empty_leaf_inside(whole)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.FIRST), 2)),
                      {T(2, r), T(10, r), T(15, r - 1), T(18, r - 1)}, {})


def test_cont_flag_two_doubles_a_block(whole):
    """CONT = 2 on a middle block, totals published with its entries twice: [T3], [T11]
    (1 - l + e = -1 before the next continuation), [T14] (1 - c' = -1 after the first block)."""
    r = leaf_of_blocks(whole, 3)[0] + 1

    def mutate(t):
        add_row_parts_to_totals(t, r)
        t["main"][r, R.CONT] = 2

    assert_violations(tampered(whole, mutate), {T(3, r), T(11, r), T(14, r - 1)}, {})


def test_node_flag_two(whole):
    """NODE = 2 on an inner node: [T4], [T13] and [T19] around it, the walk [T15] into it, and
    the tree bus (published twice, its children consumed twice)."""
    r = inner_node(whole)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.NODE), 2)),
                      {T(4, r), T(13, r), T(15, r - 1), T(19, r - 1), BUS(R.TREE_BUS, whole), B8(whole)})


def test_end_flag_two(whole):
    """END = 2 on an empty leaf: [T5], [T12] and [T14] (1 - e = -1), its digest published twice."""
    r = empty_leaf_inside(whole)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.END), 2)),
                      {T(5, r), T(12, r), T(14, r), BUS(R.TREE_BUS, whole), B8(whole)})


def test_level_start_flags_cancelling(whole):
    """LSTART = 2 and -2 on two fillers: their level messages cancel, only [T6] sees them."""
    r1, r2 = first_filler(whole) + 3, first_filler(whole) + 9

    def mutate(t):
        t["main"][r1, R.LSTART], t["main"][r2, R.LSTART] = 2, P - 2

    assert_violations(tampered(whole, mutate), {T(6, r1), T(6, r2)}, {})


def test_first_and_cont_on_one_row(whole):
    """FIRST = CONT = 1 on a middle block (slots 2-3 counted twice, totals to match): [T7];
    [T11], [T12] and the walk [T15] around it; the leaf IV [T25-T28] on its carried capacity."""
    r = leaf_of_blocks(whole, 3)[0] + 1
    cap = whole["main"][r, R.state(0, 0):R.state(0, 4)]
    ivs = [R.LEAF_TAG, 0, 0, 0]

    def mutate(t):
        for j in (2, 3):
            tag, amount = slot_entry(t, r, j)
            if t["main"][r, R.slot_high(j)] != 0:
                move_total(t, tag, 0, amount)
        t["main"][r, R.FIRST] = 1

    iv = {T(25 + k, r) for k in range(4) if int(cap[k]) != ivs[k]}
    assert_violations(tampered(whole, mutate), {T(7, r), T(11, r), T(12, r - 1), T(15, r - 1)} | iv, {})


def test_first_on_a_node(whole):
    """FIRST = 1 on an inner node: [T8]; [T12], [T14], the walk [T15]; the leaf IV [T25]; slots
    2-3 read as entries [T35-T36], their 'tags' (digest elements) outside the table."""
    r = inner_node(whole)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.FIRST), 1)),
                      {T(8, r), T(12, r - 1), T(14, r), T(15, r - 1), T(25, r), T(35, r), T(36, r),
                       BUS(R.RANGE_BUS, whole), B8(whole)})


def test_cont_on_a_node(whole):
    """CONT = 1 on an inner node: [T9]; [T11], [T14]; the carried capacity [T21-T24]; every slot
    read as an entry [T33-T36], its 'tag' outside the table."""
    r = inner_node(whole)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.CONT), 1)),
                      {T(9, r), T(11, r - 1), T(14, r)} | {T(21 + k, r - 1) for k in range(4)}
                      | {T(33 + j, r) for j in range(4)} | {BUS(R.RANGE_BUS, whole), B8(whole)})


def test_end_on_the_top_node(whole):
    """END on the top node (a filler follows): only [T10] and its digest published twice."""
    r = node_rows(whole)[-1]
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.END), 1)),
                      {T(10, r), BUS(R.TREE_BUS, whole), B8(whole)})


def test_end_raised_inside_a_leaf(whole):
    """[T11] (a continuation after a finished block) and [T18]; an intermediate digest published."""
    r = leaf_of_blocks(whole, 3)[0]
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.END), 1)),
                      {T(11, r), T(18, r), BUS(R.TREE_BUS, whole), B8(whole)})


def test_end_dropped_before_a_new_leaf(whole):
    """[T12], [T14]; the leaf's digest is never published."""
    r = next(l for _, l in leaves(whole)[:-1])
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.END), 0)),
                      {T(12, r), T(14, r), BUS(R.TREE_BUS, whole), B8(whole)})


def test_end_dropped_before_the_nodes(whole):
    """[T13], [T14] on the last leaf."""
    r = leaves(whole)[-1][1]
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.END), 0)),
                      {T(13, r), T(14, r), BUS(R.TREE_BUS, whole), B8(whole)})


@pytest.mark.parametrize("where", ["filler", "node"])
def test_idx_off_by_one(whole, where):
    """[T15] on both transitions; a node also publishes and consumes under the wrong index."""
    r = first_filler(whole) + 100 if where == "filler" else inner_node(whole)
    extra = set() if where == "filler" else {BUS(R.TREE_BUS, whole), B8(whole)}
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.IDX), whole["main"][r, R.IDX] + 1)),
                      {T(15, r - 1), T(15, r)} | extra)


def test_a_node_out_of_its_level_walk(whole):
    """As tests.rs: node 12 placed as 11 (its digest honest for its children) breaks [T15] on
    both sides (13 -> 11, 11 -> 11); it publishes under 11 and consumes 22 and 23."""
    r = next(r for r in node_rows(whole) if whole["main"][r, R.IDX] == 12)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.IDX), 11)),
                      {T(15, r - 1), T(15, r), BUS(R.TREE_BUS, whole), B8(whole)})


def test_table_steps_by_two(whole):
    """[T16] alone: the table skips a value nothing looks up."""
    mult = whole["main"][:R.TABLE_SIZE, R.MULT]
    r = next(v for v in range(5000, R.TABLE_SIZE - 1) if mult[v] == 0)
    assert_violations(tampered(whole, lambda t: t["main"].__setitem__((r, R.TABLE), r + 1)), {T(16, r - 1)}, {})


def test_level_start_on_a_leaf(whole):
    """[T17]: a leaf row flagged as a level start (PREV honest); the level bus gets a pair the
    verifier never listed."""
    r = leaves(whole)[3][0]

    def mutate(t):
        t["main"][r, R.LSTART], t["main"][r, R.PREV] = 1, t["main"][r - 1, R.IDX]

    assert_violations(tampered(whole, mutate), {T(17, r), BUS(R.LEVEL_BUS, whole), B8(whole)})


@pytest.mark.parametrize("fixture,idx,broken", [("middle", 6, {15}), ("middle", 0, {15, 19}),
                                                ("whole", 3, set())])
def test_level_start_left_unflagged(request, fixture, idx, broken):
    """As tests.rs: where the next level does not continue the walk, [T15]; at the first filler
    also [T19]; where the indices happen to be consecutive (a whole tree), only the level bus."""
    d = request.getfixturevalue(fixture)
    if fixture == "middle":
        idx = public(d).forest.level_starts()[1 if idx else -1][1]
    r = next(int(r) for r in np.flatnonzero(col(d, R.LSTART)) if d["main"][r, R.IDX] == idx)
    t = tampered(d, lambda t: t["main"].__setitem__((r, R.LSTART), 0))
    assert_violations(t, {T(c, r - 1) for c in broken} | {BUS(R.LEVEL_BUS, d), B8(d)}, prove=PROVE_ALL)


def test_level_start_after_the_leaves_unflagged(middle):
    """[T18] and the walk [T15] on the last leaf."""
    r = leaves(middle)[-1][1]
    assert_violations(tampered(middle, lambda t: t["main"].__setitem__((r + 1, R.LSTART), 0)),
                      {T(15, r), T(18, r), BUS(R.LEVEL_BUS, middle), B8(middle)})


def test_prev_off_by_one(middle):
    """[T20]; the pair (PREV + 1, IDX) is not on the verifier's list."""
    r = int(np.flatnonzero(col(middle, R.LSTART))[1])
    assert_violations(tampered(middle, lambda t: t["main"].__setitem__((r, R.PREV), middle["main"][r, R.PREV] + 1)),
                      {T(20, r - 1), BUS(R.LEVEL_BUS, middle), B8(middle)})


def test_an_extra_level_start(whole):
    """As tests.rs: a level start in the middle of a level with the honest PREV: every main
    constraint holds, the level bus has an unlisted pair."""
    r = next(r for r in node_rows(whole) if whole["main"][r, R.IDX] == 6)

    def mutate(t):
        t["main"][r, R.LSTART], t["main"][r, R.PREV] = 1, 7

    assert_violations(tampered(whole, mutate), {BUS(R.LEVEL_BUS, whole), B8(whole)}, {("level", (7, 6)): (1,)},
                      prove=PROVE_ALL)


# -- dishonest: hashing ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", range(4))
def test_capacity_not_carried(whole, k):
    """[T21-T24]: the last block of a leaf starts from another capacity, all rehashed."""
    r = leaf_of_blocks(whole, 3)[1]

    def mutate(t):
        t["main"][r, R.state(0, k)] += np.uint64(1)
        rehash_leaf_from(t["main"], r)
        rebuild_nodes(t)

    assert_violations(tampered(whole, mutate), {T(21 + k, r - 1)}, {})


@pytest.mark.parametrize("k", range(4))
def test_wrong_leaf_iv(middle, k):
    """[T25-T28]."""
    r = leaves(middle)[1][0]

    def mutate(t):
        t["main"][r, R.state(0, k)] += np.uint64(1)
        rehash_leaf_from(t["main"], r)
        rebuild_nodes(t)

    assert_violations(tampered(middle, mutate), {T(25 + k, r)}, {})


@pytest.mark.parametrize("k", range(4))
def test_wrong_node_iv(middle, k):
    """[T29-T32]: a node hashed from another capacity (its ancestors and the roots rehashed)."""
    r = node_rows(middle)[0]
    i = int(middle["main"][r, R.IDX])

    def mutate(t):
        t["main"][r, R.state(0, k)] += np.uint64(1)
        rehash_row(t["main"], r)
        rebuild_nodes(t, below=i)

    assert_violations(tampered(middle, mutate), {T(29 + k, r)}, {})


@pytest.mark.parametrize("j", range(4))
def test_low_element_not_its_limbs(whole, j):
    """[T33-T36]: limb 0 one more than x0 says (totals to match)."""
    r, _, tag, amount = find_entry(whole, lambda tag, a: (a & 8191) < 8191, slots=[j])

    def mutate(t):
        t["main"][r, R.limb(j, 0)] += np.uint64(1)
        move_total(t, tag, amount, amount + 1)

    assert_violations(tampered(whole, mutate), {T(33 + j, r)}, {})


@pytest.mark.parametrize("s", range(1, R.NUM_ROUNDS + 1))
def test_hash_state_cell_changed(whole, s):
    """One cell of state s breaks all 12 constraints of the round producing it and of the round
    consuming it; the output's non-digest rate (s = 7, element 9) only the last round's."""
    r = leaf_of_blocks(whole, 3)[0] if s % 2 else inner_node(whole)
    c = 9 if s == R.NUM_ROUNDS else (s * 5) % R.STATE_WIDTH

    def mutate(t):
        t["main"][r, R.state(s, c)] = (int(t["main"][r, R.state(s, c)]) + 1) % P

    rounds = [rnd for rnd in (s - 1, s) if rnd < R.NUM_ROUNDS]
    expected = {T(R.FIRST_ROUND_CONSTRAINT + 12 * rnd + k, r) for rnd in rounds for k in range(12)}
    assert_violations(tampered(whole, mutate), expected, {})


def test_a_changed_balance(whole):
    """As tests.rs: a leaf's entry changed after the fact, the row rehashed, limbs and totals to
    match, but the parents left alone: the tree bus."""
    r, j, tag, amount = find_entry(whole, lambda tag, a: (a & 8191) < 8191, slots=[2])

    def mutate(t):
        m = t["main"]
        m[r, R.slot_low(j)] += np.uint64(1)
        m[r, R.limb(j, 0)] += np.uint64(1)
        rehash_leaf_from(m, r)
        move_total(t, tag, amount, amount + 1)

    assert_violations(tampered(whole, mutate), {BUS(R.TREE_BUS, whole), B8(whole)}, prove=PROVE_ALL)


# -- dishonest: helper columns --------------------------------------------------------------------


@pytest.mark.parametrize("g", range(R.NUM_HELPERS))
def test_helper_moved_to_another(whole, g):
    """[A0-A8]: one helper +1, the next -1 on a node row: the running sum [A9] still holds."""
    r, h = inner_node(whole), (g + 1) % R.NUM_HELPERS

    def mutate(t):
        t["aux"][r, g, 0] = (int(t["aux"][r, g, 0]) + 1) % P
        t["aux"][r, h, 0] = (int(t["aux"][r, h, 0]) - 1) % P

    assert_violations(tampered(whole, mutate, rederive=False), {A(g, r), A(h, r)}, prove=False)


def test_running_sum_changed_anywhere(whole):
    """[A9] on every row: one cell of the sum fails the two transitions that read it."""
    r = whole["last_real_row"] - 101
    t = clone(whole)
    t["aux"][r, R.SUM, 1] = (int(t["aux"][r, R.SUM, 1]) + 1) % P
    assert set(R.check(t)) == {A(R.SUM, r - 1), A(R.SUM, r)}


def test_limb_outside_the_table_with_stale_aux(whole):
    """Without re-deriving the aux, the helper of the limb's group fails at its row."""
    r, j, _, _ = find_entry(whole, lambda tag, a: (a >> 13) & 8191 > 0, slots=[2])

    def mutate(t):
        t["main"][r, R.limb(j, 0)] += np.uint64(R.TABLE_SIZE)
        t["main"][r, R.limb(j, 1)] -= np.uint64(1)

    t = tampered(whole, mutate, rederive=False)
    groups = {(R.LOOKUPS_PER_SLOT * j + i) // R.TERMS_PER_HELPER for i in (0, 1)}
    assert set(R.check(t)) == {A(g, r) for g in groups} | {BUS(R.RANGE_BUS, whole)}


# -- dishonest: range, tags and totals ------------------------------------------------------------


def test_limb_outside_the_table(whole):
    """l0 + 2^13*l1 and x0 kept, but l0 >= 2^13: only the range bus."""
    r, j, _, amount = find_entry(whole, lambda tag, a: (a >> 13) & 8191 > 0, slots=[2])
    l0 = amount & 8191

    def mutate(t):
        t["main"][r, R.limb(j, 0)] += np.uint64(R.TABLE_SIZE)
        t["main"][r, R.limb(j, 1)] -= np.uint64(1)

    assert_violations(tampered(whole, mutate), {BUS(R.RANGE_BUS, whole), B8(whole)},
                      {("range", l0 + R.TABLE_SIZE): (1,)})


def test_high_part_moved_into_the_tag(whole):
    """As tests.rs: 5*2^62 has x0 = 0; with h's limbs zeroed, x1 = 2 + 5*2^13 reads as the tag:
    the amount would vanish from ETH's total. No main constraint sees it; the tag lookup does."""
    r, j, tag, amount = find_entry(whole, lambda tag, a: a == 5 << 62)

    def mutate(t):
        t["main"][r, R.limb(j, R.LOW_LIMBS):R.limb(j, R.LIMBS_PER_SLOT)] = 0
        move_total(t, tag, amount, 0)

    x1 = tag + (5 << R.TAG_BITS)
    assert_violations(tampered(whole, mutate), {BUS(R.RANGE_BUS, whole), B8(whole)}, {("range", x1): (1,)},
                      prove=PROVE_ALL)


def test_low_limbs_wrapping_the_modulus(whole):
    """As tests.rs: limbs of x0 + p (65 bits of room) would add p to the totals; 8*l4 is then
    outside the table."""
    r, j, tag, amount = find_entry(whole, lambda tag, a: a < 1 << 40, slots=[2])
    wrapped = amount + P

    def mutate(t):
        t["main"][r, R.limb(j, 0):R.limb(j, R.LOW_LIMBS)] = [(wrapped >> (13 * i)) & 8191 for i in range(5)]
        move_total(t, tag, amount, 0)
        parts = [wrapped & (2**26 - 1), (wrapped >> 26) & (2**26 - 1), wrapped >> 52]
        for i, p in enumerate(parts):
            k = total_index(t, tag, i)
            t["public_elements"][k] = (t["public_elements"][k] + p) % P

    l4 = wrapped >> 52
    assert l4 >= 1 << 10
    assert_violations(tampered(whole, mutate), {BUS(R.RANGE_BUS, whole), B8(whole)}, {("range", 8 * l4): (1,)},
                      prove=PROVE_ALL)


@pytest.mark.parametrize("bits,over", [(112, 0), (112, 1), (80, 0), (80, 1), (62, 0), (62, 1), (75, 1)])
def test_amount_at_the_bound(bits, over):
    """2^R - 1 is admitted, 2^R refused by the bound lookup alone (leaf, nodes, roots and totals
    made consistent with it)."""
    users = [[(0, 5), (1, 7)], [(1, 3)], [(2, 1 << 31)]]
    d = dump(users, bits=bits)
    r, j, _, _ = find_entry(d, lambda tag, a: a == 7)
    amount = (1 << bits) - 1 + over
    t = tampered(d, lambda t: set_amount(t, r, j, amount))
    if not over:
        assert_violations(t, set(), {})
        return
    top, shift = public(d).range_check()
    limbs = R.limbs_of(amount)
    bound = limbs[top] * shift + R.TABLE_SIZE * sum(limbs[top + 1:])
    assert bound >= R.TABLE_SIZE
    assert_violations(t, {BUS(R.RANGE_BUS, d), B8(d)}, {("range", bound): (1,)})


@pytest.mark.parametrize("part", [0, 2, 3, 4])
def test_total_off_by_one(whole, part):
    """As tests.rs: one part of ETH's total (tag 4) off by one."""
    t = clone(whole)
    t["public_elements"][total_index(t, 4, part)] += 1
    residual = tuple(P - 1 if i == part else 0 for i in range(R.PARTS))
    assert_violations(t, {BUS(R.ASSET_BUS, whole), B8(whole)}, {("asset", 4): residual}, prove=PROVE_ALL)


def test_debt_entry_sums_to_an_unlisted_tag(whole):
    """An entry relabelled as debt (tag 2k + 1) and the equity total lowered to match: the asset
    bus has the debt tag's sum left over (the verifier lists equity tags only)."""
    r, j, tag, amount = find_entry(whole, lambda tag, a: a == 5 * ETH)

    def mutate(t):
        t["main"][r, R.slot_high(j)] += np.uint64(1)
        rehash_leaf_from(t["main"], r)
        rebuild_nodes(t)
        move_total(t, tag, amount, 0)

    parts = tuple(R.parts_of_limbs(R.limbs_of(amount)))
    assert_violations(tampered(whole, mutate), {BUS(R.ASSET_BUS, whole), B8(whole)}, {("asset", tag + 1): parts})


def test_forest_root_changed(middle):
    """As tests.rs: a public root one off."""
    t = clone(middle)
    t["public_elements"][15 + 4] += 1
    assert_violations(t, {BUS(R.TREE_BUS, middle), B8(middle)}, prove=PROVE_ALL)


def test_range_claimed_one_leaf_shorter(middle):
    """As tests.rs: the same trace claimed as [start, end - 1): the level list and the roots
    change; both buses refuse."""
    t = clone(middle)
    pub = public(middle)
    f = R.Forest(pub.forest.num_leaves, pub.forest.start, pub.forest.end - 1)
    roots = [[3, 4, 5, 6]] * len(f.roots())
    e = t["public_elements"]
    t["public_elements"] = e[:3] + [f.end] + e[4:6] + [len(roots)] + e[7:15] + [v for r in roots for v in r] \
        + e[15 + 4 * len(pub.roots):]
    assert_violations(t, {BUS(R.TREE_BUS, middle), BUS(R.LEVEL_BUS, middle), B8(middle)}, prove=PROVE_ALL)
