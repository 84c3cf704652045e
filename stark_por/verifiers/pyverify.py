"""An independent inclusion-proof verifier for stark-por, in pure Python.

Standard library only, no native code, no package imports: copy this one file anywhere and run

    python pyverify.py me.json --user <your user id> --summary ROUND.stpor.json \
        [--fingerprint <the fingerprint the exchange published>] [--expect BTC=0.5,ETH=2]

(or ``python -m stark_por.verifiers.pyverify ...``). It is a second implementation of what the
Rust core checks (``rust/core/src/inclusion.rs``, ``statement.rs``), meant to be read in one
sitting:

1. the field GF(p), p = 2^64 - 2^32 + 1, and the Rescue-Prime permutation ``Rp64_256`` of
   winterfell 0.13.1, its constants transcribed from ``winter-crypto``;
2. stark-por's hashes (``circuits/solvency/README.md``, "Hashing"): a byte-string hash for the
   id commitment, the leaf of a user and the node over two children; the leaf of statement
   version 2 (``circuits/liabilities/src/hash.rs``) encodes each balance in two elements so
   that amounts up to 2^112 fit;
3. the inclusion proof format, JSON versions 1, 2 and 3 (:class:`InclusionProof`): the version
   is the statement version of the round, and says which leaf to hash; version 3 (margin)
   entries are of a kind, equity or debt;
4. the round's published summary (:class:`Summary`) and its statement fingerprint, a SHA-256
   over every published field (statement version, round, tree size, root, asset names,
   decimals and totals; version 3 adds the debt totals, prices and haircuts);
5. the check (:func:`check`): the proof is the user's, the summary is the one the exchange
   published (same fingerprint) and of the proof's version, the asset labels are the
   summary's, and the leaf recomputed from the user's own id, salt and balances walks up the
   sibling path to the summary's root; for version 3, the collateral condition the round's
   proof enforced for a borrower, recomputed from the summary's prices and haircuts
   (:func:`coefficients`, :class:`Position`).

A leaf commits to ``(asset index, amount)`` only: the names and decimals a proof shows are
bound by comparing them with the summary's asset list, so there is no check against a bare root.

Every refusal raises :class:`Rejected` with a stable ``reason`` code: ``malformed``,
``unknown-version``, ``wrong-user``, ``wrong-statement``, ``version-mismatch``, ``wrong-round``, ``asset-mismatch``,
``leaf-mismatch``, ``path-mismatch``, ``root-mismatch``, ``uncovered`` (version 3: the user's
debt is worth more than their collateral after haircuts, which the round's proof excludes) or
``balance-mismatch``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import operator
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple, Union

# --------------------------------------------------------------------------------------------
# 1. The field and Rescue-Prime Rp64_256
# --------------------------------------------------------------------------------------------

P = 2**64 - 2**32 + 1  # the Goldilocks prime
WIDTH = 12  # state: capacity 0..4, rate 4..12; the digest is state[4..8]
ROUNDS = 7
ALPHA = 7
INV_ALPHA = pow(ALPHA, -1, P - 1)  # x -> x^INV_ALPHA undoes x -> x^7
assert INV_ALPHA == 10540996611094048183  # the exponent winter-crypto hard-codes

# The MDS matrix is circulant: row i is this first row rotated right by i.
MDS_FIRST_ROW = [7, 23, 8, 26, 13, 10, 9, 7, 6, 22, 21, 8]
MDS = [[MDS_FIRST_ROW[(j - i) % WIDTH] for j in range(WIDTH)] for i in range(WIDTH)]

# Round constants (ARK1 after the x^7 half-round, ARK2 after the x^(1/7) half-round).
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


def _mds(state: List[int]) -> List[int]:
    return [sum(map(operator.mul, row, state)) % P for row in MDS]


def permute(state: Sequence[int]) -> List[int]:
    """The Rescue-XLIX permutation: per round, x^7, MDS, +ARK1, then x^(1/7), MDS, +ARK2."""
    s = list(state)
    for r in range(ROUNDS):
        s = _mds([pow(x, ALPHA, P) for x in s])
        s = [(x + c) % P for x, c in zip(s, ARK1[r])]
        s = _mds([pow(x, INV_ALPHA, P) for x in s])
        s = [(x + c) % P for x, c in zip(s, ARK2[r])]
    return s


# --------------------------------------------------------------------------------------------
# 2. stark-por's hashes
# --------------------------------------------------------------------------------------------
# Each hash starts from capacity [tag, 0, 0, 0] and absorbs by overwriting the rate. A digest is
# four elements; as bytes, each element is 8 bytes little-endian (so 32 bytes, canonical: < p).


def _tag(text: bytes) -> int:
    return int.from_bytes(text, "big")


LEAF_TAG = _tag(b"stpr/lf\x01")
LEAF_TAG_2 = _tag(b"stpr/lf\x02")  # the leaf of statement version 2
NODE_TAG = _tag(b"stpr/nd\x01")
ID_TAG = _tag(b"stpr/id\x01")

Digest = List[int]


def digest_to_bytes(d: Sequence[int]) -> bytes:
    return b"".join(x.to_bytes(8, "little") for x in d)


def digest_from_bytes(b: bytes) -> Optional[Digest]:
    """The four elements of a 32-byte digest, or ``None`` if one is not below p."""
    d = [int.from_bytes(b[i : i + 8], "little") for i in range(0, 32, 8)]
    return d if len(b) == 32 and all(x < P for x in d) else None


def _elements(b: bytes) -> Digest:
    d = digest_from_bytes(b)
    if d is None:
        raise ValueError("not a canonical 32-byte digest")
    return d


def hash_bytes(tag: int, data: bytes) -> Digest:
    """Byte-string hash: append 0x01, pack 7 bytes per element (little-endian), absorb 8
    elements per permutation; the capacity holds the tag and the byte length."""
    message = data + b"\x01"
    elements = [int.from_bytes(message[i : i + 7], "little") for i in range(0, len(message), 7)]
    state = [tag, len(data), 0, 0] + [0] * 8
    for i in range(0, len(elements), 8):
        block = elements[i : i + 8]
        state = permute(state[:4] + block + [0] * (8 - len(block)))
    return state[4:8]


def id_commitment(salt: bytes, user_id: str) -> bytes:
    """H_id(salt || user_id): the user's identity as their leaf holds it."""
    return digest_to_bytes(hash_bytes(ID_TAG, salt + user_id.encode()))


