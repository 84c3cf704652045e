"""An independent inclusion-proof verifier for stark-por, in pure Python.

Standard library only, no native code, no package imports: copy this one file anywhere and run

    python pyverify.py me.json --root <published root hex> [--round <round id>]

(or ``python -m stark_por.verifiers.pyverify ...``). It is a second implementation of what the Rust core
checks (``rust/core/src/inclusion.rs``), meant to be read in one sitting:

1. the field GF(p), p = 2^64 - 2^32 + 1, and the Rescue-Prime permutation ``Rp64_256`` of
   winterfell 0.13.1, its constants transcribed from ``winter-crypto``;
2. stark-por's hashes (``circuits/solvency/README.md``, "Hashing"): a byte-string hash for the
   id commitment, the leaf of a user and the node over two children;
3. the inclusion proof format, JSON version 1 (:class:`InclusionProof`);
4. the check (:func:`check`): recompute the leaf from the user's own id, salt and balances,
   walk the sibling path and compare with the expected root.

Every refusal raises :class:`Rejected` with a stable ``reason`` code: ``malformed``,
``unknown-version``, ``wrong-round``, ``asset-mismatch``, ``leaf-mismatch``,
``path-mismatch`` or ``root-mismatch``.
"""

from __future__ import annotations

import base64
import binascii
import json
import operator
import re
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, List, Optional, Sequence, Tuple

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


