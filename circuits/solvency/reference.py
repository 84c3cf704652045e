"""An independent, executable reference of the solvency AIR (``circuits/solvency/src/air.rs``).

Read it next to ``air.rs``: every constraint carries the same number, ``[Tn]`` (main transition),
``[An]`` (auxiliary transition) or ``[Bn]`` (boundary), and its formula in a comment. Nothing is
imported from Rust: the column layout, the Rescue-Prime ``Rp64_256`` constants and permutation
are transcribed here, and the trace to check comes from ``stark_por._native.trace_dump``.

Conventions
-----------
* ``GF`` is the Goldilocks field, p = 2^64 - 2^32 + 1 (``galois``). ``Quad`` is the quadratic
  extension GF(p)[phi]/(phi^2 - phi + 2) that the auxiliary columns and the challenges live in;
  a + b*phi is stored as the pair ``[a, b]`` (winterfell's order).
* Every formula is written on arrays of rows: ``cur[..., k]`` is column ``k`` of the current
  row(s), ``nxt[..., k]`` of the next one(s). One code path therefore evaluates one row or a
  whole batch of rows at once (``galois`` arrays are vectorized).
* Notation as in ``air.rs``: ``s`` = SEL, ``f`` = FIRST, ``c`` = CONT, ``d`` = NODE, ``e`` = END,
  ``leaf = f + c``; a trailing ``_`` means "read from the next row".

What ``check`` evaluates
------------------------
A trace has at least 2^13 rows, most of them plain filler rows for small ledgers (SEL = IDX = 1,
TABLE = min(i, 2^12 - 1), MULT free, every other column 0), and pure Python evaluates the hash
constraints at about 2 ms a row. ``check`` evaluates every transition constraint on: every row
that is not a plain filler and the row before it, the rows around row 0, the end of the range
table and the real/blinding boundary, a deterministic sample of filler rows and a sample of
blinding rows (where every constraint is gated off by SEL and must evaluate to zero, as in the
AIR). A transition between two plain fillers meets every main constraint by inspection (all
flags, states and limbs are 0, SEL and IDX stay 1, TABLE steps by 0 or 1), and so does one
between two rows with SEL = 0 (every constraint is gated by s or s'); every other blinding row
is evaluated too, so the main constraints are covered completely; the samples confirm both
cases. [A0-A5] on plain filler rows are sampled only. [A6] (additions only) and every boundary
constraint are evaluated on the whole trace, and the three log-derivative buses are checked
*exactly* over all real rows (``bus_residuals``): an empty residual means an honestly built
auxiliary trace reaches ``expected_sum`` for every choice of challenges.
``check(dump, rows="all")`` evaluates every transition (about 10 s for 2^13 rows).

Not a transcription, but measured: ``constraint_degrees`` finds each constraint's degree in the
trace columns, to compare with what ``SolvencyAir::new`` declares to winterfell.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import galois
import numpy as np

# =================================================================================================
# 1. The field and its quadratic extension
# =================================================================================================

P = 2**64 - 2**32 + 1
GF = galois.GF(P)


class Quad:
    """a + b*phi in GF(p)[phi]/(phi^2 - phi + 2); a and b are GF scalars or GF arrays."""

    __slots__ = ("a", "b")

    def __init__(self, a, b=0):
        self.a = a if isinstance(a, GF) else GF(a)
        self.b = b if isinstance(b, GF) else GF(b)

    @classmethod
    def of(cls, pair) -> "Quad":
        """From a stored pair ``[a, b]`` (or arrays ``pairs[..., 0]``, ``pairs[..., 1]``)."""
        pair = np.asarray(pair, dtype=np.uint64)
        return cls(GF(pair[..., 0]), GF(pair[..., 1]))

    def pair(self) -> Tuple[int, int]:
        return int(self.a), int(self.b)

    def _lift(self, other) -> "Quad":
        return other if isinstance(other, Quad) else Quad(other)

    def __add__(self, other):
        o = self._lift(other)
        return Quad(self.a + o.a, self.b + o.b)

    __radd__ = __add__

    def __sub__(self, other):
        o = self._lift(other)
        return Quad(self.a - o.a, self.b - o.b)

    def __rsub__(self, other):
        return self._lift(other) - self

    def __neg__(self):
        return Quad(-self.a, -self.b)

    def __mul__(self, other):
        if not isinstance(other, Quad):  # an extension element times a base element
            o = other if isinstance(other, GF) else GF(other)
            return Quad(self.a * o, self.b * o)
        # (a + b*phi)(c + d*phi) = ac + (ad + bc)*phi + bd*phi^2, and phi^2 = phi - 2
        ac, bd = self.a * other.a, self.b * other.b
        return Quad(ac - bd - bd, self.a * other.b + self.b * other.a + bd)

    __rmul__ = __mul__

    def inv(self) -> "Quad":
        # the conjugate of a + b*phi is (a + b) - b*phi (phi' = 1 - phi is the other root), and
        # the norm (a + b*phi)((a + b) - b*phi) = a^2 + ab + 2b^2 lies in the base field
        norm = self.a * self.a + self.a * self.b + self.b * self.b * 2
        n_inv = norm ** -1
        return Quad((self.a + self.b) * n_inv, -self.b * n_inv)

    def __truediv__(self, other):
        return self * self._lift(other).inv()

    def is_zero(self):
        return (self.a == 0) & (self.b == 0)

    def __eq__(self, other):
        o = self._lift(other)
        return (self.a == o.a) & (self.b == o.b)

    def __repr__(self):
        return f"Quad({self.a!r}, {self.b!r})"


ZERO, ONE = Quad(0), Quad(1)


# =================================================================================================
# 2. Column layout (layout.rs)
# =================================================================================================

STATE_WIDTH = 12  # Rescue-Prime state: capacity 0..4, rate 4..12, digest 4..8
NUM_ROUNDS = 7

SEL, FIRST, CONT, NODE, END, IDX, TABLE, MULT = range(8)
STATE = 8  # 8 x 12 hash columns: the permutation input, then the state after each round
LIMBS = STATE + (NUM_ROUNDS + 1) * STATE_WIDTH  # 24 limb columns: 4 slots x 6 limbs of 12 bits
SLOTS = 4
LIMBS_PER_AMOUNT = 6  # 72 bits: enough for any amount below p
LIMB_BITS = 12
TABLE_SIZE = 1 << LIMB_BITS  # the range table 0 .. 2^12 - 1
PARTS = 3  # an amount is summed as three 24-bit parts of two limbs each
LIMBS_PER_PART = LIMBS_PER_AMOUNT // PARTS
PART_BITS = LIMB_BITS * LIMBS_PER_PART
MAIN_WIDTH = LIMBS + SLOTS * LIMBS_PER_AMOUNT
assert MAIN_WIDTH == 128


def state(s: int, c: int) -> int:
    """Column of element c of hash state s (0 = permutation input, 7 = output)."""
    return STATE + s * STATE_WIDTH + c


def limb(j: int, i: int) -> int:
    """Column of limb i of entry slot j."""
    return LIMBS + j * LIMBS_PER_AMOUNT + i


def slot_asset(j: int) -> int:
    """Rate column (in the permutation input) of slot j's asset; its amount follows it."""
    return state(0, 4 + 2 * j)