def _absorb_leaf(tag: int, idc: bytes, slots: List[int]) -> bytes:
    """The first permutation absorbs the id commitment and four more elements, each later one
    eight; unused slots are 0."""
    n = len(slots)
    blocks = 1 if n <= 4 else 1 + -(-(n - 4) // 8)
    slots = slots + [0] * (4 + (blocks - 1) * 8 - n)
    state = permute([tag, 0, 0, 0] + _elements(idc) + slots[:4])
    for i in range(4, len(slots), 8):
        state = permute(state[:4] + slots[i : i + 8])
    return digest_to_bytes(state[4:8])


def leaf_of(idc: bytes, entries: Sequence[Tuple[int, int]]) -> bytes:
    """The leaf (statement version 1) over an id commitment and (asset index, amount) entries
    sorted by asset: each entry is its two numbers as elements, two entries in the first
    permutation and four in each later one."""
    slots = [x for entry in entries for x in entry]
    if not all(0 <= x < P for x in slots):
        raise ValueError("asset indices and amounts must be field elements")
    return _absorb_leaf(LEAF_TAG, idc, slots)


LOW_BITS = 62  # bits of an amount in an entry's first element (version 2)
TAG_BITS = 13  # bits of an entry's tag; the amount's high part sits above them
MAX_ASSETS_2 = 2 ** (TAG_BITS - 1) - 1  # tag = 2·asset + kind < 2^13
AMOUNT_BITS_2 = 112


EQUITY, DEBT = 0, 1  # an entry's kind (statement version 3; version 2 has equity only)
KINDS = {"equity": EQUITY, "debt": DEBT}


def entry_elements_2(asset: int, amount: int, kind: int = EQUITY) -> Tuple[int, int]:
    """A version-2 (or 3) balance as its two elements: x0 = amount mod 2^62 and
    x1 = tag + 2^13·(amount >> 62), with tag = 2·asset + kind (0 equity, 1 debt). Both stay below
    2^63."""
    if not 1 <= asset <= MAX_ASSETS_2 or not 0 <= amount < 2**AMOUNT_BITS_2 or kind not in (EQUITY, DEBT):
        raise ValueError(f"a version-2 entry has an asset in 1..{MAX_ASSETS_2}, an amount below 2^{AMOUNT_BITS_2} "
                         "and a kind 0 or 1")
    return amount % 2**LOW_BITS, 2 * asset + kind + ((amount >> LOW_BITS) << TAG_BITS)


def leaf_of_2(idc: bytes, entries: Sequence[Tuple[int, ...]]) -> bytes:
    """The leaf of statement version 2 (and 3) over an id commitment and (asset index, amount)
    or (asset index, amount, kind) entries sorted by tag 2·asset + kind: the same absorption as
    version 1's with another tag, each entry encoded by :func:`entry_elements_2`."""
    return _absorb_leaf(LEAF_TAG_2, idc, [x for entry in entries for x in entry_elements_2(*entry)])


def leaf(user_id: str, salt: bytes, entries: Sequence[Tuple[int, ...]], version: int = 1) -> bytes:
    """The leaf of a user in a round whose inclusion proofs are of format ``version``: entries
    are (asset index, amount), and for version 3 (asset index, amount, kind). A version-3 leaf is
    hashed as version 2's, the kind in each entry's tag."""
    absorb = {1: leaf_of, 2: leaf_of_2, 3: leaf_of_2}[version]
    return absorb(id_commitment(salt, user_id), entries)


def node(left: bytes, right: bytes) -> bytes:
    """An internal node over two canonical child digests."""
    return digest_to_bytes(permute([NODE_TAG, 0, 0, 0] + _elements(left) + _elements(right))[4:8])


def walk(leaf_digest: bytes, leaf_index: int, path: Sequence[bytes]) -> bytes:
    """From the leaf up: at level k the running node is the left child iff bit k of the index is 0."""
    current = leaf_digest
    for level, sibling in enumerate(path):
        current = node(current, sibling) if (leaf_index >> level) & 1 == 0 else node(sibling, current)
    return current


# --------------------------------------------------------------------------------------------
# 3. The inclusion proof, JSON versions 1, 2 and 3
# --------------------------------------------------------------------------------------------
#   {"format": "stark-por/inclusion", "version": 1, 2 or 3, "round_id": str, "user_id": str,
#    "salt": base64 (32 bytes),
#    "entries": [{"asset": name, "index": 1-based asset index, "decimals": int,
#                 "amount": exact decimal string}, ...]   (sorted by index, no zero amounts),
#    "leaf_index": int, "num_leaves": int (a power of two),
#    "leaf": base64 digest, "root": hex digest, "path": [base64 digest, ...] (leaf level first)}
# The "leaf" and "root" a proof names only say where a broken proof breaks; acceptance rests on
# the walk from the user's own data to the root the user was given. The version is the
# statement version of the round: version 1 amounts are below 2^63, version 2 amounts below
# 2^112 with asset indices up to 4095, and the leaf is hashed as that version says.
# Version 3 (rounds with margin) is version 2 with a "kind" in each entry, "equity" or "debt",
# between "decimals" and "amount"; entries are sorted by (index, kind), equity first, and hashed
# as version 2's with the tag 2·index + kind (0 equity, 1 debt).

FORMAT = "stark-por/inclusion"
VERSION = 1
VERSIONS = (1, 2, 3)
MAX_PROOF_BYTES = 1 << 20
MAX_DEPTH = 40
MAX_DECIMALS = 30
AMOUNT_BOUND = 1 << 63
#: per format version: (amount bound, largest asset index)
DOMAIN = {1: (AMOUNT_BOUND, 2**32 - 1), 2: (2**AMOUNT_BITS_2, MAX_ASSETS_2), 3: (2**AMOUNT_BITS_2, MAX_ASSETS_2)}
_KEYS = {"format", "version", "round_id", "user_id", "salt", "entries", "leaf_index", "num_leaves", "leaf", "root", "path"}
_ENTRY_KEYS = {"asset", "index", "decimals", "amount"}
_ENTRY_KEYS_3 = _ENTRY_KEYS | {"kind"}
_AMOUNT = re.compile(r"([0-9]{1,40})(?:\.([0-9]{1,30}))?")
_ASSET_NAME = re.compile(r"[!-+\--~]{1,32}")  # printable ASCII without space or comma


class Rejected(Exception):
    """An inclusion proof that does not show the user inside the expected root."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(f"{reason}: {message}")


def _malformed(message: str) -> Rejected:
    return Rejected("malformed", message)


@dataclass(frozen=True)
class Entry:
    asset: str
    index: int  # 1-based position in the round's asset list
    decimals: int
    units: int  # amount in the asset's smallest unit
    kind: int = EQUITY  # DEBT only in proofs of version 3

    @property
    def kind_name(self) -> str:
        return "debt" if self.kind == DEBT else "equity"

    @property
    def amount(self) -> Decimal:
        return Decimal(f"{self.units}E-{self.decimals}")  # exact, whatever the decimal context

    @property
    def amount_text(self) -> str:
        """Shortest exact decimal text."""
        digits = str(self.units).rjust(self.decimals + 1, "0")
        whole, frac = digits[: len(digits) - self.decimals], digits[len(digits) - self.decimals :].rstrip("0")
        return f"{whole}.{frac}" if frac else whole


@dataclass(frozen=True)
class InclusionProof:
    round_id: str
    user_id: str
    salt: bytes
    entries: Tuple[Entry, ...]
    leaf_index: int
    num_leaves: int
    leaf: bytes
    root: bytes
    path: Tuple[bytes, ...]
    version: int = VERSION

    @property
    def balances(self) -> Dict[str, Decimal]:
        """Asset name -> amount; in version 3 a debt is listed as ``"<asset>.debt"`` (the
        ledger's column name), an equity under the asset's name."""
        return {e.asset + (".debt" if e.kind == DEBT else ""): e.amount for e in self.entries}

    @property
    def equity(self) -> Dict[str, Decimal]:
        """What the user holds, per asset (every balance of versions 1 and 2)."""
        return {e.asset: e.amount for e in self.entries if e.kind == EQUITY}

    @property
    def debt(self) -> Dict[str, Decimal]:
        """What the user owes, per asset (version 3)."""
        return {e.asset: e.amount for e in self.entries if e.kind == DEBT}

    def to_json(self, indent: Optional[int] = None) -> str:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        doc = {
            "format": FORMAT,
            "version": self.version,
            "round_id": self.round_id,
            "user_id": self.user_id,
            "salt": b64(self.salt),
            "entries": [_entry_json(e, self.version) for e in self.entries],
            "leaf_index": self.leaf_index,
            "num_leaves": self.num_leaves,
            "leaf": b64(self.leaf),
            "root": self.root.hex(),
            "path": [b64(s) for s in self.path],
        }
        separators = (",", ":") if indent is None else (",", ": ")
        return json.dumps(doc, indent=indent, separators=separators, ensure_ascii=False)

    def save(self, path) -> None:
        """Writes the proof as one line of compact JSON."""
        with open(path, "w", encoding="utf-8") as f:
            f.write(self.to_json() + "\n")

    @classmethod
    def load(cls, path) -> "InclusionProof":
        with open(path, "rb") as f:
            return cls.from_json(f.read(MAX_PROOF_BYTES + 1))

    @classmethod
    def from_json(cls, text) -> "InclusionProof":
        """Decodes and validates every field's type and encoding (never the hashes)."""
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                raise _malformed("not UTF-8 text") from None
        if not isinstance(text, str):
            raise TypeError(f"an inclusion proof is JSON text, not {type(text).__name__}")
        if len(text) > MAX_PROOF_BYTES:
            raise _malformed(f"longer than {MAX_PROOF_BYTES} characters")
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError) as e:
            raise _malformed(f"not JSON ({e})") from None
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise _malformed(f"not a {FORMAT} document")
        version = doc.get("version")
        if not _is_int(version):
            raise _malformed("version must be an integer")
        if version not in VERSIONS:
            raise Rejected("unknown-version", f"format version {version} (this verifier reads versions 1, 2 and 3)")
        if set(doc) != _KEYS:
            missing, extra = sorted(_KEYS - set(doc)), sorted(set(doc) - _KEYS)
            raise _malformed(f"fields missing {missing} / unexpected {extra}")
        for key in ("round_id", "user_id"):
            if not isinstance(doc[key], str):
                raise _malformed(f"{key} must be a string")
            if any(0xD800 <= ord(c) <= 0xDFFF for c in doc[key]):  # a "\ud800" escape: not UTF-8
                raise _malformed(f"{key} is not valid Unicode (a lone surrogate)")
        for key in ("leaf_index", "num_leaves"):
            if not _is_int(doc[key]):
                raise _malformed(f"{key} must be an integer")
        if not isinstance(doc["entries"], list) or not isinstance(doc["path"], list):
            raise _malformed("entries and path must be lists")
        if len(doc["path"]) > MAX_DEPTH:
            raise _malformed(f"the path has {len(doc['path'])} siblings (at most {MAX_DEPTH})")
        return cls(
            round_id=doc["round_id"],
            user_id=doc["user_id"],
            salt=_b64_32(doc["salt"], "salt"),
            entries=tuple(_entry(e, i, version) for i, e in enumerate(doc["entries"])),
            leaf_index=doc["leaf_index"],
            num_leaves=doc["num_leaves"],
            leaf=_b64_32(doc["leaf"], "leaf"),
            root=_hex_32(doc["root"], "root"),
            path=tuple(_b64_32(s, f"path element {k}") for k, s in enumerate(doc["path"])),
            version=version,
        )


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError("duplicate key")
    return dict(pairs)


def _b64_32(value, what: str) -> bytes:
    if isinstance(value, str):
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) == 32 and base64.b64encode(raw).decode() == value:
            return raw
    raise _malformed(f"{what} must be 32 bytes in base64")