def leaf_of(idc: bytes, entries: Sequence[Tuple[int, int]]) -> bytes:
    """The leaf over an id commitment and (asset index, amount) entries sorted by asset. The first
    permutation absorbs the id commitment and two entries, each later one four entries; unused
    slots are (0, 0)."""
    slots = [x for entry in entries for x in entry]
    blocks = 1 if len(entries) <= 2 else 1 + -(-(len(entries) - 2) // 4)
    slots += [0] * (4 + (blocks - 1) * 8 - len(slots))
    if not all(0 <= x < P for x in slots):
        raise ValueError("asset indices and amounts must be field elements")
    state = permute([LEAF_TAG, 0, 0, 0] + _elements(idc) + slots[:4])
    for i in range(4, len(slots), 8):
        state = permute(state[:4] + slots[i : i + 8])
    return digest_to_bytes(state[4:8])


def leaf(user_id: str, salt: bytes, entries: Sequence[Tuple[int, int]]) -> bytes:
    return leaf_of(id_commitment(salt, user_id), entries)


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
# 3. The inclusion proof, JSON version 1
# --------------------------------------------------------------------------------------------
#   {"format": "stark-por/inclusion", "version": 1, "round_id": str, "user_id": str,
#    "salt": base64 (32 bytes),
#    "entries": [{"asset": name, "index": 1-based asset index, "decimals": int,
#                 "amount": exact decimal string}, ...]   (sorted by index, no zero amounts),
#    "leaf_index": int, "num_leaves": int (a power of two),
#    "leaf": base64 digest, "root": hex digest, "path": [base64 digest, ...] (leaf level first)}
# The "leaf" and "root" a proof names only say where a broken proof breaks; acceptance rests on
# the walk from the user's own data to the root the user was given.

FORMAT = "stark-por/inclusion"
VERSION = 1
MAX_PROOF_BYTES = 1 << 20
MAX_DEPTH = 40
MAX_DECIMALS = 30
AMOUNT_BOUND = 1 << 63
_KEYS = {"format", "version", "round_id", "user_id", "salt", "entries", "leaf_index", "num_leaves", "leaf", "root", "path"}
_ENTRY_KEYS = {"asset", "index", "decimals", "amount"}
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
        return {e.asset: e.amount for e in self.entries}

    def to_json(self, indent: Optional[int] = None) -> str:
        b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
        doc = {
            "format": FORMAT,
            "version": self.version,
            "round_id": self.round_id,
            "user_id": self.user_id,
            "salt": b64(self.salt),
            "entries": [
                {"asset": e.asset, "index": e.index, "decimals": e.decimals, "amount": e.amount_text}
                for e in self.entries
            ],
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
        if version != VERSION:
            raise Rejected("unknown-version", f"format version {version} (this verifier reads version {VERSION})")
        if set(doc) != _KEYS:
            missing, extra = sorted(_KEYS - set(doc)), sorted(set(doc) - _KEYS)
            raise _malformed(f"fields missing {missing} / unexpected {extra}")
        for key in ("round_id", "user_id"):
            if not isinstance(doc[key], str):
                raise _malformed(f"{key} must be a string")
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
            entries=tuple(_entry(e, i) for i, e in enumerate(doc["entries"])),
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


def _entry(e, i: int) -> Entry:
    if not isinstance(e, dict) or set(e) != _ENTRY_KEYS:
        raise _malformed(f"entry {i} must have exactly the fields {sorted(_ENTRY_KEYS)}")
    asset, index, decimals, amount = e["asset"], e["index"], e["decimals"], e["amount"]
    if not isinstance(asset, str) or not _ASSET_NAME.fullmatch(asset):
        raise _malformed(f"entry {i}: asset name must be 1 to 32 printable ASCII characters")
    if not _is_int(index) or not _is_int(decimals) or not 0 <= decimals <= MAX_DECIMALS:
        raise _malformed(f"entry {i}: index and decimals (0 to {MAX_DECIMALS}) must be integers")
    match = _AMOUNT.fullmatch(amount) if isinstance(amount, str) else None
    if match is None or len(match.group(2) or "") > decimals:
        raise _malformed(f"entry {i}: amount must be a decimal string with at most {decimals} decimals")
    whole, frac = match.group(1), match.group(2) or ""
    return Entry(asset, index, decimals, int(whole) * 10**decimals + int(frac.ljust(decimals, "0") or "0"))


# --------------------------------------------------------------------------------------------
# 4. The check
# --------------------------------------------------------------------------------------------


def check(
    proof: InclusionProof,
    root: bytes,
    *,
    round_id: Optional[str] = None,
    num_leaves: Optional[int] = None,
    assets: Optional[Sequence[Tuple[str, int]]] = None,
) -> Dict[str, Decimal]:
    """Checks ``proof`` against the expected ``root`` (32 bytes) and, when the round's verified
    statement is at hand, its round id, tree size and ``assets`` ((name, decimals) in order).
    Returns the user's balances; raises :class:`Rejected`."""
    # the same order of checks as the Rust core
    if proof.version != VERSION:
        raise Rejected("unknown-version", f"format version {proof.version}")
    _check_fields(proof)
    depth = proof.num_leaves.bit_length() - 1
    if len(proof.path) != depth:
        raise Rejected("path-mismatch", f"a tree of {proof.num_leaves} leaves needs {depth} siblings, the path has {len(proof.path)}")
    if round_id is not None and proof.round_id != round_id:
        raise Rejected("wrong-round", f"the inclusion proof is for round {proof.round_id!r}, not {round_id!r}")
    if num_leaves is not None and proof.num_leaves != num_leaves:
        raise Rejected("path-mismatch", f"the proof places the leaf in a tree of {proof.num_leaves} leaves, the round's tree has {num_leaves}")
    if assets is not None:
        for e in proof.entries:
            if e.index > len(assets):
                raise Rejected("asset-mismatch", f"the statement lists {len(assets)} assets, the proof names asset {e.index}")
            name, decimals = assets[e.index - 1]
            if (name, decimals) != (e.asset, e.decimals):
                raise Rejected("asset-mismatch", f"asset {e.index} of the statement is {name} with {decimals} decimals, the proof calls it {e.asset} with {e.decimals}")

    recomputed = leaf(proof.user_id, proof.salt, [(e.index, e.units) for e in proof.entries])
    if recomputed != proof.leaf:
        raise Rejected("leaf-mismatch", "the user's id, salt and balances do not hash to the leaf the proof names")
    reached = walk(recomputed, proof.leaf_index, proof.path)
    if reached != proof.root:
        raise Rejected("path-mismatch", f"walking the path from leaf {proof.leaf_index} does not reach the root the proof names")
    if reached != root:
        raise Rejected("root-mismatch", f"the proof leads to root {reached.hex()}, not to {root.hex()}")
    return proof.balances


def _check_fields(p: InclusionProof) -> None:
    """Every field in its domain (what JSON decoding alone cannot see)."""
    if not 1 <= len(p.round_id.encode()) <= 256 or any(_is_control(c) for c in p.round_id):
        raise _malformed("round id must be 1 to 256 bytes without control characters")
    if not 1 <= len(p.user_id.encode()) <= 256:
        raise _malformed("user id must be 1 to 256 bytes")
    for i, e in enumerate(p.entries):
        if not 1 <= e.index < 2**32:
            raise _malformed(f"entry {i}: asset index {e.index} is not in [1, 2^32)")
        if i > 0 and p.entries[i - 1].index >= e.index:
            raise _malformed(f"entry {i}: entries must be sorted by asset index, without repeats")
        if not 1 <= e.units < AMOUNT_BOUND:
            raise _malformed(f"entry {i}: amount is not in [1, 2^63) smallest units")
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


def verify(text, root_hex: str, *, round_id: Optional[str] = None) -> Dict[str, Decimal]:
    """Decodes an inclusion proof (JSON text) and checks it against a root given in hex."""
    return check(InclusionProof.from_json(text), parse_root(root_hex, "the expected root"), round_id=round_id)


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="pyverify", description="Check a stark-por inclusion proof against a published root (pure Python)."
    )
    parser.add_argument("proof", help="the inclusion proof (JSON)")
    parser.add_argument("--root", required=True, help="the round's published root, 64 hex digits")
    parser.add_argument("--round", dest="round_id", help="the round id you expect")
    args = parser.parse_args(argv)
    try:
        with open(args.proof, "rb") as f:
            data = f.read(MAX_PROOF_BYTES + 1)
    except OSError as e:
        print(f"error: cannot read {args.proof}: {e.strerror}", file=sys.stderr)
        return 2
    try:
        proof = InclusionProof.from_json(data)
        check(proof, parse_root(args.root, "--root"), round_id=args.round_id)
    except Rejected as e:
        print(f"NOT INCLUDED ({e.reason}): {e.message}")
        return 1
    print(f"INCLUDED: user {proof.user_id!r} is in round {proof.round_id!r} under root {args.root.lower()}")
    for e in proof.entries:
        print(f"  {e.asset:<12} {e.amount_text}")
    if not proof.entries:
        print("  (no balances)")
    print("(asset names are the exchange's labels: check them against the round's statement)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