def slot_amount(j: int) -> int:
    return state(0, 5 + 2 * j)


NUM_TERMS = SLOTS * (LIMBS_PER_AMOUNT + 1) + SLOTS + 3 + 1  # 28 range, 4 asset, 3 tree, 1 table
TERMS_PER_HELPER = 6
NUM_HELPERS = NUM_TERMS // TERMS_PER_HELPER  # 6 helper columns
SUM = NUM_HELPERS  # aux column 6: the running sum
AUX_WIDTH = NUM_HELPERS + 1

RANGE_BUS, ASSET_BUS, TREE_BUS = 1, 2, 3
CIRCUIT_VERSION = 1
MIN_RANGE_BITS, MAX_RANGE_BITS = 32, 63
FIRST_ROUND_CONSTRAINT = 33
NUM_MAIN_CONSTRAINTS = FIRST_ROUND_CONSTRAINT + NUM_ROUNDS * STATE_WIDTH  # 117
NUM_AUX_CONSTRAINTS = NUM_HELPERS + 1  # 7

LEAF_TAG = int.from_bytes(b"stpr/lf\x01", "big")
NODE_TAG = int.from_bytes(b"stpr/nd\x01", "big")


# =================================================================================================
# 3. Rescue-Prime Rp64_256 (winter-crypto 0.13.1), transcribed
# =================================================================================================

ALPHA = 7
INV_ALPHA = 10540996611094048183  # 1/7 mod (p - 1): x -> x^INV_ALPHA inverts x -> x^7

