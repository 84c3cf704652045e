"""An independent, executable reference of the liabilities AIR (statement versions 2 and 3).

Written from the constraint tables and the soundness arguments of
``circuits/liabilities/README.md``, not from ``air.rs`` or ``margin.rs``: every constraint carries
the README's number, ``[Tn]`` (main transition), ``[Mn]`` (version 3's margin constraints),
``[An]`` (auxiliary transition), ``[Bn]`` or ``[M-B0]`` (boundary), and its formula in a comment,
so a disagreement with the Rust AIR points at a bug in one of them (or in the README). The traces
to check come from ``stark_por._native.trace_dump_v2`` and ``trace_dump_v3`` (one forest of a
round); the public inputs' first element (2 or 3) says which statement a trace claims. Only the
column positions of version 3's margin cells (kinds, coefficient digits, running value, CNT,
INV, MULTP), which the README names but does not place, are taken from ``layout.rs``.

Shared with the version-1 reference (``circuits/solvency/reference.py``), because version 2
keeps them unchanged (README section 6): the Goldilocks field ``GF``, the quadratic extension
``Quad`` the dumps' challenges and auxiliary columns live in, the ``Rp64_256`` permutation
(transcribed there from winter-crypto) and the blinding-row count of the security presets.
Everything specific to version 2 is written here: the column layout, the 13-bit limbs, the
entry split ``x0 = v mod 2^62``, ``x1 = tag + 2^13 * floor(v / 2^62)``, the forest (levels,
roots, level starts) and the four buses; for version 3 (README section 4) the margin section's
rows (price table, entry rows, close rows), the keyed asset bus, the price and pin buses, the
debt totals and the coefficient digits.

What ``check`` evaluates
------------------------
A trace has at least 2^14 rows, most of them plain filler rows (SEL = 1, IDX = 0,
TABLE = min(i, 2^13 - 1), MULT free, every other column 0). As the version-1 reference does,
``check`` evaluates every transition constraint on every row that is not a plain filler (and the
row before it), the rows around row 0, the end of the range table and the real/blinding
boundary, every blinding row with SEL != 0, and deterministic samples of filler and blinding
rows. A transition between two plain fillers meets every main constraint by inspection, and so
does one between two rows with SEL = 0 (every constraint is gated by s or s'). The helper
constraints [A0-A8] on plain fillers are sampled; [A9] and every boundary constraint are
evaluated on the whole trace, and the four buses are balanced *exactly* over all real rows
(``bus_residuals``). ``check(dump, rows="all")`` evaluates every transition. In version 3 the
margin section's rows are not plain fillers, so every one of them is evaluated.
"""

from __future__ import annotations

import importlib.util
import sys
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import galois
import numpy as np


def _load_v1():
    name = "solvency_reference"
    if name in sys.modules:
        return sys.modules[name]
    path = Path(__file__).resolve().parents[1] / "solvency" / "reference.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


_V1 = _load_v1()

# the field, its quadratic extension, the permutation, the presets: version 1's, unchanged
P, GF, Quad = _V1.P, _V1.GF, _V1.Quad
ZERO, ONE = Quad(0), Quad(1)
STATE_WIDTH, NUM_ROUNDS = _V1.STATE_WIDTH, _V1.NUM_ROUNDS
exp7, permutation_states = _V1.exp7, _V1.permutation_states
MDS_T, INV_MDS_T, ARK1_GF, ARK2_GF = _V1.MDS_T, _V1.INV_MDS_T, _V1.ARK1_GF, _V1.ARK2_GF
last_real_row = _V1.last_real_row
NODE_TAG = _V1.NODE_TAG  # nodes are version 1's (README section 6)
LEAF_TAG = int.from_bytes(b"stpr/lf\x02", "big")  # version 2's leaves (README section 6)

# =================================================================================================
# 1. Column layout (README sections 1-2; main width 142, 10 auxiliary columns)
# =================================================================================================

SEL, FIRST, CONT, NODE, END, LSTART, IDX, PREV, TABLE, MULT = range(10)
STATE = 10  # 8 x 12 hash columns: the permutation input, then the state after each round
SLOTS = 4  # entries per block: slots 0-1 hold the id commitment in a leaf's first block
LOW_LIMBS, HIGH_LIMBS = 5, 4  # x0: l0..l4, h: l5..l8
LIMBS_PER_SLOT = LOW_LIMBS + HIGH_LIMBS
LIMBS = STATE + (NUM_ROUNDS + 1) * STATE_WIDTH
MAIN_WIDTH = LIMBS + SLOTS * LIMBS_PER_SLOT
assert MAIN_WIDTH == 142

LIMB_BITS = 13
TABLE_SIZE = 1 << LIMB_BITS
LOW_BITS = 62  # x0 = v mod 2^62
TAG_BITS = 13  # x1 = tag + 2^13 * h
LIMB_OFFSETS = (0, 13, 26, 39, 52, 62, 75, 88, 101)  # bit offset of each limb in the amount
# the asset bus sums an amount in parts (l0,l1) (l2,l3) (l4) (l5,l6) (l7,l8), at these offsets
PART_LIMBS = ((0, 1), (2, 3), (4,), (5, 6), (7, 8))
PART_OFFSETS = (0, 26, 52, 62, 88)
PARTS = len(PART_LIMBS)
MIN_RANGE_BITS, MAX_RANGE_BITS = 32, 112

RANGE_BUS, ASSET_BUS, TREE_BUS, LEVEL_BUS = 1, 2, 3, 4
CIRCUIT_VERSION = 2