def parse_root(value, what: str = "root") -> bytes:
    """A 32-byte digest given as 64 hex digits."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{64}", value):
        return bytes.fromhex(value)
    raise _malformed(f"{what} must be 64 hex digits")


_hex_32 = parse_root


def _entry_json(e: Entry, version: int) -> dict:
    if version < MARGIN_VERSION:
        return {"asset": e.asset, "index": e.index, "decimals": e.decimals, "amount": e.amount_text}
    return {"asset": e.asset, "index": e.index, "decimals": e.decimals, "kind": e.kind_name, "amount": e.amount_text}


def _entry(e, i: int, version: int = 1) -> Entry:
    keys = _ENTRY_KEYS_3 if version >= MARGIN_VERSION else _ENTRY_KEYS
    if not isinstance(e, dict) or set(e) != keys:
        raise _malformed(f"entry {i} must have exactly the fields {sorted(keys)}")
    kind = EQUITY
    if version >= MARGIN_VERSION:
        kind = KINDS.get(e["kind"]) if isinstance(e["kind"], str) else None
        if kind is None:
            raise _malformed(f'entry {i}: kind must be "equity" or "debt"')
    asset, index, decimals, amount = e["asset"], e["index"], e["decimals"], e["amount"]
    if not isinstance(asset, str) or not _ASSET_NAME.fullmatch(asset):
        raise _malformed(f"entry {i}: asset name must be 1 to 32 printable ASCII characters")
    if not _is_int(index) or not _is_int(decimals) or not 0 <= decimals <= MAX_DECIMALS:
        raise _malformed(f"entry {i}: index and decimals (0 to {MAX_DECIMALS}) must be integers")
    match = _AMOUNT.fullmatch(amount) if isinstance(amount, str) else None
    if match is None or len(match.group(2) or "") > decimals:
        raise _malformed(f"entry {i}: amount must be a decimal string with at most {decimals} decimals")
    whole, frac = match.group(1), match.group(2) or ""
    return Entry(asset, index, decimals, int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0"), kind)


# --------------------------------------------------------------------------------------------
# 4. The round's published summary and its statement fingerprint
# --------------------------------------------------------------------------------------------
#   ROUND.stpor.json: {"statement_version": 1, 2 or 3, "fingerprint": hex, "round_id": str,
#    "range_bits": int, "num_leaves": int, "root": hex,
#    "assets": [{"asset": name, "decimals": int, "total_units": decimal digits,
#                "total": the same in display units (optional)}, ...], ...}
# Version 3 adds "value_unit_exp": int (the unit of the collateral check, 10^-unit_exp USD) and,
# per asset, "debt_units": decimal digits (the exact debt total; "debt" the same in display
# units, optional), "price" and "haircut": canonical decimals (USD per whole token, a fraction
# in [0, 1]), both null (or absent) for an asset without a price, which no user may owe.
# "total_units" stays the equity total; "net_units" (total - debt, optional) is checked if given.
# Other fields (such as "security_bits") are not bound by the fingerprint: never shown.
#
#   fingerprint = SHA-256("stark-por/statement" 0x00 || u16le(version) || u16le(len round_id) || round_id
#       || u8(range_bits) || u64le(num_leaves) || root || u32le(K)
#       || K x (u8(len name) || name || u8(decimals) || u16le(len t) || t))
# with t the exact total in smallest units as minimal little-endian bytes (0 -> empty). A
# statement of version 2 (amounts up to 2^112) allows range bounds up to 112 bits and at most
# 4095 assets; its fingerprint differs from version 1's only in the version field. Version 3
# (margin) hashes version 2's fields under version 3, then
#       u8(unit_exp) || K x (u16le(len D) || D || u8(priced) || [priced: u8(len price) || price
#                            || u8(len haircut) || haircut])
# with D the asset's exact debt total (minimal little-endian bytes) and price, haircut their
# canonical ASCII text.
#
# The collateral check of version 3 values one smallest unit of each asset with two integer
# coefficients in units of 10^-unit_exp USD (decimals dec; :func:`coefficients`):
#       c = floor(price * (1 - haircut) * 10^(unit_exp - dec))   (collateral, rounded down)
#       d = ceil(price * 10^(unit_exp - dec))                     (debt, rounded up)
# both below 2^91; an asset without a price has c = 0, d = 1 and a debt total of 0. The round's
# proof shows, for every user, sum(c * equity) >= sum(d * debt).

STATEMENT_VERSION = 1
STATEMENT_VERSIONS = (1, 2, 3)
FINGERPRINT_DOMAIN = b"stark-por/statement\x00"
MAX_ASSETS = 65536
MIN_RANGE_BITS, MAX_RANGE_BITS = 32, 63
#: per statement version: (range bounds, most assets)
STATEMENT_DOMAIN = {1: ((MIN_RANGE_BITS, MAX_RANGE_BITS), MAX_ASSETS), 2: ((32, AMOUNT_BITS_2), MAX_ASSETS_2),
                    3: ((32, AMOUNT_BITS_2), MAX_ASSETS_2)}
MARGIN_VERSION = 3  # the first statement version with debts, prices and haircuts
COEFFICIENT_BITS = 91  # every coefficient is below 2^91
MAX_DECIMAL_DIGITS = 38  # a price or a haircut: its digits read as one integer below 10^38
MAX_UNIT_EXP = 255
_CANONICAL = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")
MAX_SUMMARY_BYTES = 64 << 20
MAX_TOTAL_DIGITS = 4096  # far above any real total, below Python's int-parsing limit
_DIGITS = re.compile(r"0|[1-9][0-9]*")
_AMOUNT_ANY = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True)
class Summary:
    round_id: str
    range_bits: int
    num_leaves: int
    root: bytes
    assets: Tuple[Tuple[str, int], ...]  # (name, decimals), in the statement's order
    totals: Tuple[int, ...]  # exact totals in smallest units, same order
    #: the summary's own "fingerprint" field, if it has one (checked by :func:`check_summary`)
    stated_fingerprint: Optional[bytes] = None
    #: 1, or 2 for a round of the liabilities circuit (amounts up to 2^112), 3 with margin
    statement_version: int = STATEMENT_VERSION
    #: version 3: the unit of the collateral check (values in 10^-unit_exp USD)
    unit_exp: Optional[int] = None
    #: version 3: exact debt total per asset, in smallest units, same order as ``assets``
    debt_totals: Tuple[int, ...] = ()
    #: version 3: per asset ``(price, haircut)`` as canonical decimal text, or None (no price)
    prices: Tuple[Optional[Tuple[str, str]], ...] = ()

    def fingerprint(self) -> bytes:
        h = hashlib.sha256(FINGERPRINT_DOMAIN)
        h.update(self.statement_version.to_bytes(2, "little"))
        round_id = self.round_id.encode()
        h.update(len(round_id).to_bytes(2, "little") + round_id)
        h.update(self.range_bits.to_bytes(1, "little") + self.num_leaves.to_bytes(8, "little") + self.root)
        h.update(len(self.assets).to_bytes(4, "little"))
        for (name, decimals), total in zip(self.assets, self.totals):
            t = _minimal_le(total)
            h.update(bytes([len(name)]) + name.encode() + bytes([decimals]) + len(t).to_bytes(2, "little") + t)
        if self.statement_version >= MARGIN_VERSION:
            h.update(bytes([self.unit_exp]))
            for debt, price in zip(self.debt_totals, self.prices):
                d = _minimal_le(debt)
                h.update(len(d).to_bytes(2, "little") + d)
                if price is None:
                    h.update(b"\x00")
                else:
                    h.update(b"\x01" + b"".join(bytes([len(x)]) + x.encode() for x in price))
        return h.digest()

    @classmethod
    def load(cls, path) -> "Summary":
        with open(path, "rb") as f:
            return cls.from_json(f.read(MAX_SUMMARY_BYTES + 1))

    @classmethod
    def from_json(cls, text) -> "Summary":
        """Decodes every field's type and encoding; :func:`check_summary` checks the rest."""
        if isinstance(text, (bytes, bytearray)):
            try:
                text = bytes(text).decode("utf-8")
            except UnicodeDecodeError:
                raise _malformed("summary: not UTF-8 text") from None
        if len(text) > MAX_SUMMARY_BYTES:
            raise _malformed(f"summary: longer than {MAX_SUMMARY_BYTES} characters")
        try:
            doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
        except (ValueError, RecursionError) as e:
            raise _malformed(f"summary: not JSON ({e})") from None
        if not isinstance(doc, dict):
            raise _malformed("summary: not a JSON object")
        version = doc.get("statement_version", STATEMENT_VERSION)  # absent before it was written
        if not _is_int(version):
            raise _malformed("summary: statement_version must be an integer")
        if version not in STATEMENT_VERSIONS:
            raise Rejected("unknown-version", f"statement version {version} (this verifier reads versions 1, 2 and 3)")
        missing = sorted({"round_id", "range_bits", "num_leaves", "root", "assets"} - set(doc))
        if missing:
            raise _malformed(f"summary: fields missing {missing}")
        if not isinstance(doc["round_id"], str):
            raise _malformed("summary: round_id must be a string")
        for key in ("range_bits", "num_leaves"):
            if not _is_int(doc[key]) or doc[key] < 0:
                raise _malformed(f"summary: {key} must be a non-negative integer")
        if not isinstance(doc["assets"], list):
            raise _malformed("summary: assets must be a list")
        margin = version >= MARGIN_VERSION
        if margin and not _is_int(doc.get("value_unit_exp")):
            raise _malformed("summary: value_unit_exp must be an integer (statement version 3)")
        assets, totals, debts, prices = [], [], [], []
        for k, a in enumerate(doc["assets"]):
            if not isinstance(a, dict) or not {"asset", "decimals", "total_units"} <= set(a):
                raise _malformed(f"summary: asset {k} must have the fields asset, decimals, total_units")
            name, decimals, units = a["asset"], a["decimals"], a["total_units"]
            if not isinstance(name, str) or not _is_int(decimals) or not 0 <= decimals < 256:
                raise _malformed(f"summary: asset {k} needs a name and decimals (an integer)")
            if not isinstance(units, str) or len(units) > MAX_TOTAL_DIGITS or not _DIGITS.fullmatch(units):
                raise _malformed(f"summary: asset {k} ({name}): total_units must be at most "
                                 f"{MAX_TOTAL_DIGITS} decimal digits, no leading zero")
            total = int(units)
            if "total" in a and not _same_amount(a["total"], total, decimals):
                raise _malformed(f"summary: asset {k} ({name}): total {a['total']!r} is not total_units {units} "
                                 f"with {decimals} decimals")
            assets.append((name, decimals))
            totals.append(total)
            if margin:
                debts.append(_debt_total(a, k, total))
                prices.append(_price_term(a, k))
        stated = doc.get("fingerprint")
        if stated is not None and not (isinstance(stated, str) and re.fullmatch(r"[0-9a-f]{64}", stated)):
            raise _malformed("summary: fingerprint must be 64 lowercase hex digits")
        return cls(
            round_id=doc["round_id"],
            range_bits=doc["range_bits"],
            num_leaves=doc["num_leaves"],
            root=parse_root(doc["root"], "summary: root"),
            assets=tuple(assets),
            totals=tuple(totals),
            stated_fingerprint=None if stated is None else bytes.fromhex(stated),
            statement_version=version,
            unit_exp=doc["value_unit_exp"] if margin else None,
            debt_totals=tuple(debts),
            prices=tuple(prices),
        )