# fmt: off
# MDS, INV_MDS, ARK1, ARK2 exactly as in winter-crypto-0.13.1/src/hash/rescue/rp64_256/mod.rs
MDS = [
    [7, 23, 8, 26, 13, 10, 9, 7, 6, 22, 21, 8],
    [8, 7, 23, 8, 26, 13, 10, 9, 7, 6, 22, 21],
    [21, 8, 7, 23, 8, 26, 13, 10, 9, 7, 6, 22],
    [22, 21, 8, 7, 23, 8, 26, 13, 10, 9, 7, 6],
    [6, 22, 21, 8, 7, 23, 8, 26, 13, 10, 9, 7],
    [7, 6, 22, 21, 8, 7, 23, 8, 26, 13, 10, 9],
    [9, 7, 6, 22, 21, 8, 7, 23, 8, 26, 13, 10],
    [10, 9, 7, 6, 22, 21, 8, 7, 23, 8, 26, 13],
    [13, 10, 9, 7, 6, 22, 21, 8, 7, 23, 8, 26],
    [26, 13, 10, 9, 7, 6, 22, 21, 8, 7, 23, 8],
    [8, 26, 13, 10, 9, 7, 6, 22, 21, 8, 7, 23],
    [23, 8, 26, 13, 10, 9, 7, 6, 22, 21, 8, 7],
]
INV_MDS = [
    [14868391535953158196, 13278298489594233127, 389999932707070822, 9782021734907796003,
     4829905704463175582, 7567822018949214430, 14205019324568680367, 15489674211196160593,
     17636013826542227504, 16254215311946436093, 3641486184877122796, 11069068059762973582],
    [11069068059762973582, 14868391535953158196, 13278298489594233127, 389999932707070822,
     9782021734907796003, 4829905704463175582, 7567822018949214430, 14205019324568680367,
     15489674211196160593, 17636013826542227504, 16254215311946436093, 3641486184877122796],
    [3641486184877122796, 11069068059762973582, 14868391535953158196, 13278298489594233127,
     389999932707070822, 9782021734907796003, 4829905704463175582, 7567822018949214430,
     14205019324568680367, 15489674211196160593, 17636013826542227504, 16254215311946436093],
    [16254215311946436093, 3641486184877122796, 11069068059762973582, 14868391535953158196,
     13278298489594233127, 389999932707070822, 9782021734907796003, 4829905704463175582,
     7567822018949214430, 14205019324568680367, 15489674211196160593, 17636013826542227504],
    [17636013826542227504, 16254215311946436093, 3641486184877122796, 11069068059762973582,
     14868391535953158196, 13278298489594233127, 389999932707070822, 9782021734907796003,
     4829905704463175582, 7567822018949214430, 14205019324568680367, 15489674211196160593],
    [15489674211196160593, 17636013826542227504, 16254215311946436093, 3641486184877122796,
     11069068059762973582, 14868391535953158196, 13278298489594233127, 389999932707070822,
     9782021734907796003, 4829905704463175582, 7567822018949214430, 14205019324568680367],
    [14205019324568680367, 15489674211196160593, 17636013826542227504, 16254215311946436093,
     3641486184877122796, 11069068059762973582, 14868391535953158196, 13278298489594233127,
     389999932707070822, 9782021734907796003, 4829905704463175582, 7567822018949214430],
    [7567822018949214430, 14205019324568680367, 15489674211196160593, 17636013826542227504,
     16254215311946436093, 3641486184877122796, 11069068059762973582, 14868391535953158196,
     13278298489594233127, 389999932707070822, 9782021734907796003, 4829905704463175582],
    [4829905704463175582, 7567822018949214430, 14205019324568680367, 15489674211196160593,
     17636013826542227504, 16254215311946436093, 3641486184877122796, 11069068059762973582,
     14868391535953158196, 13278298489594233127, 389999932707070822, 9782021734907796003],
    [9782021734907796003, 4829905704463175582, 7567822018949214430, 14205019324568680367,
     15489674211196160593, 17636013826542227504, 16254215311946436093, 3641486184877122796,
     11069068059762973582, 14868391535953158196, 13278298489594233127, 389999932707070822],
    [389999932707070822, 9782021734907796003, 4829905704463175582, 7567822018949214430,
     14205019324568680367, 15489674211196160593, 17636013826542227504, 16254215311946436093,
     3641486184877122796, 11069068059762973582, 14868391535953158196, 13278298489594233127],
    [13278298489594233127, 389999932707070822, 9782021734907796003, 4829905704463175582,
     7567822018949214430, 14205019324568680367, 15489674211196160593, 17636013826542227504,
     16254215311946436093, 3641486184877122796, 11069068059762973582, 14868391535953158196],
]
ARK1 = [
    [13917550007135091859, 16002276252647722320, 4729924423368391595, 10059693067827680263,
     9804807372516189948, 15666751576116384237, 10150587679474953119, 13627942357577414247,
     2323786301545403792, 615170742765998613, 8870655212817778103, 10534167191270683080],
    [14572151513649018290, 9445470642301863087, 6565801926598404534, 12667566692985038975,
     7193782419267459720, 11874811971940314298, 17906868010477466257, 1237247437760523561,
     6829882458376718831, 2140011966759485221, 1624379354686052121, 50954653459374206],
    [16288075653722020941, 13294924199301620952, 13370596140726871456, 611533288599636281,
     12865221627554828747, 12269498015480242943, 8230863118714645896, 13466591048726906480,
     10176988631229240256, 14951460136371189405, 5882405912332577353, 18125144098115032453],
    [6076976409066920174, 7466617867456719866, 5509452692963105675, 14692460717212261752,
     12980373618703329746, 1361187191725412610, 6093955025012408881, 5110883082899748359,
     8578179704817414083, 9311749071195681469, 16965242536774914613, 5747454353875601040],
    [13684212076160345083, 19445754899749561, 16618768069125744845, 278225951958825090,
     4997246680116830377, 782614868534172852, 16423767594935000044, 9990984633405879434,
     16757120847103156641, 2103861168279461168, 16018697163142305052, 6479823382130993799],
    [13957683526597936825, 9702819874074407511, 18357323897135139931, 3029452444431245019,
     1809322684009991117, 12459356450895788575, 11985094908667810946, 12868806590346066108,
     7872185587893926881, 10694372443883124306, 8644995046789277522, 1422920069067375692],
    [17619517835351328008, 6173683530634627901, 15061027706054897896, 4503753322633415655,
     11538516425871008333, 12777459872202073891, 17842814708228807409, 13441695826912633916,
     5950710620243434509, 17040450522225825296, 8787650312632423701, 7431110942091427450],
]
ARK2 = [
    [7989257206380839449, 8639509123020237648, 6488561830509603695, 5519169995467998761,
     2972173318556248829, 14899875358187389787, 14160104549881494022, 5969738169680657501,
     5116050734813646528, 12120002089437618419, 17404470791907152876, 2718166276419445724],
    [2485377440770793394, 14358936485713564605, 3327012975585973824, 6001912612374303716,
     17419159457659073951, 11810720562576658327, 14802512641816370470, 751963320628219432,
     9410455736958787393, 16405548341306967018, 6867376949398252373, 13982182448213113532],
    [10436926105997283389, 13237521312283579132, 668335841375552722, 2385521647573044240,
     3874694023045931809, 12952434030222726182, 1972984540857058687, 14000313505684510403,
     976377933822676506, 8407002393718726702, 338785660775650958, 4208211193539481671],
    [2284392243703840734, 4500504737691218932, 3976085877224857941, 2603294837319327956,
     5760259105023371034, 2911579958858769248, 18415938932239013434, 7063156700464743997,
     16626114991069403630, 163485390956217960, 11596043559919659130, 2976841507452846995],
    [15090073748392700862, 3496786927732034743, 8646735362535504000, 2460088694130347125,
     3944675034557577794, 14781700518249159275, 2857749437648203959, 8505429584078195973,
     18008150643764164736, 720176627102578275, 7038653538629322181, 8849746187975356582],
    [17427790390280348710, 1159544160012040055, 17946663256456930598, 6338793524502945410,
     17715539080731926288, 4208940652334891422, 12386490721239135719, 10010817080957769535,
     5566101162185411405, 12520146553271266365, 4972547404153988943, 5597076522138709717],
    [18338863478027005376, 115128380230345639, 4427489889653730058, 10890727269603281956,
     7094492770210294530, 7345573238864544283, 6834103517673002336, 14002814950696095900,
     15939230865809555943, 12717309295554119359, 4130723396860574906, 7706153020203677238],
]
# fmt: on

MDS_T = GF(np.array(MDS, dtype=np.uint64)).T
INV_MDS_T = GF(np.array(INV_MDS, dtype=np.uint64)).T
ARK1_GF = [GF(np.array(row, dtype=np.uint64)) for row in ARK1]
ARK2_GF = [GF(np.array(row, dtype=np.uint64)) for row in ARK2]