LOOKUPS_PER_SLOT = LIMBS_PER_SLOT + 3  # 9 limbs, 8*l4, the bound, the tag
NUM_TERMS = SLOTS * LOOKUPS_PER_SLOT + SLOTS + 3 + 1 + 1
assert NUM_TERMS == 57
TERMS_PER_HELPER = 7
NUM_HELPERS = -(-NUM_TERMS // TERMS_PER_HELPER)  # 9: eight groups of 7, the last of 1
SUM = NUM_HELPERS
AUX_WIDTH = NUM_HELPERS + 1

FIRST_ROUND_CONSTRAINT = 37
NUM_MAIN_CONSTRAINTS = FIRST_ROUND_CONSTRAINT + NUM_ROUNDS * STATE_WIDTH  # 121
NUM_AUX_CONSTRAINTS = NUM_HELPERS + 1  # 10
NUM_BOUNDARY = 9  # B0-B8

# Version 3 (README section 4): four more main columns; margin rows reuse the hash-state and limb
# columns a version-2 filler leaves free (their places from layout.rs)
UIDK, MENTRY, MCLOSE, MPRICE = MAIN_WIDTH, MAIN_WIDTH + 1, MAIN_WIDTH + 2, MAIN_WIDTH + 3
MAIN_WIDTH_V3 = MAIN_WIDTH + 4
CIRCUIT_VERSION_V3 = 3
PRICE_BUS, PIN_BUS = 5, 6
MARGIN_SLOTS = 2  # entry rows hold two entries, in slots 0 and 1
COEF_DIGITS = 7  # coefficients below 2^91, in 13-bit digits
AMOUNT_DIGITS = 8  # an amount as 8 digits 13 bits apart (the high limbs 10 bits into theirs)
POSITIONS = AMOUNT_DIGITS + COEF_DIGITS - 1  # 14 positions of the running value
PAIRS = POSITIONS // 2  # the close row normalises two positions at a time
CELLS_PER_PAIR = 5  # r, r', s, s', s''
COUNT_CELL = PAIRS * CELLS_PER_PAIR  # cell 35 holds 32 * CNT
CARRY_OFFSET = 1 << 36
_MARGIN_AREA = STATE + STATE_WIDTH  # after the permutation input (whose x1 cells carry the tags)
NUM_TERMS_V3 = NUM_TERMS + 2 * MARGIN_SLOTS + 1  # 62: emissions, price lookups, the pin
assert -(-NUM_TERMS_V3 // TERMS_PER_HELPER) == NUM_HELPERS  # nine helpers, the last of 6 terms
NUM_MARGIN_CONSTRAINTS = 35  # M0-M34


def kind_col(j: int) -> int:
    """KIND_j: slot j's kind (0 equity, 1 debt) on margin rows."""
    return _MARGIN_AREA + j


def coef_col(j: int, i: int) -> int:
    """C_ji: digit i of slot j's coefficient."""
    return _MARGIN_AREA + SLOTS + j * COEF_DIGITS + i


def acc_col(p: int) -> int:
    """ACC_p: position p of the run's value, this row included."""
    return _MARGIN_AREA + SLOTS + SLOTS * COEF_DIGITS + p


CNT = acc_col(POSITIONS)  # entry rows of the run so far
INV = CNT + 1  # 1 / UIDK on an entry row
MULTP = CNT + 2  # on a price-table row: how many entry slots use it
assert MULTP < LIMBS


def cell(c: int) -> int:
    """Close-row cell c: the limb columns in order (slot c // 9, limb c % 9)."""
    return LIMBS + c


def coef_digits(c: int) -> List[int]:
    return [(c >> (LIMB_BITS * i)) & (TABLE_SIZE - 1) for i in range(COEF_DIGITS)]


def state(s: int, c: int) -> int:
    """Column of element c of hash state s (0 = permutation input, 7 = output)."""
    return STATE + s * STATE_WIDTH + c


def limb(j: int, i: int) -> int:
    """Column of limb i of entry slot j."""
    return LIMBS + j * LIMBS_PER_SLOT + i


def slot_low(j: int) -> int:
    """Rate column of slot j's first element x0 (state 0, rate starts at element 4)."""
    return state(0, 4 + 2 * j)


def slot_high(j: int) -> int:
    """Rate column of slot j's second element x1."""
    return state(0, 5 + 2 * j)


# =================================================================================================
# 2. Entries: the split of an amount, its limbs and parts (README sections 1-2)
# =================================================================================================


def entry_elements(tag: int, amount: int) -> Tuple[int, int]:
    """(x0, x1) of an entry: x0 = v mod 2^62, x1 = tag + 2^13 * floor(v / 2^62)."""
    return amount % (1 << LOW_BITS), tag + (amount >> LOW_BITS << TAG_BITS)


def limbs_of(amount: int) -> List[int]:
    """The honest 13-bit limbs: x0's five (the top one holding 10 bits), then h's four."""
    low, high = amount % (1 << LOW_BITS), amount >> LOW_BITS
    return ([(low >> (13 * i)) & (TABLE_SIZE - 1) for i in range(LOW_LIMBS)]
            + [(high >> (13 * i)) & (TABLE_SIZE - 1) for i in range(HIGH_LIMBS)])


def amount_of_limbs(limbs: Sequence[int]) -> int:
    return sum(int(l) << off for l, off in zip(limbs, LIMB_OFFSETS))


def parts_of_limbs(limbs: Sequence[int]) -> List[int]:
    """Each part packs its limbs: (l_a, l_b) -> l_a + 2^13 * l_b."""
    return [sum(int(limbs[i]) << (13 * k) for k, i in enumerate(group)) for group in PART_LIMBS]


def combine_parts(parts: Sequence[int]) -> int:
    """The exact integer sum_i 2^PART_OFFSETS[i] * part_i (Python ints: any size)."""
    return sum(int(p) << off for p, off in zip(parts, PART_OFFSETS))


# =================================================================================================
# 3. The forest a range [start, end) of a tree of N' leaves implies (README section 3)
# =================================================================================================


@dataclass(frozen=True)
class Forest:
    num_leaves: int
    start: int
    end: int

    def levels(self) -> List[Tuple[int, int]]:
        """[a_j, b_j) of height j = 1, 2, ...: ceil((N'+s)/2^j) .. floor((N'+e)/2^j), while
        non-empty."""
        out, j = [], 1
        lo, hi = self.num_leaves + self.start, self.num_leaves + self.end
        while (1 << j) <= self.num_leaves:
            a, b = -(-lo // (1 << j)), hi >> j
            if a >= b:
                break
            out.append((a, b))
            j += 1
        return out

    def nodes(self) -> Dict[int, int]:
        """Every heap index of the forest (leaves included) -> its height."""
        out = {i: 0 for i in range(self.num_leaves + self.start, self.num_leaves + self.end)}
        for h, (a, b) in enumerate(self.levels(), start=1):
            out.update({i: h for i in range(a, b)})
        return out

    def roots(self) -> List[int]:
        """The forest's nodes whose parent is not in it, left to right (by first leaf)."""
        nodes = self.nodes()
        roots = [i for i in nodes if i == 1 or (i // 2) not in nodes]
        return sorted(roots, key=lambda i: i << nodes[i])

    def level_starts(self) -> List[Tuple[int, int]]:
        """The level bus's verifier side: (N'+e-1, b1-1), (a1, b2-1), ..., (a_top, 0)."""
        pairs, prev = [], self.num_leaves + self.end - 1
        for a, b in self.levels():
            pairs.append((prev, b - 1))
            prev = a
        pairs.append((prev, 0))
        return pairs


# =================================================================================================
# 4. Public inputs and challenges
# =================================================================================================


@dataclass(frozen=True)
class Public:
    version: int
    forest: Forest
    range_bits: int
    num_assets: int  # K
    assets_digest: Tuple[int, ...]
    round_digest: Tuple[int, ...]
    roots: Tuple[Tuple[int, ...], ...]  # in Forest.roots order
    totals: Tuple[Tuple[int, ...], ...]  # per asset k = 1..K: its five part sums (equity)
    # version 3 only (None for version 2)
    debt_totals: Optional[Tuple[Tuple[int, ...], ...]] = None  # per asset: five part sums
    coefficients: Optional[Tuple[Tuple[Tuple[int, ...], Tuple[int, ...]], ...]] = None  # digits of (c_a, d_a)

    @property
    def margin(self) -> bool:
        return self.version == CIRCUIT_VERSION_V3

    @classmethod
    def parse(cls, elements: Sequence[int]) -> "Public":
        """[v, N', start, end, R, K, |roots|, assets_digest(4), round_digest(4), roots(4 each),
        per asset its five part sums]; for v = 3 then per asset its five debt part sums, then per
        asset the 7 digits of c_a and the 7 of d_a."""
        e = [int(v) for v in elements]
        k, nroots = e[5], e[6]
        margin = e[0] == CIRCUIT_VERSION_V3
        expected = 15 + 4 * nroots + PARTS * k + (k * (PARTS + 2 * COEF_DIGITS) if margin else 0)
        if len(e) != expected:
            raise ValueError(f"{len(e)} public elements, expected {expected} for K = {k} and {nroots} roots")
        at = 15 + 4 * nroots
        roots = tuple(tuple(e[15 + 4 * i:19 + 4 * i]) for i in range(nroots))
        totals = tuple(tuple(e[at + PARTS * a:at + PARTS * (a + 1)]) for a in range(k))
        out = cls(e[0], Forest(e[1], e[2], e[3]), e[4], k, tuple(e[7:11]), tuple(e[11:15]), roots, totals)
        if not margin:
            return out
        at += PARTS * k
        debts = tuple(tuple(e[at + PARTS * a:at + PARTS * (a + 1)]) for a in range(k))
        at += PARTS * k
        per = 2 * COEF_DIGITS
        coefs = tuple((tuple(e[at + per * a:at + per * a + COEF_DIGITS]),
                       tuple(e[at + per * a + COEF_DIGITS:at + per * (a + 1)])) for a in range(k))
        return replace(out, debt_totals=debts, coefficients=coefs)

    def exact_debt_totals(self) -> List[int]:
        return [combine_parts(t) for t in self.debt_totals]

    def coefficient(self, asset: int, kind: int) -> int:
        """c_a (kind 0) or d_a (kind 1) of asset a = 1..K, from its digits."""
        return sum(int(d) << (LIMB_BITS * i) for i, d in enumerate(self.coefficients[asset - 1][kind]))

    def listed_tuples(self) -> List[Tuple[int, ...]]:
        """The pin bus's verifier side: per tag 2a + kind, (tag, tag mod 2, digits of its
        coefficient), kind 0 with c_a, kind 1 with d_a."""
        return [(2 * a + kind, kind) + tuple(self.coefficients[a - 1][kind])
                for a in range(1, self.num_assets + 1) for kind in (0, 1)]

    def range_check(self) -> Tuple[int, int]:
        """(t, shift): t the limb holding bit R - 1, shift = 2^(13 - (R - offset_t)), so that
        shift * l_t < 2^13 exactly when l_t < 2^(R - offset_t)."""
        bits = self.range_bits
        if not MIN_RANGE_BITS <= bits <= MAX_RANGE_BITS:
            raise ValueError(f"range bound {bits} outside {MIN_RANGE_BITS}..{MAX_RANGE_BITS}")
        top = max(i for i, off in enumerate(LIMB_OFFSETS) if off <= bits - 1)
        return top, 1 << (LIMB_BITS - (bits - LIMB_OFFSETS[top]))

    def exact_totals(self) -> List[int]:
        return [combine_parts(t) for t in self.totals]


@dataclass(frozen=True)
class Challenges:
    alpha: Quad  # the pole
    beta: Quad  # packs tuples
    delta: Quad  # packs an amount's parts

    @classmethod
    def of(cls, pairs) -> "Challenges":
        return cls(*(Quad.of(p) for p in pairs))


def pole(ch: Challenges, bus: int, values) -> Quad:
    """alpha - (bus + beta*v0 + beta^2*v1 + ...)."""
    acc, power = Quad(bus), ch.beta
    for v in values:
        acc = acc + power * v
        power = power * ch.beta
    return ch.alpha - acc


def packed(ch: Challenges, parts) -> Quad:
    """sum_i delta^i * part_i (Horner)."""
    acc = ZERO
    for p in reversed(list(parts)):
        acc = acc * ch.delta + Quad(p)
    return acc


# =================================================================================================
# 5. What a row reads (README section 2, "Per slot, 12 lookups" and the terms table)
# =================================================================================================


def gate(row, j: int):
    """g_j: CONT for slots 0-1 (the id commitment's in a first block), FIRST + CONT for 2-3."""
    return row[..., CONT] if j < 2 else row[..., FIRST] + row[..., CONT]


def _radix_sum(row, j: int, limbs: Sequence[int]):
    acc = GF(0)
    for i in reversed(limbs):
        acc = acc * GF(TABLE_SIZE) + row[..., limb(j, i)]
    return acc


def low_of_limbs(row, j: int):
    """sum_{i<5} 2^(13i) * l_i."""
    return _radix_sum(row, j, range(LOW_LIMBS))


def high_of_limbs(row, j: int):
    """h = sum_{i<4} 2^(13i) * l_(5+i)."""
    return _radix_sum(row, j, range(LOW_LIMBS, LIMBS_PER_SLOT))


def tag_of(row, j: int):
    """t = x1 - 2^13 * h."""
    return row[..., slot_high(j)] - high_of_limbs(row, j) * GF(1 << TAG_BITS)


def low_top_value(row, j: int):
    """8 * l4: a table value iff l4 < 2^10, i.e. x0's limbs sum below 2^62."""
    return row[..., limb(j, LOW_LIMBS - 1)] * GF(1 << (LIMB_BITS - (LOW_BITS - LIMB_OFFSETS[4])))


def bound_value(row, j: int, range_check: Tuple[int, int]):
    """shift * l_t + 2^13 * sum_{i > t} l_i: a table value iff amount < 2^R."""
    top, shift = range_check
    above = GF(0)
    for i in range(top + 1, LIMBS_PER_SLOT):
        above = above + row[..., limb(j, i)]
    return row[..., limb(j, top)] * GF(shift) + above * GF(TABLE_SIZE)


def parts(row, j: int) -> list:
    return [_radix_sum(row, j, group) for group in PART_LIMBS]


def amount_digits(row, j: int) -> list:
    """README section 4: A_k = l_k (k < 4), A_4 = l_4 + 2^10 l_5, A_k = 2^10 l_(k+1) (k >= 5)."""
    l = [row[..., limb(j, i)] for i in range(LIMBS_PER_SLOT)]
    s10 = GF(1 << 10)
    return l[:4] + [l[4] + s10 * l[5]] + [s10 * l[k + 1] for k in range(5, AMOUNT_DIGITS)]


def coefficient_digits(row, j: int) -> list:
    return [row[..., coef_col(j, i)] for i in range(COEF_DIGITS)]


def price_tuple(row, j: int) -> list:
    """(tag_j, KIND_j, C_j0..C_j6): what slot j looks up on the price bus."""
    return [tag_of(row, j), row[..., kind_col(j)]] + coefficient_digits(row, j)


def row_terms(row, range_check: Tuple[int, int], ch: Challenges, margin: bool = False) -> List[Tuple[Quad, Quad]]:
    """The 57 (numerator, denominator) terms of a row, in the order the helper columns group
    them (README, "The 57 terms of a row"): per slot its 9 limbs, 8*l4, the bound and the tag;
    then the 4 asset sums; the tree's publish, left and right; the level message; the table.

    ``margin`` (version 3, README "Constraints of version 3"): 62 terms. The x0-top and bound
    lookups take the numerator 1 - MC, the asset sums (g_j - ME) * sum delta^i part_i for slots
    0-1 (g_j * ... for 2-3) under pole(2, tag, UIDK); then the two emissions
    ME * sum delta^i part_i under pole(2, tag_j, KIND_j), the two price lookups ME (slot 0:
    ME - MP * MULTP) under pole(5, tag_j, KIND_j, C_j0..C_j6), and the pin MP under
    pole(6, tag_0, KIND_0, C_00..C_06)."""
    terms = []
    bounded = Quad(GF(1) - row[..., MCLOSE]) if margin else ONE
    for j in range(SLOTS):
        for i in range(LIMBS_PER_SLOT):
            terms.append((ONE, pole(ch, RANGE_BUS, [row[..., limb(j, i)]])))
        terms.append((bounded, pole(ch, RANGE_BUS, [low_top_value(row, j)])))
        terms.append((bounded, pole(ch, RANGE_BUS, [bound_value(row, j, range_check)])))
        terms.append((Quad(gate(row, j)), pole(ch, RANGE_BUS, [tag_of(row, j)])))
    for j in range(SLOTS):
        g = gate(row, j)
        if margin:
            consumed = g - row[..., MENTRY] if j < MARGIN_SLOTS else g
            terms.append((packed(ch, [consumed * p for p in parts(row, j)]),
                          pole(ch, ASSET_BUS, [tag_of(row, j), row[..., UIDK]])))
        else:
            terms.append((packed(ch, [g * p for p in parts(row, j)]), pole(ch, ASSET_BUS, [tag_of(row, j)])))
    d, e, idx = row[..., NODE], row[..., END], row[..., IDX]
    out = [row[..., state(NUM_ROUNDS, 4 + k)] for k in range(4)]
    left = [row[..., state(0, 4 + k)] for k in range(4)]
    right = [row[..., state(0, 8 + k)] for k in range(4)]
    terms.append((Quad(e + d), pole(ch, TREE_BUS, [idx] + out)))
    terms.append((-Quad(d), pole(ch, TREE_BUS, [GF(2) * idx] + left)))
    terms.append((-Quad(d), pole(ch, TREE_BUS, [GF(2) * idx + GF(1)] + right)))
    terms.append((Quad(row[..., LSTART]), pole(ch, LEVEL_BUS, [row[..., PREV], idx])))
    terms.append((-Quad(row[..., MULT]), pole(ch, RANGE_BUS, [row[..., TABLE]])))
    if not margin:
        assert len(terms) == NUM_TERMS
        return terms
    me, mp = row[..., MENTRY], row[..., MPRICE]
    for j in range(MARGIN_SLOTS):
        terms.append((packed(ch, [me * p for p in parts(row, j)]),
                      pole(ch, ASSET_BUS, [tag_of(row, j), row[..., kind_col(j)]])))
    for j in range(MARGIN_SLOTS):
        num = me - mp * row[..., MULTP] if j == 0 else me
        terms.append((Quad(num), pole(ch, PRICE_BUS, price_tuple(row, j))))
    terms.append((Quad(mp), pole(ch, PIN_BUS, price_tuple(row, 0))))
    assert len(terms) == NUM_TERMS_V3
    return terms


def expected_sum(public: Public, ch: Challenges) -> Quad:
    """What the running sum reaches after the last real row: the verifier's side of the tree
    bus (one message per forest root), of the level bus (one per level start) and of the asset
    bus (per listed asset k, its packed part sums under the equity tag 2k)."""
    f = public.forest
    total = ZERO
    for index, root in zip(f.roots(), public.roots):
        total = total + pole(ch, TREE_BUS, [GF(index)] + [GF(v) for v in root]).inv()
    for prev, idx in f.level_starts():
        total = total + pole(ch, LEVEL_BUS, [GF(prev), GF(idx)]).inv()
    for k, sums in enumerate(public.totals, start=1):
        total = total + packed(ch, sums) / pole(ch, ASSET_BUS, [GF(2 * k)])
    if public.margin:
        # debt totals under (2a + 1, 1); one pin message per listed (tag, kind, digits)
        for k, sums in enumerate(public.debt_totals, start=1):
            total = total + packed(ch, sums) / pole(ch, ASSET_BUS, [GF(2 * k + 1), GF(1)])
        for t in public.listed_tuples():
            total = total + pole(ch, PIN_BUS, [GF(v) for v in t]).inv()
    return total


# =================================================================================================
# 6. Main transition constraints [T0-T120] (README "Constraints (as built)")
# =================================================================================================


def main_transition(cur, nxt, public: Public) -> list:
    """The 121 main transition constraints on (cur, nxt); each is 0 when met."""
    one = GF(1)
    s, f, c, d, e, g = (cur[..., k] for k in (SEL, FIRST, CONT, NODE, END, LSTART))
    s_, f_, c_, d_, g_ = (nxt[..., k] for k in (SEL, FIRST, CONT, NODE, LSTART))
    leaf = f + c
    r = []
    # [T0-T1] SEL is 1...1 0...0:  s(1 - s),  s'(1 - s)
    r += [s * (one - s), s_ * (one - s)]
    # [T2-T6] flags binary:  s x (1 - x),  x in f, c, d, e, g
    r += [s * x * (one - x) for x in (f, c, d, e, g)]
    # [T7-T9] one kind per row:  s f c,  s f d,  s c d
    r += [s * f * c, s * f * d, s * c * d]
    # [T10] only leaf blocks end a leaf:  s e (1 - l)
    r.append(s * e * (one - leaf))
    # [T11] a continuation follows an unfinished leaf block:  s' c' (1 - l + e)
    r.append(s_ * c_ * (one - leaf + e))
    # [T12] a new leaf follows a finished one:  s' f' (1 - e)
    r.append(s_ * f_ * (one - e))
    # [T13] a node follows a finished leaf or a node:  s' d' (1 - e - d)
    r.append(s_ * d_ * (one - e - d))
    # [T14] an unfinished leaf continues:  s' l (1 - e)(1 - c')
    r.append(s_ * leaf * (one - e) * (one - c_))
    # [T15] IDX: leaves +1, blocks 0, nodes -1, free only at a level start:
    #       s' (1 - g') (IDX' - IDX - f' + d')
    r.append(s_ * (one - g_) * (nxt[..., IDX] - cur[..., IDX] - f_ + d_))
    # [T16] the table steps by 0 or 1:  s' (T' - T)(T' - T - 1)
    step = nxt[..., TABLE] - cur[..., TABLE]
    r.append(s_ * step * (step - one))
    # [T17] a leaf row never starts a level:  s g l
    r.append(s * g * leaf)
    # [T18] after a finished leaf, a non-leaf row starts a level:  s' e (1 - f')(1 - g')
    r.append(s_ * e * (one - f_) * (one - g_))
    # [T19] after a node, a non-node row starts a level:  s' d (1 - d')(1 - g')
    r.append(s_ * d * (one - d_) * (one - g_))
    # [T20] a level start records the previous IDX:  s' g' (PREV' - IDX)
    r.append(s_ * g_ * (nxt[..., PREV] - cur[..., IDX]))
    # [T21-T24] a continuation keeps the capacity:  s' c' (STATE'[0][k] - STATE[7][k])
    r += [s_ * c_ * (nxt[..., state(0, k)] - cur[..., state(NUM_ROUNDS, k)]) for k in range(4)]
    # [T25-T32] tagged capacities:  s f (STATE[0][k] - [LEAF_TAG,0,0,0]_k), then d and NODE_TAG
    for flag, tag in ((f, LEAF_TAG), (d, NODE_TAG)):
        r += [s * flag * (cur[..., state(0, k)] - GF(tag if k == 0 else 0)) for k in range(4)]
    # [T33-T36] the low element is its limbs:  s g_j (x0_j - sum_{i<5} 2^(13i) l_i)
    r += [s * gate(cur, j) * (cur[..., slot_low(j)] - low_of_limbs(cur, j)) for j in range(SLOTS)]
    # [T37-T120] the permutation, 12 per round:
    #   s (l + d)(MDS x_r^7 + ARK1_r - (MDS^-1 (x_(r+1) - ARK2_r))^7)
    active = s * (leaf + d)
    for rnd in range(NUM_ROUNDS):
        x = cur[..., state(rnd, 0):state(rnd, 0) + STATE_WIDTH]
        y = cur[..., state(rnd + 1, 0):state(rnd + 1, 0) + STATE_WIDTH]
        forward = exp7(x) @ MDS_T + ARK1_GF[rnd]
        backward = exp7((y - ARK2_GF[rnd]) @ INV_MDS_T)
        r += [active * (forward[..., k] - backward[..., k]) for k in range(STATE_WIDTH)]
    assert len(r) == NUM_MAIN_CONSTRAINTS
    return r


def run_products(row, p: int):
    """sum_{j<2} (1 - 2 KIND_j) sum_{k+i=p} A_jk C_ji: the row's contribution to position p."""
    out = GF(0)
    for j in range(MARGIN_SLOTS):
        a, c = amount_digits(row, j), coefficient_digits(row, j)
        acc = GF(0)
        for k in range(AMOUNT_DIGITS):
            if 0 <= p - k < COEF_DIGITS:
                acc = acc + a[k] * c[p - k]
        out = out + (GF(1) - GF(2) * row[..., kind_col(j)]) * acc
    return out


def close_remainder(row, j: int):
    """r_j = r + 2^13 r' (close-row cells 5j, 5j + 1)."""
    return row[..., cell(CELLS_PER_PAIR * j)] + GF(TABLE_SIZE) * row[..., cell(CELLS_PER_PAIR * j + 1)]


def close_carry(row, j: int):
    """k_j = (s + 2^13 s' + 2^24 s'') - 2^36 (cells 5j + 2..5j + 4); the last carry k_6 without
    the offset."""
    b = CELLS_PER_PAIR * j
    stored = row[..., cell(b + 2)] + GF(1 << 13) * row[..., cell(b + 3)] + GF(1 << 24) * row[..., cell(b + 4)]
    return stored - GF(CARRY_OFFSET) if j + 1 < PAIRS else stored


def margin_transition(cur, nxt) -> list:
    """Version 3's 35 constraints M0-M34 on (cur, nxt) (README "Constraints of version 3")."""
    one = GF(1)
    s, s_ = cur[..., SEL], nxt[..., SEL]
    leaf, d = cur[..., FIRST] + cur[..., CONT], cur[..., NODE]
    me, mc, mp = cur[..., MENTRY], cur[..., MCLOSE], cur[..., MPRICE]
    me_, mc_ = nxt[..., MENTRY], nxt[..., MCLOSE]
    uidk, uidk_ = cur[..., UIDK], nxt[..., UIDK]
    r = []
    # [M0] a leaf keys its entries by 0 or its own index:  s l UIDK (UIDK - IDX)
    r.append(s * leaf * uidk * (uidk - cur[..., IDX]))
    # [M1-M3] flags binary:  s x (1 - x),  x in ME, MC, MP
    r += [s * x * (one - x) for x in (me, mc, mp)]
    # [M4] margin rows are fillers to version 2:  s (ME + MC + MP)(l + d)
    r.append(s * (me + mc + mp) * (leaf + d))
    # [M5-M7] one kind per row:  s ME MC,  s ME MP,  s MC MP
    r += [s * me * mc, s * me * mp, s * mc * mp]
    # [M8] a borrower is never key 0:  s ME (UIDK INV - 1)
    r.append(s * me * (uidk * cur[..., INV] - one))
    # [M9] one borrower per run of entry rows:  s' ME ME' (UIDK' - UIDK)
    r.append(s_ * me * me_ * (uidk_ - uidk))
    # [M10] entry rows counted from 1 per run:  s' ME' (CNT' - ME CNT - 1)
    r.append(s_ * me_ * (nxt[..., CNT] - me * cur[..., CNT] - one))
    # [M11] a run continues or is closed:  s' ME (1 - ME' - MC')
    r.append(s_ * me * (one - me_ - mc_))
    # [M12] a close row ends a run:  s' MC' (1 - ME)
    r.append(s_ * mc_ * (one - me))
    # [M13-M26] the run's value, position by position:
    #   s' ME' (ACC'_p - ME ACC_p - sum_{j<2} (1 - 2 KIND_j') sum_{k+i=p} A_jk' C_ji')
    for p in range(POSITIONS):
        r.append(s_ * me_ * (nxt[..., acc_col(p)] - me * cur[..., acc_col(p)] - run_products(nxt, p)))
    # [M27] at most 255 entry rows per run:  s' MC' (cell'_35 - 32 CNT)
    r.append(s_ * mc_ * (nxt[..., cell(COUNT_CELL)] - GF(32) * cur[..., CNT]))
    # [M28-M34] the close row's normalisation, last carry >= 0:
    #   s' MC' (ACC_2j + 2^13 ACC_(2j+1) + k'_(j-1) - r'_j - 2^26 k'_j),  k'_(-1) = 0
    carry = GF(0)
    for j in range(PAIRS):
        value = cur[..., acc_col(2 * j)] + GF(TABLE_SIZE) * cur[..., acc_col(2 * j + 1)] + carry
        k = close_carry(nxt, j)
        r.append(s_ * mc_ * (value - close_remainder(nxt, j) - GF(1 << 26) * k))
        carry = k
    assert len(r) == NUM_MARGIN_CONSTRAINTS
    return r


# =================================================================================================
# 7. Auxiliary transition constraints [A0-A9]
# =================================================================================================


def aux_column(aux, g: int) -> Quad:
    return Quad(aux[..., g, 0], aux[..., g, 1])


def aux_transition(cur_main, cur_aux, nxt_aux, ch: Challenges, public: Public) -> list:
    """[A0-A8] s (H_g prod d_i - sum n_i prod_{j != i} d_j) per group of 7 terms (the last of
    1); [A9] s (SUM' - SUM - sum_g H_g)."""
    s = cur_main[..., SEL]
    terms = row_terms(cur_main, public.range_check(), ch, public.margin)
    r = []
    for g in range(NUM_HELPERS):
        group = terms[g * TERMS_PER_HELPER:(g + 1) * TERMS_PER_HELPER]
        # prod_{j != i} d_j as (product of the d_j before i) * (product of those after i)
        before, after = [ONE], [ONE]
        for (_, den), (_, den_back) in zip(group[:-1], reversed(group[1:])):
            before.append(before[-1] * den)
            after.append(after[-1] * den_back)
        rhs = ZERO
        for (num, _), b, a in zip(group, before, reversed(after)):
            rhs = rhs + num * (b * a)
        prod = before[-1] * group[-1][1]
        r.append((aux_column(cur_aux, g) * prod - rhs) * s)
    helpers = ZERO
    for g in range(NUM_HELPERS):
        helpers = helpers + aux_column(cur_aux, g)
    r.append((aux_column(nxt_aux, SUM) - aux_column(cur_aux, SUM) - helpers) * s)
    assert len(r) == NUM_AUX_CONSTRAINTS
    return r


# =================================================================================================
# 8. Boundary constraints [B0-B8]
# =================================================================================================


def boundary(trace: dict, public: Public, ch: Challenges) -> List[Tuple[int, int, bool]]:
    """(number, row, holds) for B0..B8; L is the last real row."""
    main, aux, last = trace["main"], trace["aux"], int(trace["last_real_row"])
    at = lambda col, row: int(main[row, col])  # noqa: E731
    f = public.forest
    return [
        (0, 0, at(SEL, 0) == 1),  # SEL[0] = 1
        (1, last, at(SEL, last) == 1),  # SEL[L] = 1
        (2, last + 1, at(SEL, last + 1) == 0),  # SEL[L+1] = 0
        (3, 0, at(FIRST, 0) == 1),  # FIRST[0] = 1
        (4, 0, at(IDX, 0) == f.num_leaves + f.start),  # IDX[0] = N' + start
        (5, 0, at(TABLE, 0) == 0),  # TABLE[0] = 0
        (6, last, at(TABLE, last) == TABLE_SIZE - 1),  # TABLE[L] = 2^13 - 1
        (7, 0, tuple(int(v) for v in aux[0, SUM]) == (0, 0)),  # SUM[0] = 0
        (8, last + 1, tuple(int(v) for v in aux[last + 1, SUM]) == expected_sum(public, ch).pair()),
    ]


def margin_boundary(trace: dict) -> List[Tuple[int, int, bool]]:
    """[M-B0] ME[L] = 0: no run open at the last real row."""
    last = int(trace["last_real_row"])
    return [(0, last, int(trace["main"][last, MENTRY]) == 0)]


# =================================================================================================
# 9. The buses, exactly
# =================================================================================================


def _int_row(row) -> List[int]:
    return [int(v) for v in row]


def lookup_values(row: List[int], range_check: Tuple[int, int], margin: bool = False) -> List[Tuple[int, int]]:
    """(multiplicity, value) of a row's range lookups, exactly mod p (integers, not GF); in
    version 3 the x0-top and bound lookups count 1 - MC."""
    top, shift = range_check
    bounded = (1 - row[MCLOSE]) % P if margin else 1
    out = []
    for j in range(SLOTS):
        ls = [row[limb(j, i)] for i in range(LIMBS_PER_SLOT)]
        out += [(1, l) for l in ls]
        if bounded:
            out.append((bounded, 8 * ls[4] % P))
            out.append((bounded, (shift * ls[top] + TABLE_SIZE * sum(ls[top + 1:])) % P))
        g = row[CONT] if j < 2 else row[FIRST] + row[CONT]
        high = sum(l << (13 * k) for k, l in enumerate(ls[LOW_LIMBS:]))
        tag = (row[slot_high(j)] - (high << TAG_BITS)) % P
        if g % P:
            out.append((g % P, tag))
    return out


def range_lookups(rows: np.ndarray, range_check: Tuple[int, int], margin: bool = False) -> Dict[int, int]:
    """value -> summed multiplicity (exact integers) of every range lookup of ``rows``. Every
    row looks its limbs and bounds up, and most rows are fillers whose limbs are all zero: those
    are counted at once, the others row by row with ``lookup_values``."""
    counts: Dict[int, int] = defaultdict(int)
    plain = ~rows[:, LIMBS:MAIN_WIDTH].any(axis=1) & (rows[:, FIRST] == 0) & (rows[:, CONT] == 0)
    if margin:
        plain &= rows[:, MCLOSE] == 0
    counts[0] += int(plain.sum()) * SLOTS * (LIMBS_PER_SLOT + 2)  # all-zero limbs: 0, 8*0, bound 0
    for r in np.flatnonzero(~plain):
        for m, v in lookup_values(_int_row(rows[r]), range_check, margin):
            counts[v] += m
    return counts


def bus_residuals(main: np.ndarray, last_real: int, public: Public) -> Dict[tuple, tuple]:
    """Every bus message whose net multiplicity over the real rows 0..last_real, minus what the
    verifier's side (``expected_sum``) accounts for, is not zero mod p:

    * ``("range", v)``: lookups of v (weighted by their numerators) - sum of MULT over table
      rows holding v;
    * ``("asset", tag)``: per part, sum of g_j * part over slots keyed tag, minus the public part
      sum when tag = 2k for a listed asset k;
    * ``("tree", (i, digest))``: published (e + d) - consumed (d) - [i is a forest root with this
      public digest];
    * ``("level", (prev, idx))``: LSTART rows announcing it - [a listed level start].

    Version 3 (README "Constraints of version 3"):

    * ``("asset", (tag, key))``: per part, what leaf rows (key UIDK) and entry-row slots 0-1
      (consumed under UIDK, handed back under KIND) sum under that key, minus the public equity
      part sums under (2k, 0) and debt part sums under (2k + 1, 1);
    * ``("price", (tag, kind, c0..c6))``: entry-row slot lookups (ME) - MP * MULTP of table rows;
    * ``("pin", (tag, kind, c0..c6))``: MP of price-table rows - [a listed tuple].

    Empty exactly when an honestly built auxiliary trace reaches ``expected_sum`` for every
    choice of challenges (distinct messages have distinct poles, except with negligible
    probability)."""
    rows = main[:last_real + 1]
    range_check = public.range_check()
    margin = public.margin
    out: Dict[tuple, tuple] = {}

    rng = range_lookups(rows, range_check, margin)
    for r in np.flatnonzero(rows[:, MULT]):
        rng[int(rows[r, TABLE])] -= int(rows[r, MULT])
    out.update({("range", v): (n % P,) for v, n in rng.items() if n % P})

    # assets: leaf rows (and version 3's entry rows) only (the gates vanish elsewhere)
    assets: Dict[object, list] = defaultdict(lambda: [0] * PARTS)
    for k, sums in enumerate(public.totals, start=1):
        for i in range(PARTS):
            assets[(2 * k, 0) if margin else 2 * k][i] -= sums[i]
    if margin:
        for k, sums in enumerate(public.debt_totals, start=1):
            for i in range(PARTS):
                assets[(2 * k + 1, 1)][i] -= sums[i]
    live = (rows[:, FIRST] != 0) | (rows[:, CONT] != 0)
    if margin:
        live |= rows[:, MENTRY] != 0
    for r in np.flatnonzero(live):
        row = _int_row(rows[r])
        me = row[MENTRY] if margin else 0
        for j in range(SLOTS):
            g = row[CONT] if j < 2 else row[FIRST] + row[CONT]
            ls = [row[limb(j, i)] for i in range(LIMBS_PER_SLOT)]
            high = sum(l << (13 * k) for k, l in enumerate(ls[LOW_LIMBS:]))
            tag = (row[slot_high(j)] - (high << TAG_BITS)) % P
            ps = parts_of_limbs(ls)
            if not margin:
                for i, p in enumerate(ps):
                    assets[tag][i] += g * p
                continue
            consumed = g - me if j < MARGIN_SLOTS else g
            for i, p in enumerate(ps):
                assets[(tag, row[UIDK])][i] += consumed * p
            if j < MARGIN_SLOTS and me:
                for i, p in enumerate(ps):
                    assets[(tag, row[kind_col(j)])][i] += me * p
    out.update({("asset", t): tuple(v % P for v in sums) for t, sums in assets.items() if any(v % P for v in sums)})

    if margin:
        # price: entry slots look their tuple up, table rows answer MULTP; pin: table rows
        # against the verifier's list
        price: Dict[tuple, int] = defaultdict(int)
        pin: Dict[tuple, int] = defaultdict(int)
        for t in public.listed_tuples():
            pin[t] -= 1
        for r in np.flatnonzero((rows[:, MENTRY] != 0) | (rows[:, MPRICE] != 0)):
            row = _int_row(rows[r])
            me, mp = row[MENTRY], row[MPRICE]
            for j in range(MARGIN_SLOTS):
                ls = [row[limb(j, i)] for i in range(LIMBS_PER_SLOT)]
                high = sum(l << (13 * k) for k, l in enumerate(ls[LOW_LIMBS:]))
                tag = (row[slot_high(j)] - (high << TAG_BITS)) % P
                t = (tag, row[kind_col(j)]) + tuple(row[coef_col(j, i)] for i in range(COEF_DIGITS))
                price[t] += me - (mp * row[MULTP] if j == 0 else 0)
                if j == 0:
                    pin[t] += mp
        out.update({("price", m): (n % P,) for m, n in price.items() if n % P})
        out.update({("pin", m): (n % P,) for m, n in pin.items() if n % P})

    # tree
    tree: Dict[tuple, int] = defaultdict(int)
    for index, root in zip(public.forest.roots(), public.roots):
        tree[(index,) + tuple(root)] -= 1
    for r in np.flatnonzero((rows[:, END] != 0) | (rows[:, NODE] != 0)):
        row = _int_row(rows[r])
        e, d, idx = row[END], row[NODE], row[IDX]
        tree[(idx,) + tuple(row[state(NUM_ROUNDS, 4 + k)] for k in range(4))] += e + d
        tree[((2 * idx) % P,) + tuple(row[state(0, 4 + k)] for k in range(4))] -= d
        tree[((2 * idx + 1) % P,) + tuple(row[state(0, 8 + k)] for k in range(4))] -= d
    out.update({("tree", m): (n % P,) for m, n in tree.items() if n % P})

    # level
    level: Dict[tuple, int] = defaultdict(int)
    for pair in public.forest.level_starts():
        level[pair] -= 1
    for r in np.flatnonzero(rows[:, LSTART] != 0):
        level[(int(rows[r, PREV]), int(rows[r, IDX]))] += int(rows[r, LSTART])
    out.update({("level", m): (n % P,) for m, n in level.items() if n % P})
    return out


def residual_sum(residuals: Dict[tuple, tuple], ch: Challenges) -> Quad:
    """sum(residual / pole): where an honestly built running sum ends, less ``expected_sum``."""
    total = ZERO
    for (bus, key), value in residuals.items():
        if bus == "range":
            total = total + Quad(value[0]) / pole(ch, RANGE_BUS, [GF(key)])
        elif bus == "asset":
            key = key if isinstance(key, tuple) else (key,)
            total = total + packed(ch, value) / pole(ch, ASSET_BUS, [GF(v) for v in key])
        elif bus in ("price", "pin"):
            number = PRICE_BUS if bus == "price" else PIN_BUS
            total = total + Quad(value[0]) / pole(ch, number, [GF(v) for v in key])
        elif bus == "tree":
            total = total + Quad(value[0]) / pole(ch, TREE_BUS, [GF(v) for v in key])
        else:
            total = total + Quad(value[0]) / pole(ch, LEVEL_BUS, [GF(v) for v in key])
    return total


BUS_NUMBERS = {"range": RANGE_BUS, "asset": ASSET_BUS, "tree": TREE_BUS, "level": LEVEL_BUS,
               "price": PRICE_BUS, "pin": PIN_BUS}


def constraint_degrees(public: Public, ch: Challenges, seed: int = 1) -> Tuple[list, list]:
    """Every transition constraint's degree in the trace columns, measured along a random line
    (with overwhelming probability its total degree). (main degrees, aux degrees); in version
    3 the main degrees are T0-T120's, then M0-M34's."""
    rng = np.random.default_rng(seed)
    rand = lambda *shape: GF(rng.integers(0, P, size=shape, dtype=np.uint64))  # noqa: E731
    ts = GF(np.arange(12, dtype=np.uint64))
    line = lambda width: rand(width) + ts[:, None] * rand(width)  # noqa: E731
    width = MAIN_WIDTH_V3 if public.margin else MAIN_WIDTH
    cur, nxt = line(width), line(width)
    cur_aux = line(AUX_WIDTH * 2).reshape(12, AUX_WIDTH, 2)
    nxt_aux = line(AUX_WIDTH * 2).reshape(12, AUX_WIDTH, 2)
    degree = lambda v: galois.lagrange_poly(ts, v).degree  # noqa: E731
    main = [degree(v) for v in main_transition(cur, nxt, public)]
    if public.margin:
        main += [degree(v) for v in margin_transition(cur, nxt)]
    aux = [max(degree(v.a), degree(v.b)) for v in aux_transition(cur, cur_aux, nxt_aux, ch, public)]
    return main, aux


# =================================================================================================
# 10. Checking a whole trace
# =================================================================================================


class Violation(NamedTuple):
    kind: str  # "T" main transition, "M" margin transition, "A" aux transition, "B" boundary,
    #            "MB" margin boundary, "bus" unbalanced bus
    index: int  # constraint number; for "bus" the bus number
    row: int  # current row of a transition, row of a boundary, last_real + 1 for a bus


def plain_filler_mask(main: np.ndarray) -> np.ndarray:
    """Rows exactly like an honest filler past the first: SEL = 1, TABLE = min(i, 2^13 - 1),
    everything else but MULT zero."""
    n, width = main.shape
    expect = np.zeros((n, width), dtype=np.uint64)
    expect[:, SEL] = 1
    expect[:, TABLE] = np.minimum(np.arange(n), TABLE_SIZE - 1)
    same = main == expect
    same[:, MULT] = True
    return same.all(axis=1)


def evaluated_rows(dump: dict, fillers: int = 64, blinding: int = 16) -> np.ndarray:
    """The rows whose transitions ``check`` evaluates: every row unlike an honest filler and the
    row before it (so every transition a change can touch), the table's edges, the rows around
    the last real row, and samples of the rest (a transition between two plain fillers is the
    same check wherever it sits; blinding rows are gated off). ``rows="all"`` checks them all."""
    main, last = dump["main"], int(dump["last_real_row"])
    n = main.shape[0]
    odd = np.concatenate([np.flatnonzero(~plain_filler_mask(main[:last + 1])),
                          last + 1 + np.flatnonzero(main[last + 1:, SEL] != 0)])
    rows = set(odd.tolist()) | set((odd - 1).tolist())
    rows |= {0, 1, TABLE_SIZE - 2, TABLE_SIZE - 1, TABLE_SIZE}
    rows |= set(range(last - 2, last + 3))
    rows |= set(np.linspace(0, last, fillers, dtype=np.int64).tolist())
    rows |= set(np.linspace(last + 1, n - 2, blinding, dtype=np.int64).tolist())
    return np.array(sorted(r for r in rows if 0 <= r <= n - 2), dtype=np.int64)


def check(dump: dict, challenges=None, *, rows=None, fillers: int = 64, blinding: int = 16,
          batch: int = 512) -> List[Violation]:
    """Every failing constraint of a ``trace_dump_v2`` or ``trace_dump_v3`` dict (see the module
    docstring)."""
    main, aux = dump["main"], dump["aux"]
    last = int(dump["last_real_row"])
    n = main.shape[0]
    public = Public.parse(dump["public_elements"])
    ch = Challenges.of(challenges if challenges is not None else dump["challenges"])
    if rows is None:
        rows = evaluated_rows(dump, fillers, blinding)
    elif isinstance(rows, str) and rows == "all":
        rows = np.arange(n - 1)  # winterfell exempts the last row's transition
    rows = np.asarray(rows, dtype=np.int64)
    out: List[Violation] = []
    for start in range(0, len(rows), batch):
        rs = rows[start:start + batch]
        cur, nxt = GF(main[rs]), GF(main[rs + 1])
        for i, value in enumerate(main_transition(cur, nxt, public)):
            out.extend(Violation("T", i, int(r)) for r in rs[np.flatnonzero(value != 0)])
        if public.margin:
            for i, value in enumerate(margin_transition(cur, nxt)):
                out.extend(Violation("M", i, int(r)) for r in rs[np.flatnonzero(value != 0)])
        values = aux_transition(cur, GF(aux[rs]), GF(aux[rs + 1]), ch, public)
        for i, value in enumerate(values[:NUM_HELPERS]):
            out.extend(Violation("A", i, int(r)) for r in rs[np.flatnonzero(~value.is_zero())])
    # [A9] on every transition: additions and a base-field factor, exactly as integers mod p
    a = aux.astype(object)
    s = main[:n - 1, SEL].astype(object)[:, None]
    a9 = s * (a[1:, SUM] - a[:-1, SUM] - a[:-1, :NUM_HELPERS].sum(axis=1)) % P
    out.extend(Violation("A", SUM, int(r)) for r in np.flatnonzero((a9 != 0).any(axis=1)))
    out.extend(Violation("B", i, r) for i, r, ok in boundary(dump, public, ch) if not ok)
    if public.margin:
        out.extend(Violation("MB", i, r) for i, r, ok in margin_boundary(dump) if not ok)
    unbalanced = {BUS_NUMBERS[bus] for bus, _ in bus_residuals(main, last, public)}
    out.extend(Violation("bus", b, last + 1) for b in sorted(unbalanced))
    return sorted(set(out), key=lambda v: (v.row, v.kind, v.index))