def _debt_total(a: dict, k: int, total: int) -> int:
    name, decimals, units = a["asset"], a["decimals"], a.get("debt_units")
    if not isinstance(units, str) or len(units) > MAX_TOTAL_DIGITS or not _DIGITS.fullmatch(units):
        raise _malformed(f"summary: asset {k} ({name}): debt_units must be at most {MAX_TOTAL_DIGITS} decimal digits, "
                         "no leading zero (statement version 3)")
    debt = int(units)
    if "debt" in a and not _same_amount(a["debt"], debt, decimals):
        raise _malformed(f"summary: asset {k} ({name}): debt {a['debt']!r} is not debt_units {units} with {decimals} decimals")
    net = a.get("net_units")
    if "net_units" in a and not (isinstance(net, str) and re.fullmatch(r"-?(0|[1-9][0-9]*)", net) and int(net) == total - debt):
        raise _malformed(f"summary: asset {k} ({name}): net_units {net!r} is not total_units - debt_units")
    return debt


def _price_term(a: dict, k: int) -> Optional[Tuple[str, str]]:
    """An asset's (price, haircut), or None when it has no price; the text is kept as it is (its
    canonical form is checked by :func:`check_summary`)."""
    price, haircut = a.get("price"), a.get("haircut")
    if price is None and haircut is None:
        return None
    if not isinstance(price, str) or not isinstance(haircut, str) or not (price + haircut).isascii():
        raise _malformed(f"summary: asset {k} ({a['asset']}): price and haircut must both be decimal strings, "
                         "or both null (no price)")
    return price, haircut