# self-checks of the transcription: INV_MDS is MDS's inverse, INV_ALPHA inverts ALPHA
assert (MDS_T.T @ INV_MDS_T.T == GF(np.eye(STATE_WIDTH, dtype=np.uint64))).all()
assert ALPHA * INV_ALPHA % (P - 1) == 1


def exp7(x):
    """x^7 = (x^2)^2 * x^2 * x."""
    x2 = x * x
    return x2 * x2 * x2 * x


def permutation_round(x, r: int):
    """One Rescue-XLIX round on states ``x[..., 0:12]``:
    x <- MDS*x^7 + ARK1[r];  x <- MDS*x^(1/7) + ARK2[r]."""
    x = exp7(x) @ MDS_T + ARK1_GF[r]  # (x7 @ MDS^T)[k] = sum_col MDS[k][col] * x7[col]
    x = (x ** INV_ALPHA) @ MDS_T + ARK2_GF[r]
    return x


def permutation_states(x) -> list:
    """The 8 states one permutation passes through: the input, then the output of each round
    (exactly one trace row's hash columns)."""
    x = x if isinstance(x, GF) else GF(np.asarray(x, dtype=np.uint64))
    out = [x]
    for r in range(NUM_ROUNDS):
        out.append(permutation_round(out[-1], r))
    return out


def permutation(x):
    """Rp64_256's permutation: the 7 rounds in order."""
    return permutation_states(x)[-1]


# =================================================================================================
# 4. Trace shape (options.rs): where the blinding rows start
# =================================================================================================

# The security presets: (queries, blowup, extension degree, FRI folding, FRI remainder max degree).
# "100" proves over the cubic extension since the honest security figure (every term, growing
# with the trace); "100-v1" is the quadratic option set earlier rounds were proved with.
PRESETS = {"100": (28, 8, 3, 8, 127), "128": (28, 16, 3, 8, 127), "100-v1": (28, 8, 2, 8, 127)}


def blinding_rows(trace_len: int, security: str = "100") -> int:
    """2q + ext*(2 + q*folding*layers + remainder), layers = FRI layers of the LDE domain + 1
    (winterfell's FriOptions::num_fri_layers: fold while the domain exceeds
    (remainder_max_degree + 1) * blowup)."""
    q, blowup, ext, folding, rem_degree = PRESETS[security]
    domain, fri_layers = trace_len * blowup, 0
    while domain > (rem_degree + 1) * blowup:
        domain //= folding
        fri_layers += 1
    return 2 * q + ext * (2 + q * folding * (fri_layers + 1) + rem_degree + 1)


def last_real_row(trace_len: int, security: str = "100") -> int:
    """n - r - 1, as SolvencyAir::new computes it."""
    return max(trace_len - blinding_rows(trace_len, security) - 1, 1)


# =================================================================================================
# 5. Public inputs and challenges (PublicInputs::to_elements, Challenges)
# =================================================================================================


@dataclass(frozen=True)
class Public:
    version: int
    num_leaves: int  # N'
    range_bits: int
    num_assets: int  # K
    assets_digest: Tuple[int, ...]
    round_digest: Tuple[int, ...]
    root: Tuple[int, ...]
    # per asset k (index k - 1): the sums of the three 24-bit parts of its amounts,
    # amount = part0 + 2^24*part1 + 2^48*part2
    totals: Tuple[Tuple[int, ...], ...]

    @classmethod
    def parse(cls, elements: Sequence[int]) -> "Public":
        """[version, N', range_bits, K, assets_digest(4), round_digest(4), root(4),
        then per asset its three part sums]"""
        e = [int(v) for v in elements]
        k = e[3]
        if len(e) != 16 + PARTS * k:
            raise ValueError(f"{len(e)} public elements, expected {16 + PARTS * k} for K = {k}")
        totals = tuple(tuple(e[16 + PARTS * a:16 + PARTS * (a + 1)]) for a in range(k))
        return cls(e[0], e[1], e[2], k, tuple(e[4:8]), tuple(e[8:12]), tuple(e[12:16]), totals)

    def range_check(self) -> Tuple[int, int]:
        """(top, shift) as RangeCheck::new computes them: with R the bound clamped to 32..63,
        top = floor((R - 1)/12) and shift = 2^(12*(top + 1) - R). See ``bound_value``: the limbs
        above limb top must be 0 and limb top < 2^(R - 12*top), i.e. amount < 2^R."""
        bits = min(max(self.range_bits, MIN_RANGE_BITS), MAX_RANGE_BITS)
        top = (bits - 1) // LIMB_BITS
        return top, 1 << (LIMB_BITS * (top + 1) - bits)


@dataclass(frozen=True)
class Challenges:
    alpha: Quad  # the pole
    beta: Quad  # packs tuples
    delta: Quad  # packs the three amount parts

    @classmethod
    def of(cls, pairs) -> "Challenges":
        return cls(*(Quad.of(p) for p in pairs))


def pole(ch: Challenges, bus: int, values) -> Quad:
    """alpha - (bus + beta*v0 + beta^2*v1 + ...): the pole of one bus message."""
    acc = Quad(bus)
    power = ch.beta
    for v in values:
        acc = acc + power * v
        power = power * ch.beta
    return ch.alpha - acc


def amount_parts(row, j: int) -> list:
    """The three parts of slot j's amount from its limbs: part_i = l_(2i) + 2^12*l_(2i+1)."""
    radix = GF(1 << LIMB_BITS)
    return [row[..., limb(j, 2 * i)] + radix * row[..., limb(j, 2 * i + 1)] for i in range(PARTS)]


def bound_value(row, j: int, range_check: Tuple[int, int]):
    """The bound lookup's value for slot j (RangeCheck::bound_value):
    shift*l_top + 2^12*sum_{i > top} l_i, in the field.

    Every limb is itself looked up, so it is an integer in [0, 2^12); then this value is an
    integer below 2^26 (at most 3 limbs above top, shift <= 2^11: no wrap-around), and it is a
    table value (< 2^12) iff every limb above top is 0 and shift*l_top < 2^12, i.e.
    l_top < 2^(R - 12*top): exactly amount = sum 2^(12i)*l_i < 2^R. It replaces the former
    vanishing constraints on the limbs above top: only the range bus enforces them now."""
    top, shift = range_check
    above = GF(0)
    for i in range(top + 1, LIMBS_PER_AMOUNT):
        above = above + row[..., limb(j, i)]
    return row[..., limb(j, top)] * GF(shift) + above * GF(TABLE_SIZE)


