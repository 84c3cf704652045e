"""Test helper: decodes and re-encodes proof files, to forge public inputs.

An independent reading of the envelope documented in ``rust/core/src/envelope.rs``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import List, Tuple

MAGIC = b"STARKPOR"


@dataclass
class Decoded:
    version: int
    kind: int
    round_id: str
    range_bits: int
    num_leaves: int
    root: bytes
    assets: List[Tuple[str, int]] = field(default_factory=list)
    totals: List[Tuple[int, int, int]] = field(default_factory=list)  # three 24-bit part sums
    proof: bytes = b""

    def encode(self) -> bytes:
        st = bytearray()
        rid = self.round_id.encode()
        st += struct.pack("<H", len(rid)) + rid
        st += struct.pack("<BQ", self.range_bits, self.num_leaves) + self.root
        st += struct.pack("<I", len(self.assets))
        for (name, decimals), parts in zip(self.assets, self.totals):
            st += struct.pack("<B", len(name)) + name.encode() + struct.pack("<BQQQ", decimals, *parts)
        out = MAGIC + struct.pack("<HB", self.version, self.kind)
        out += struct.pack("<I", len(st)) + bytes(st)
        out += struct.pack("<I", len(self.proof)) + self.proof
        return out


def decode(data: bytes) -> Decoded:
    assert data[:8] == MAGIC
    version, kind = struct.unpack_from("<HB", data, 8)
    (st_len,) = struct.unpack_from("<I", data, 11)
    st = data[15 : 15 + st_len]
    pos = 0
    (rid_len,) = struct.unpack_from("<H", st, pos)
    pos += 2
    round_id = st[pos : pos + rid_len].decode()
    pos += rid_len
    range_bits, num_leaves = struct.unpack_from("<BQ", st, pos)
    pos += 9
    root = st[pos : pos + 32]
    pos += 32
    (k,) = struct.unpack_from("<I", st, pos)
    pos += 4
    d = Decoded(version, kind, round_id, range_bits, num_leaves, root)
    for _ in range(k):
        n = st[pos]
        name = st[pos + 1 : pos + 1 + n].decode()
        pos += 1 + n
        decimals, *parts = struct.unpack_from("<BQQQ", st, pos)
        pos += 25
        d.assets.append((name, decimals))
        d.totals.append(tuple(parts))
    assert pos == len(st)
    rest = data[15 + st_len :]
    (proof_len,) = struct.unpack_from("<I", rest, 0)
    d.proof = rest[4 : 4 + proof_len]
    assert len(rest) == 4 + proof_len
    return d