def _minimal_le(n: int) -> bytes:
    return n.to_bytes((n.bit_length() + 7) // 8, "little")


def _decimal_value(text: str) -> Tuple[int, int]:
    """A canonical decimal as (digits, decimals): "97000.5" -> (970005, 1)."""
    whole, _, frac = text.partition(".")
    return int(whole + frac), len(frac)


def fold_price(price: str, haircut: str, decimals: int, unit_exp: int) -> Tuple[int, int]:
    """The coefficients (c, d) of one smallest unit of an asset with ``decimals`` decimals at
    ``price`` USD per whole token and ``haircut``, in units of 10^-unit_exp USD, exactly:
    c = floor(price * (1 - haircut) * 10^(unit_exp - decimals)), d = ceil(price * 10^(unit_exp - decimals))."""
    p, p_dec = _decimal_value(price)
    h, h_dec = _decimal_value(haircut)
    scale_num, scale_den = (10 ** (unit_exp - decimals), 1) if unit_exp >= decimals else (1, 10 ** (decimals - unit_exp))
    debt = -(-p * scale_num // (10**p_dec * scale_den))
    collateral = p * (10**h_dec - h) * scale_num // (10 ** (p_dec + h_dec) * scale_den)
    return collateral, debt


def coefficients(s: "Summary") -> List[Tuple[int, int]]:
    """Per asset, the (collateral, debt) coefficients of a version-3 summary; an asset without
    a price gets (0, 1). Raises :class:`Rejected` (``malformed``) for a price or haircut that is
    not a canonical decimal in its range, or a debt coefficient of 2^91 or more."""
    out = []
    for (name, decimals), term in zip(s.assets, s.prices):
        if term is None:
            out.append((0, 1))
            continue
        price, haircut = term
        for what, text in (("price", price), ("haircut", haircut)):
            if not _CANONICAL.fullmatch(text) or len(text.replace('.', '')) > MAX_DECIMAL_DIGITS:
                raise _malformed(f"summary: {name}: {what} {text!r} is not a canonical decimal (digits, an optional "
                                 f"fraction without trailing zeros, no sign or exponent, at most {MAX_DECIMAL_DIGITS} digits)")
        p, p_dec = _decimal_value(price)
        h, h_dec = _decimal_value(haircut)
        if p == 0:
            raise _malformed(f"summary: {name}: price {price} is not positive")
        if h > 10**h_dec:
            raise _malformed(f"summary: {name}: haircut {haircut} is above 1")
        c, d = fold_price(price, haircut, decimals, s.unit_exp)
        if d >> COEFFICIENT_BITS:
            raise _malformed(f"summary: {name}: at price {price}, one smallest unit is worth {d} units of "
                             f"10^-{s.unit_exp} USD, not below 2^{COEFFICIENT_BITS}")
        out.append((c, d))
    return out


def _same_amount(text, units: int, decimals: int) -> bool:
    match = _AMOUNT_ANY.fullmatch(text) if isinstance(text, str) else None
    return match is not None and Decimal(text) == Decimal(f"{units}E-{decimals}")



def check_summary(s: Summary) -> bytes:
    """Every field of a decoded summary in its domain, and its own ``fingerprint`` field (if
    any) the one its fields give. Returns the fingerprint."""
    if s.statement_version not in STATEMENT_DOMAIN:
        raise Rejected("unknown-version", f"statement version {s.statement_version} (this verifier reads versions 1, 2 and 3)")
    (min_bits, max_bits), max_assets = STATEMENT_DOMAIN[s.statement_version]
    if not 1 <= len(s.round_id.encode()) <= 256 or any(_is_control(c) for c in s.round_id):
        raise _malformed("summary: round id must be 1 to 256 bytes without control characters")
    if not min_bits <= s.range_bits <= max_bits:
        raise _malformed(f"summary: range bound of {s.range_bits} bits is not in {min_bits}..{max_bits}")
    n = s.num_leaves
    if n < 2 or n & (n - 1) or n > 1 << MAX_DEPTH:
        raise _malformed(f"summary: the tree size {n} is not a power of two from 2 to 2^{MAX_DEPTH}")
    if digest_from_bytes(s.root) is None:
        raise _malformed("summary: the root is not a canonical digest")
    if not 1 <= len(s.assets) <= max_assets or len(s.totals) != len(s.assets):
        raise _malformed(f"summary: a statement of version {s.statement_version} lists 1 to {max_assets} assets "
                         "with one total each")
    names = set()
    for (name, decimals), total in zip(s.assets, s.totals):
        if not _ASSET_NAME.fullmatch(name) or not 0 <= decimals <= MAX_DECIMALS:
            raise _malformed(f"summary: asset {name!r} must have a name of 1 to 32 printable ASCII characters "
                             f"(no space or comma) and 0 to {MAX_DECIMALS} decimals")
        if name in names:
            raise _malformed(f"summary: asset {name} is listed twice")
        if not 0 <= total < 10**MAX_TOTAL_DIGITS:
            raise _malformed(f"summary: the total of {name} is out of range")
        names.add(name)
    if s.statement_version >= MARGIN_VERSION:
        _check_margin(s)
    fingerprint = s.fingerprint()
    if s.stated_fingerprint is not None and s.stated_fingerprint != fingerprint:
        raise _malformed(f"summary: its fingerprint field says {s.stated_fingerprint.hex()}, its fields give "
                         f"{fingerprint.hex()} (a field was changed)")
    return fingerprint


def _check_margin(s: Summary) -> None:
    if not (_is_int(s.unit_exp) and 0 <= s.unit_exp <= MAX_UNIT_EXP):
        raise _malformed(f"summary: value_unit_exp {s.unit_exp!r} is not in 0..{MAX_UNIT_EXP}")
    if len(s.debt_totals) != len(s.assets) or len(s.prices) != len(s.assets):
        raise _malformed("summary: a statement of version 3 has a debt total and a price (or none) per asset")
    for (name, _), debt, term in zip(s.assets, s.debt_totals, s.prices):
        if not 0 <= debt < 10**MAX_TOTAL_DIGITS:
            raise _malformed(f"summary: the debt total of {name} is out of range")
        if term is None and debt:
            raise _malformed(f"summary: {name} has no price but a debt total of {debt}: no one may owe an asset without a price")
    coefficients(s)


# --------------------------------------------------------------------------------------------
# 5. The check
# --------------------------------------------------------------------------------------------


def value_text(value: int, unit_exp: int) -> str:
    """``value`` units of 10^-unit_exp USD as exact decimal text: 485005 * 10^22 at 27 -> "48500.5"."""
    digits = str(value).rjust(unit_exp + 1, "0")
    whole, frac = digits[: len(digits) - unit_exp], digits[len(digits) - unit_exp :].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


@dataclass(frozen=True)
class Position:
    """What a version-3 inclusion proof shows its user: equity and debt per asset (exact, in
    display units) and the collateral check the round's proof enforced for them, recomputed
    from the summary's prices and haircuts: ``collateral_value = sum(c * equity)``,
    ``debt_value = sum(d * debt)``, both exact integers in units of 10^-unit_exp USD."""

    equity: Dict[str, Decimal]
    debt: Dict[str, Decimal]
    collateral_value: int
    debt_value: int
    unit_exp: int

    @property
    def covered(self) -> bool:
        """The collateral after haircuts is worth at least the debt (always, for no debt)."""
        return self.collateral_value >= self.debt_value

    @property
    def collateral_usd(self) -> str:
        """The collateral value in USD, exact decimal text."""
        return value_text(self.collateral_value, self.unit_exp)

    @property
    def debt_usd(self) -> str:
        """The debt value in USD, exact decimal text."""
        return value_text(self.debt_value, self.unit_exp)


def position(proof: InclusionProof, summary: Summary) -> Position:
    """The collateral check of a version-3 proof's entries under a checked version-3 summary."""
    coef = coefficients(summary)
    collateral = sum(coef[e.index - 1][0] * e.units for e in proof.entries if e.kind == EQUITY)
    debt = sum(coef[e.index - 1][1] * e.units for e in proof.entries if e.kind == DEBT)
    return Position(proof.equity, proof.debt, collateral, debt, summary.unit_exp)


def check(
    proof: InclusionProof,
    summary: Summary,
    *,
    user_id: str,
    expect: Optional[Dict[str, Decimal]] = None,
    fingerprint: Optional[bytes] = None,
) -> Union[Dict[str, Decimal], Position]:
    """Checks that ``proof`` shows ``user_id`` inside the round ``summary`` describes.

    ``fingerprint`` (32 bytes), when given, is the one the exchange published: the summary
    must have it. ``expect`` maps asset names to the balances the user expects (display
    units; an asset the proof does not hold counts as 0; in version 3 ``"<asset>.debt"`` names
    a debt). Returns the user's balances (versions 1 and 2), or their :class:`Position`
    (version 3: a proof whose debt is not covered is refused, ``uncovered``); raises
    :class:`Rejected`."""
    if not isinstance(summary, Summary):
        raise TypeError(f"check() takes the round's Summary, not {type(summary).__name__}: {BARE_ROOT}")
    # the same order of checks as the Rust core
    if proof.version not in VERSIONS:
        raise Rejected("unknown-version", f"format version {proof.version}")
    _check_fields(proof)
    actual = check_summary(summary)
    if proof.user_id != user_id:
        raise Rejected("wrong-user", f"the inclusion proof is for user {proof.user_id!r}, not {user_id!r}")
    if fingerprint is not None and fingerprint != actual:
        raise Rejected("wrong-statement", f"the statement's fingerprint is {actual.hex()}, not the {fingerprint.hex()} you were given")
    if proof.version != summary.statement_version:
        raise Rejected("version-mismatch", f"the inclusion proof is of version {proof.version} (for rounds of statement "
                                           f"version {proof.version}), the round's statement is of version "
                                           f"{summary.statement_version}")
    if proof.round_id != summary.round_id:
        raise Rejected("wrong-round", f"the inclusion proof is for round {proof.round_id!r}, not {summary.round_id!r}")
    n = summary.num_leaves
    if proof.num_leaves != n:
        raise Rejected("path-mismatch", f"the proof places the leaf in a tree of {proof.num_leaves} leaves, the round's tree has {n}")
    depth = n.bit_length() - 1
    if len(proof.path) != depth:
        raise Rejected("path-mismatch", f"a tree of {n} leaves needs {depth} siblings, the path has {len(proof.path)}")
    for e in proof.entries:
        if e.index > len(summary.assets):
            raise Rejected("asset-mismatch", f"the statement lists {len(summary.assets)} assets, the proof names asset {e.index}")
        name, decimals = summary.assets[e.index - 1]
        if (name, decimals) != (e.asset, e.decimals):
            raise Rejected("asset-mismatch", f"asset {e.index} of the statement is {name} with {decimals} decimals, the proof calls it {e.asset} with {e.decimals}")

    entries = [(e.index, e.units, e.kind) if proof.version >= MARGIN_VERSION else (e.index, e.units) for e in proof.entries]
    recomputed = leaf(proof.user_id, proof.salt, entries, proof.version)
    if recomputed != proof.leaf:
        raise Rejected("leaf-mismatch", "the user's id, salt and balances do not hash to the leaf the proof names")
    reached = walk(recomputed, proof.leaf_index, proof.path)
    if reached != proof.root:
        raise Rejected("path-mismatch", f"walking the path from leaf {proof.leaf_index} does not reach the root the proof names")
    if reached != summary.root:
        raise Rejected("root-mismatch", f"the proof leads to root {reached.hex()}, not to {summary.root.hex()}")
    result: Union[Dict[str, Decimal], Position] = proof.balances
    if proof.version >= MARGIN_VERSION:
        result = position(proof, summary)
        if not result.covered:
            raise Rejected("uncovered", f"the proof shows debts worth {result.debt_usd} USD against collateral worth "
                                        f"{result.collateral_usd} USD after haircuts: the round's proof cannot hold "
                                        "such a user")
    if expect is not None:
        check_expected(proof.balances, expect)
    return result


def check_expected(proven: Dict[str, Decimal], expect: Dict[str, Decimal]) -> None:
    """Each expected balance equals the proven one (an asset without an entry proves 0)."""
    for asset, amount in expect.items():
        held = proven.get(asset, Decimal(0))
        if held != amount:
            raise Rejected("balance-mismatch", f"{asset}: you expect {amount:f}, the proof shows {held:f}")


def parse_expect(text: str) -> Dict[str, Decimal]:
    """``"BTC=0.5,ETH=2"`` -> exact expected balances in display units."""
    expect: Dict[str, Decimal] = {}
    for item in text.split(","):
        name, sep, amount = (part.strip() for part in item.partition("="))
        if not sep:
            raise ValueError(f"expected balances are ASSET=AMOUNT pairs such as BTC=0.5,ETH=2, not {item.strip()!r}")
        if name in expect:
            raise ValueError(f"{name} is expected twice")
        expect[name] = parse_expected_amount(name, amount)
    return expect


def parse_expected_amount(asset: str, amount: str) -> Decimal:
    """One expected balance: an asset name and an exact non-negative decimal such as 0.5."""
    if not isinstance(asset, str) or not _ASSET_NAME.fullmatch(asset):
        raise ValueError(f"{asset!r} is not an asset name (1 to 32 printable ASCII characters, no space or comma)")
    if not _AMOUNT_ANY.fullmatch(amount) or len(amount) > MAX_TOTAL_DIGITS:
        raise ValueError(f"expected {asset}: {amount!r} is not a decimal amount such as 0.5")
    return Decimal(amount)


def _check_fields(p: InclusionProof) -> None:
    """Every field in its domain (what JSON decoding alone cannot see)."""
    if not 1 <= len(p.round_id.encode()) <= 256 or any(_is_control(c) for c in p.round_id):
        raise _malformed("round id must be 1 to 256 bytes without control characters")
    if not 1 <= len(p.user_id.encode()) <= 256:
        raise _malformed("user id must be 1 to 256 bytes")
    bound, max_index = DOMAIN[p.version]
    for i, e in enumerate(p.entries):
        if not 1 <= e.index <= max_index:
            raise _malformed(f"entry {i}: asset index {e.index} is not in [1, {max_index}] (format version {p.version})")
        if e.kind not in (EQUITY, DEBT) or e.kind == DEBT and p.version < MARGIN_VERSION:
            raise _malformed(f"entry {i}: a debt in a proof of format version {p.version} (debts are of version 3)")
        if i > 0 and (p.entries[i - 1].index, p.entries[i - 1].kind) >= (e.index, e.kind):
            order = "asset index" if p.version < MARGIN_VERSION else "asset index, equity before debt,"
            raise _malformed(f"entry {i}: entries must be sorted by {order} without repeats")
        if not 1 <= e.units < bound:
            raise _malformed(f"entry {i}: amount is not in [1, 2^{bound.bit_length() - 1}) smallest units "
                             f"(format version {p.version})")
    n = p.num_leaves
    if n < 2 or n & (n - 1) or n > 1 << MAX_DEPTH:
        raise _malformed(f"the tree size {n} is not a power of two from 2 to 2^{MAX_DEPTH}")
    if not 0 <= p.leaf_index < n:
        raise _malformed(f"leaf index {p.leaf_index} is outside a tree of {n} leaves")
    for what, d in [("the leaf", p.leaf), ("the root", p.root)] + [(f"path element {k}", s) for k, s in enumerate(p.path)]:
        if digest_from_bytes(d) is None:
            raise _malformed(f"{what} is not a canonical digest")


def _is_control(c: str) -> bool:
    # Rust's char::is_control: the Unicode Cc category
    return ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0


def position_lines(proof: InclusionProof, position: Position) -> List[str]:
    """A version-3 user's equity and debt per asset and their collateral check, for people."""
    rows: Dict[str, List[str]] = {}
    for e in proof.entries:
        rows.setdefault(e.asset, ["0", "0"])[e.kind] = e.amount_text
    width = max([len(a) for a in rows] + [5])
    w_eq = max([len(eq) for eq, _ in rows.values()] + [6])
    w_debt = max([len(debt) for _, debt in rows.values()] + [4])
    lines = [f"  {'asset':<{width}}  {'equity':>{w_eq}}  {'debt':>{w_debt}}"]
    lines += [f"  {a:<{width}}  {eq:>{w_eq}}  {debt:>{w_debt}}" for a, (eq, debt) in rows.items()]
    if not rows:
        lines.append("  (no balances)")
    if position.debt:
        verdict = "covered" if position.covered else "NOT COVERED"
        lines.append(f"  collateral after haircuts {position.collateral_usd} USD >= debt {position.debt_usd} USD: {verdict} "
                     "(the round's proof enforces this for every user with debt)")
    else:
        lines.append(f"  no debt; collateral value after haircuts {position.collateral_usd} USD")
    return lines


def parse_fingerprint(value, what: str = "fingerprint") -> bytes:
    """A statement fingerprint given as 64 hex digits."""
    if isinstance(value, str) and re.fullmatch(r"[0-9a-fA-F]{64}", value.strip()):
        return bytes.fromhex(value.strip())
    raise ValueError(f"{what} must be 64 hex digits")


BARE_ROOT = ("a root alone cannot vouch for the asset names and decimals an inclusion proof shows "
             "(a leaf commits to asset indices only); check against the round's published summary "
             "(ROUND.stpor.json) and compare its fingerprint with the one the exchange published")


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="pyverify",
        description="Check a stark-por inclusion proof against the round's published summary (pure Python).",
        epilog="Get from the exchange: your inclusion proof, the round's summary (ROUND.stpor.json) and the "
               "statement fingerprint it published (auditors attest the same value). Exit 0 only when included.",
    )
    parser.add_argument("proof", help="your inclusion proof (JSON)")
    parser.add_argument("--summary", help="the round's published summary, ROUND.stpor.json")
    parser.add_argument("--user", required=True,
                        help="your own user id: without it an exchange could hand two users with the same "
                             "balances one shared leaf and count them once")
    parser.add_argument("--fingerprint", help="the statement fingerprint the exchange published (64 hex digits)")
    parser.add_argument("--expect", help="the balances you expect, e.g. BTC=0.5,ETH=2 (others are not checked; "
                                         "BTC.debt=0.1 for a debt)")
    parser.add_argument("--root", help=argparse.SUPPRESS)  # refused with a reason, see BARE_ROOT
    args = parser.parse_args(argv)
    try:
        if args.summary is None:
            raise ValueError(f"--summary is required{': ' + BARE_ROOT if args.root else ''}")
        if args.root is not None:
            raise ValueError(f"--root is not accepted: {BARE_ROOT}")
        fingerprint = None if args.fingerprint is None else parse_fingerprint(args.fingerprint, "--fingerprint")
        expect = None if args.expect is None else parse_expect(args.expect)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        with open(args.proof, "rb") as f:
            data = f.read(MAX_PROOF_BYTES + 1)
        summary = Summary.load(args.summary)
    except OSError as e:
        print(f"error: cannot read {e.filename}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        proof = InclusionProof.from_json(data)
        result = check(proof, summary, user_id=args.user, expect=expect, fingerprint=fingerprint)
    except Rejected as e:
        print(f"NOT INCLUDED ({e.reason}): {e.message}")
        return 1
    print(f"INCLUDED: user {proof.user_id!r} is in round {proof.round_id!r} of {summary.num_leaves:,} leaves, "
          f"root {summary.root.hex()}")
    if isinstance(result, Position):
        print("\n".join(position_lines(proof, result)))
    else:
        for e in proof.entries:
            print(f"  {e.asset:<12} {e.amount_text}")
        if not proof.entries:
            print("  (no balances)")
    if expect is not None:
        print(f"your expected balances match ({', '.join(sorted(expect))})")
    print(f"statement fingerprint {summary.fingerprint().hex()}")
    if fingerprint is None:
        print("  compare it with the fingerprint the exchange published: the check above holds for that "
              "statement only if they are equal (or pass --fingerprint)")
    else:
        print("  equal to the fingerprint you gave")
    return 0


if __name__ == "__main__":
    sys.exit(main())