def row_terms(row, range_check: Tuple[int, int], ch: Challenges) -> List[Tuple[Quad, Quad]]:
    """The NUM_TERMS (numerator, denominator) pairs one row adds to the running sum."""
    terms = []
    # range lookups: every limb, and the bound lookup (see bound_value)
    for j in range(SLOTS):
        for i in range(LIMBS_PER_AMOUNT):
            terms.append((ONE, pole(ch, RANGE_BUS, [row[..., limb(j, i)]])))
        terms.append((ONE, pole(ch, RANGE_BUS, [bound_value(row, j, range_check)])))
    # asset sums: gate*(p0 + delta*p1 + delta^2*p2) keyed by the slot's asset; gate = c for the
    # two slots that hold the id commitment in a leaf's first block, f + c for the other two
    f, c = row[..., FIRST], row[..., CONT]
    for j in range(SLOTS):
        gate = c if j < 2 else f + c
        num = ZERO
        for part in reversed(amount_parts(row, j)):  # Horner: ((g*p2)*delta + g*p1)*delta + g*p0
            num = num * ch.delta + Quad(gate * part)
        terms.append((num, pole(ch, ASSET_BUS, [row[..., slot_asset(j)]])))
    # tree bus: +(e + d) for (IDX, output digest); a node consumes -(2*IDX, left) -(2*IDX+1, right)
    d, e, idx = row[..., NODE], row[..., END], row[..., IDX]
    out = [row[..., state(7, 4 + k)] for k in range(4)]
    left = [row[..., state(0, 4 + k)] for k in range(4)]
    right = [row[..., state(0, 8 + k)] for k in range(4)]
    two = GF(2)
    terms.append((Quad(e + d), pole(ch, TREE_BUS, [idx] + out)))
    terms.append((-Quad(d), pole(ch, TREE_BUS, [two * idx] + left)))
    terms.append((-Quad(d), pole(ch, TREE_BUS, [two * idx + GF(1)] + right)))
    # the range table, with its multiplicity: -MULT / (alpha - (1 + beta*TABLE))
    terms.append((-Quad(row[..., MULT]), pole(ch, RANGE_BUS, [row[..., TABLE]])))
    assert len(terms) == NUM_TERMS
    return terms


def expected_sum(public: Public, ch: Challenges) -> Quad:
    """What the running sum must reach: the unconsumed root message (1, root) and, per asset k,
    (P0 + delta*P1 + delta^2*P2) / pole(ASSET_BUS, k + 1) with P_i its public part sums."""
    total = pole(ch, TREE_BUS, [GF(1)] + [GF(v) for v in public.root]).inv()
    for k, parts in enumerate(public.totals):
        num = ZERO
        for part in reversed(parts):
            num = num * ch.delta + Quad(part)
        total = total + num / pole(ch, ASSET_BUS, [GF(k + 1)])
    return total


# =================================================================================================
# 6. Main transition constraints [T0-T116]
# =================================================================================================


def main_transition(cur, nxt, public: Public) -> list:
    """The 117 main transition constraints on (cur, nxt), in air.rs order; each is 0 when met."""
    one = GF(1)
    s, f, c, d, e = (cur[..., k] for k in (SEL, FIRST, CONT, NODE, END))
    s_, f_, c_, d_ = (nxt[..., k] for k in (SEL, FIRST, CONT, NODE))
    leaf = f + c
    leaf_ = f_ + c_
    n_leaves = GF(public.num_leaves)
    r = []
    # [T0-T1] SEL is 1...1 0...0:  s(1 - s),  s'(1 - s)
    r.append(s * (one - s))
    r.append(s_ * (one - s))
    # [T2-T5] row flags are binary:  s*x*(1 - x) for x in f, c, d, e
    r.append(s * f * (one - f))
    r.append(s * c * (one - c))
    r.append(s * d * (one - d))
    r.append(s * e * (one - e))
    # [T6-T8] at most one kind per row:  s*f*c,  s*f*d,  s*c*d
    r.append(s * f * c)
    r.append(s * f * d)
    r.append(s * c * d)
    # [T9] only a leaf block can end a leaf:  s*e*(1 - leaf)
    r.append(s * e * (one - leaf))
    # [T10] a continuation follows an unfinished leaf block:  s'*c'*(1 - leaf + e)
    r.append(s_ * c_ * (one - leaf + e))
    # [T11] a new leaf follows a finished one:  s'*f'*(1 - e)
    r.append(s_ * f_ * (one - e))
    # [T12] a node follows a finished leaf or a node:  s'*d'*(1 - e - d)
    r.append(s_ * d_ * (one - e - d))
    # [T13] a filler row (real, no kind) never follows a leaf block:  s'*(s' - leaf' - d')*leaf
    r.append(s_ * (s_ - leaf_ - d_) * leaf)
    # [T14] an unfinished leaf block is followed by its continuation:  s'*leaf*(1 - e)*(1 - c')
    r.append(s_ * leaf * (one - e) * (one - c_))
    # [T15] IDX: +1 per new leaf, same within a leaf, N' down to the first node, -1 per node:
    #       s'*(IDX' - IDX - f' + d'*(leaf*N' + d))
    r.append(s_ * (nxt[..., IDX] - cur[..., IDX] - f_ + d_ * (leaf * n_leaves + d)))
    # [T16] the table steps by 0 or 1:  s'*step*(step - 1),  step = TABLE' - TABLE
    step = nxt[..., TABLE] - cur[..., TABLE]
    r.append(s_ * step * (step - one))
    # [T17-T20] a continuation carries the capacity over:  s'*c'*(state0'[k] - state7[k])
    for k in range(4):
        r.append(s_ * c_ * (nxt[..., state(0, k)] - cur[..., state(7, k)]))
    # [T21-T24] a leaf starts from [LEAF_TAG, 0, 0, 0]:  s*f*(state0[k] - iv[k])
    for k in range(4):
        iv = GF(LEAF_TAG if k == 0 else 0)
        r.append(s * f * (cur[..., state(0, k)] - iv))
    # [T25-T28] a node starts from [NODE_TAG, 0, 0, 0]:  s*d*(state0[k] - iv[k])
    for k in range(4):
        iv = GF(NODE_TAG if k == 0 else 0)
        r.append(s * d * (cur[..., state(0, k)] - iv))
    # [T29-T32] each absorbed amount is its limbs:  s*gate_j*(b_j - (p0 + 2^24*p1 + 2^48*p2)),
    #           gate_j = c for j < 2 (the id commitment's slots in a first block), leaf otherwise
    radix = GF(1 << PART_BITS)
    for j in range(SLOTS):
        gate = c if j < 2 else leaf
        amount = GF(0)
        for part in reversed(amount_parts(cur, j)):  # Horner: (p2*2^24 + p1)*2^24 + p0
            amount = amount * radix + part
        r.append(s * gate * (cur[..., slot_amount(j)] - amount))
    # (No constraint on the limbs above the bound's top limb: the bound lookup, one per slot on
    # every real row, enforces both that they are zero and that the top limb fits; see
    # bound_value. The range bus is the only place a limb above the bound is caught.)
    # [T33-T116] the permutation, round by round: with x = state r and y = state r + 1,
    #            s*(leaf + d)*( MDS*x^7 + ARK1[r] - (INV_MDS*(y - ARK2[r]))^7 ),
    #            constraint 33 + 12*r + k is component k of round r
    active = s * (leaf + d)
    for rnd in range(NUM_ROUNDS):
        x = cur[..., state(rnd, 0):state(rnd, 0) + STATE_WIDTH]
        y = cur[..., state(rnd + 1, 0):state(rnd + 1, 0) + STATE_WIDTH]
        forward = exp7(x) @ MDS_T + ARK1_GF[rnd]
        backward = exp7((y - ARK2_GF[rnd]) @ INV_MDS_T)
        for k in range(STATE_WIDTH):
            r.append(active * (forward[..., k] - backward[..., k]))
    assert len(r) == NUM_MAIN_CONSTRAINTS
    return r


# =================================================================================================
# 7. Auxiliary transition constraints [A0-A6]
# =================================================================================================


def aux_column(aux, g: int) -> Quad:
    """Aux column g of GF array ``aux[..., AUX_WIDTH, 2]`` as extension elements."""
    return Quad(aux[..., g, 0], aux[..., g, 1])


def aux_transition(cur_main, cur_aux, nxt_aux, challenges: Challenges, public: Public) -> list:
    """The 7 auxiliary transition constraints (extension elements), in air.rs order."""
    s = cur_main[..., SEL]
    terms = row_terms(cur_main, public.range_check(), challenges)
    r = []
    # [A0-A5] helper h_g = sum n_i/d_i over its group of 6 terms, cleared of denominators:
    #         s*( h_g * prod d_i - sum_i n_i * prod_{j != i} d_j )
    for g in range(NUM_HELPERS):
        group = terms[g * TERMS_PER_HELPER:(g + 1) * TERMS_PER_HELPER]
        prefix = [ONE]  # prefix[k] = d_0 ... d_{k-1}
        for _, den in group:
            prefix.append(prefix[-1] * den)
        suffix, rhs = ONE, ZERO  # suffix = d_{k+1} ... d_5
        for k in reversed(range(len(group))):
            rhs = rhs + group[k][0] * prefix[k] * suffix
            suffix = suffix * group[k][1]
        r.append((aux_column(cur_aux, g) * prefix[-1] - rhs) * s)
    # [A6] the running sum adds every helper of each real row:  s*(SUM' - SUM - sum_g h_g)
    helpers = aux_column(cur_aux, 0)
    for g in range(1, NUM_HELPERS):
        helpers = helpers + aux_column(cur_aux, g)
    r.append((aux_column(nxt_aux, SUM) - aux_column(cur_aux, SUM) - helpers) * s)
    assert len(r) == NUM_AUX_CONSTRAINTS
    return r


# =================================================================================================
# 8. Boundary constraints [B0-B9]
# =================================================================================================


def boundary(trace: dict, public: Public, challenges: Optional[Challenges] = None) -> list:
    """[(name, ok)] for B0..B9 on a dump (``main``, ``aux``, ``last_real_row``). B9 needs the
    challenges (``challenges`` or ``trace["challenges"]``)."""
    main, aux, last = trace["main"], trace["aux"], int(trace["last_real_row"])
    ch = challenges or Challenges.of(trace["challenges"])
    at = lambda col, row: int(main[row, col])  # noqa: E731
    sum_at = lambda row: tuple(int(v) for v in aux[row, SUM])  # noqa: E731
    return [
        # [B0-B2] the real/blinding boundary sits where the options say
        ("B0", at(SEL, 0) == 1),
        ("B1", at(SEL, last) == 1),
        ("B2", at(SEL, last + 1) == 0),
        # [B3-B4] the first row starts leaf N'
        ("B3", at(FIRST, 0) == 1),
        ("B4", at(IDX, 0) == public.num_leaves),
        # [B5] the last real row is the root (or a filler after it)
        ("B5", at(IDX, last) == 1),
        # [B6-B7] the table covers every 12-bit value
        ("B6", at(TABLE, 0) == 0),
        ("B7", at(TABLE, last) == TABLE_SIZE - 1),
        # [B8] the sum starts at zero
        ("B8", sum_at(0) == (0, 0)),
        # [B9] after the last real row it equals what the public inputs dictate
        ("B9", sum_at(last + 1) == expected_sum(public, ch).pair()),
    ]


# Row of each boundary assertion, relative to the last real row where it says so.
def _boundary_row(name: str, last: int) -> int:
    return {"B1": last, "B2": last + 1, "B5": last, "B7": last, "B9": last + 1}.get(name, 0)


# =================================================================================================
# 9. The buses, exactly: which messages do not cancel over the real rows
# =================================================================================================


def range_lookups(rows: np.ndarray, range_check: Tuple[int, int]) -> List[np.ndarray]:
    """The 28 range-lookup values of each of ``rows`` (uint64 array), as 28 uint64 columns:
    the 24 limbs, then per slot its bound value (``bound_value``), computed exactly mod p."""
    top, shift = range_check
    values = [rows[:, limb(j, i)] for j in range(SLOTS) for i in range(LIMBS_PER_AMOUNT)]
    for j in range(SLOTS):
        bound = np.zeros(rows.shape[0], dtype=np.uint64)
        nz = np.flatnonzero(rows[:, limb(j, top):limb(j, 0) + LIMBS_PER_AMOUNT].any(axis=1))
        if nz.size:  # exact integers (object arrays), reduced mod p
            high = rows[nz, limb(j, top):limb(j, 0) + LIMBS_PER_AMOUNT].astype(object)
            exact = high[:, 0] * shift + high[:, 1:].sum(axis=1) * TABLE_SIZE
            bound[nz] = (exact % P).astype(np.uint64)
        values.append(bound)
    return values


def bus_residuals(main: np.ndarray, last_real: int, public: Public) -> Dict[tuple, tuple]:
    """Every bus message whose multiplicity over the real rows 0..last_real (the rows the
    running sum adds) is not what ``expected_sum`` accounts for, with the difference:

    * ``("range", v)``: (lookups of v) - (sum of MULT over table rows with TABLE = v), mod p;
    * ``("asset", a)``: per part i, the sum of gate*part_i over the slots keyed a, minus the
      public part sum if 1 <= a <= K;
    * ``("tree", (i, d0, d1, d2, d3))``: published (e + d) minus consumed (d), minus 1 for
      the root message (1, root).

    The running sum of an honestly built auxiliary trace ends at
    ``expected_sum + sum(residual / pole)``; it equals ``expected_sum`` for all challenges iff
    this dict is empty (distinct messages have distinct poles except with negligible probability).
    """
    rows = main[:last_real + 1]
    out: Dict[tuple, list] = {}

    # range bus: 28 lookups per row against the table column, counted by value
    values = np.concatenate(range_lookups(rows, public.range_check()))
    net: Dict[int, int] = defaultdict(int)
    small = values < TABLE_SIZE
    counts = np.bincount(values[small].astype(np.int64), minlength=TABLE_SIZE)
    for v in np.flatnonzero(counts):
        net[int(v)] += int(counts[v])
    big_values, big_counts = np.unique(values[~small], return_counts=True)
    for v, n in zip(big_values, big_counts):
        net[int(v)] += int(n)
    for r in np.flatnonzero(rows[:, MULT]):
        net[int(rows[r, TABLE])] -= int(rows[r, MULT])
    for v, n in net.items():
        if n % P:
            out[("range", v)] = (n % P,)

    # asset bus: every row whose gates are not both zero (the leaf rows)
    assets: Dict[int, list] = defaultdict(lambda: [0] * PARTS)
    for k, parts in enumerate(public.totals):
        for i in range(PARTS):
            assets[k + 1][i] -= parts[i]
    for r in np.flatnonzero((rows[:, FIRST] != 0) | (rows[:, CONT] != 0)):
        row = [int(v) for v in rows[r]]
        f, c = row[FIRST], row[CONT]
        for j in range(SLOTS):
            gate = c if j < 2 else f + c
            acc = assets[row[slot_asset(j)]]
            for i in range(PARTS):
                acc[i] += gate * (row[limb(j, 2 * i)] + (row[limb(j, 2 * i + 1)] << LIMB_BITS))
    for a, sums in assets.items():
        if any(v % P for v in sums):
            out[("asset", a)] = tuple(v % P for v in sums)

    # tree bus: rows that publish (e + d != 0) or consume (d != 0)
    tree: Dict[tuple, int] = defaultdict(int)
    tree[(1,) + tuple(public.root)] -= 1
    for r in np.flatnonzero((rows[:, END] != 0) | (rows[:, NODE] != 0)):
        row = [int(v) for v in rows[r]]
        e, d, idx = row[END], row[NODE], row[IDX]
        tree[(idx,) + tuple(row[state(7, 4 + k)] for k in range(4))] += e + d
        tree[((2 * idx) % P,) + tuple(row[state(0, 4 + k)] for k in range(4))] -= d
        tree[((2 * idx + 1) % P,) + tuple(row[state(0, 8 + k)] for k in range(4))] -= d
    for msg, n in tree.items():
        if n % P:
            out[("tree", msg)] = (n % P,)
    return out


def residual_sum(residuals: Dict[tuple, tuple], ch: Challenges) -> Quad:
    """sum(residual / pole) over the residual messages: the running sum of an honestly built
    auxiliary trace ends at expected_sum + this."""
    total = ZERO
    for (bus, key), value in residuals.items():
        if bus == "range":
            total = total + Quad(value[0]) / pole(ch, RANGE_BUS, [GF(key)])
        elif bus == "asset":
            num = ZERO
            for part in reversed(value):
                num = num * ch.delta + Quad(part)
            total = total + num / pole(ch, ASSET_BUS, [GF(key % P)])
        else:
            total = total + Quad(value[0]) / pole(ch, TREE_BUS, [GF(v) for v in key])
    return total


def constraint_degrees(public: Public, challenges: Challenges, seed: int = 1) -> Tuple[list, list]:
    """The degree of every transition constraint in the trace columns, measured: along a random
    line (cur, nxt, aux) = y + t*x each constraint is a polynomial in t whose degree is (with
    overwhelming probability) its total degree. Returns (main degrees, aux degrees)."""
    rng = np.random.default_rng(seed)
    rand = lambda *shape: GF(rng.integers(0, P, size=shape, dtype=np.uint64))  # noqa: E731
    ts = GF(np.arange(12, dtype=np.uint64))  # 12 points pin down degrees up to 11
    line = lambda width: rand(width) + ts[:, None] * rand(width)  # noqa: E731
    cur, nxt = line(MAIN_WIDTH), line(MAIN_WIDTH)
    cur_aux = line(AUX_WIDTH * 2).reshape(12, AUX_WIDTH, 2)
    nxt_aux = line(AUX_WIDTH * 2).reshape(12, AUX_WIDTH, 2)

    def degree(values) -> int:
        return galois.lagrange_poly(ts, values).degree

    main = [degree(v) for v in main_transition(cur, nxt, public)]
    aux = []
    for v in aux_transition(cur, cur_aux, nxt_aux, challenges, public):
        aux.append(max(degree(v.a), degree(v.b)))
    return main, aux


# =================================================================================================
# 10. Checking a whole trace
# =================================================================================================


class Violation(NamedTuple):
    kind: str  # "T" main transition, "A" aux transition, "B" boundary, "bus" unbalanced bus
    index: int  # constraint number (for "bus": RANGE_BUS, ASSET_BUS or TREE_BUS)
    row: int  # current row of a transition, asserted row of a boundary, last_real + 1 for a bus


def plain_filler_mask(main: np.ndarray) -> np.ndarray:
    """True on the rows that look exactly like an honest filler row: SEL = 1, IDX = 1,
    TABLE = min(i, 2^12 - 1), every other column except MULT zero. (MULT only enters the
    range bus, which ``bus_residuals`` checks on every row.)"""
    n = main.shape[0]
    expect = np.zeros((n, MAIN_WIDTH), dtype=np.uint64)
    expect[:, SEL] = 1
    expect[:, IDX] = 1
    expect[:, TABLE] = np.minimum(np.arange(n), TABLE_SIZE - 1)
    same = main == expect
    same[:, MULT] = True
    return same.all(axis=1)


def evaluated_rows(dump: dict, fillers: int = 256, blinding: int = 64) -> np.ndarray:
    """The current rows of the transitions ``check`` evaluates (see the module docstring)."""
    main, last = dump["main"], int(dump["last_real_row"])
    n = main.shape[0]
    # rows that are neither plain fillers (real part) nor SEL = 0 (blinding part, where a
    # transition with s = s' = 0 is zero by its gates)
    odd = np.concatenate([np.flatnonzero(~plain_filler_mask(main[:last + 1])),
                          last + 1 + np.flatnonzero(main[last + 1:, SEL] != 0)])
    rows = set(odd.tolist()) | set((odd - 1).tolist())
    rows |= {0, 1, TABLE_SIZE - 2, TABLE_SIZE - 1, TABLE_SIZE}
    rows |= set(range(last - 2, last + 3))
    rows |= set(np.linspace(0, last, fillers, dtype=np.int64).tolist())
    rows |= set(np.linspace(last + 1, n - 2, blinding, dtype=np.int64).tolist())
    return np.array(sorted(r for r in rows if 0 <= r <= n - 2), dtype=np.int64)


def check(dump: dict, challenges=None, *, rows=None, fillers: int = 256, blinding: int = 64,
          batch: int = 512) -> List[Violation]:
    """Every failing constraint of a trace dump (``stark_por._native.trace_dump``'s dict).

    ``challenges`` are the (alpha, beta, delta) pairs the dump was made with (default:
    ``dump["challenges"]``). ``rows``: the transitions to evaluate (default ``evaluated_rows``;
    ``"all"`` for every one of them: about 10 s for 2^13 rows)."""
    main, aux = dump["main"], dump["aux"]
    last = int(dump["last_real_row"])
    n = main.shape[0]
    public = Public.parse(dump["public_elements"])
    ch = Challenges.of(challenges if challenges is not None else dump["challenges"])
    if rows is None:
        rows = evaluated_rows(dump, fillers, blinding)
    elif isinstance(rows, str) and rows == "all":
        rows = np.arange(n - 1)  # winterfell exempts the last row from transition constraints
    rows = np.asarray(rows, dtype=np.int64)
    out: List[Violation] = []

    for start in range(0, len(rows), batch):
        rs = rows[start:start + batch]
        cur, nxt = GF(main[rs]), GF(main[rs + 1])
        for i, value in enumerate(main_transition(cur, nxt, public)):
            for r in rs[np.flatnonzero(value != 0)]:
                out.append(Violation("T", i, int(r)))
        cur_aux, nxt_aux = GF(aux[rs]), GF(aux[rs + 1])
        for i, value in enumerate(aux_transition(cur, cur_aux, nxt_aux, ch, public)):
            if i == SUM:
                continue  # [A6] is evaluated on every row below
            for r in rs[np.flatnonzero(~value.is_zero())]:
                out.append(Violation("A", i, int(r)))

    # [A6] on every transition: s*(SUM' - SUM - sum_g h_g). Only additions and a base-field
    # factor, so both extension coordinates are computed alike, as exact integers mod p.
    a = aux.astype(object)
    s = main[:n - 1, SEL].astype(object)[:, None]
    a4 = s * (a[1:, SUM] - a[:-1, SUM] - a[:-1, :NUM_HELPERS].sum(axis=1)) % P
    out.extend(Violation("A", SUM, int(r)) for r in np.flatnonzero((a4 != 0).any(axis=1)))

    for name, ok in boundary(dump, public, ch):
        if not ok:
            out.append(Violation("B", int(name[1:]), _boundary_row(name, last)))

    buses = {"range": RANGE_BUS, "asset": ASSET_BUS, "tree": TREE_BUS}
    unbalanced = {buses[bus] for bus, _ in bus_residuals(main, last, public)}
    out.extend(Violation("bus", b, last + 1) for b in sorted(unbalanced))
    return sorted(set(out), key=lambda v: (v.row, v.kind, v.index))
