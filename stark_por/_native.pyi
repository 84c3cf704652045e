"""Type stub of the Rust extension. Use the wrappers in :mod:`stark_por` instead."""

import os
from typing import Any, Sequence, final

import numpy as np
import numpy.typing as npt

__all__ = [
    "__version__",
    "prove",
    "prove_v2",
    "verify",
    "read_statement",
    "trace_dump",
    "trace_dump_v2",
    "prove_trace_v2",
    "verify_inclusion",
    "statement_fingerprint",
    "inclusion_leaf",
    "id_commitment",
    "walk_path",
    "SPILL_BUCKETS",
    "Spill",
    "spill_layout",
    "prove_batch",
    "batch_answers",
    "batch_nodes",
    "prove_forest",
    "forest_answers",
    "forest_nodes",
    "Placement",
    "trace_dump_v3",
    "prove_trace_v3",
]

__version__: str

# (round_id, range_bits, num_leaves, root, [(asset, decimals, exact total as little-endian bytes)])
# version 3 appends the margin: (unit_exp, [(debt total, None | (price, haircut)) per asset])
_MarginArgs = tuple[int, Sequence[tuple[bytes, tuple[str, str] | None]]]
_SummaryArgs = (
    tuple[str, int, int, bytes, Sequence[tuple[str, int, bytes]]]
    | tuple[str, int, int, bytes, Sequence[tuple[str, int, bytes]], _MarginArgs]
)
# one per asset: None (unpriced) or (price, haircut), canonical decimals ("97000.5", "0.05")
_Prices = Sequence[tuple[str, str] | None]

def prove(
    user_ids: Sequence[str],
    assets: Sequence[tuple[str, int]],
    indptr: npt.NDArray[np.uint64],
    asset_index: npt.NDArray[np.uint32],
    amounts: npt.NDArray[np.uint64],
    range_bits: int,
    secret: bytes,
    round_id: str,
    security_name: str,
    batch_log2: int | None = None,
) -> dict[str, Any]: ...
def prove_v2(
    user_ids: Sequence[str],
    assets: Sequence[tuple[str, int]],
    indptr: npt.NDArray[np.uint64],
    asset_index: npt.NDArray[np.uint32],
    amounts_lo: npt.NDArray[np.uint64],
    amounts_hi: npt.NDArray[np.uint64],
    range_bits: int,
    secret: bytes,
    round_id: str,
    security_name: str,
    trace_log2: int | None = None,
    kinds: npt.NDArray[np.uint8] | None = None,
    prices: _Prices | None = None,
    committed: bool = False,
) -> dict[str, Any]: ...

# Statement dicts (prove*/verify/read_statement) hold "statement_version" (1, 2 or 3) and, from
# version 2, "margin": None, or for version 3 {"unit_exp": int, "prices": [None | (price,
# haircut)], "debt_totals": [int], "coefficients": [(collateral, debt)]}; "totals" are then the
# equity totals; and "format_version" (2 to 5) and "committed" (formats 4 and 5: the forests'
# totals are committed and an aggregation proof sums them).
def verify(data: bytes, min_security: int) -> dict[str, Any]: ...
def read_statement(data: bytes) -> dict[str, Any]: ...
def trace_dump(
    user_ids: Sequence[str],
    assets: Sequence[tuple[str, int]],
    indptr: npt.NDArray[np.uint64],
    asset_index: npt.NDArray[np.uint32],
    amounts: npt.NDArray[np.uint64],
    range_bits: int,
    secret: bytes,
    round_id: str,
    challenges: Sequence[Sequence[int]],
) -> dict[str, Any]: ...
def trace_dump_v2(
    user_ids: Sequence[str],
    assets: Sequence[tuple[str, int]],
    indptr: npt.NDArray[np.uint64],
    asset_index: npt.NDArray[np.uint32],
    amounts_lo: npt.NDArray[np.uint64],
    amounts_hi: npt.NDArray[np.uint64],
    range_bits: int,
    secret: bytes,
    round_id: str,
    challenges: Sequence[Sequence[int]],
    capacity: int | None = None,
    forest: int = 0,
) -> dict[str, Any]: ...
def prove_trace_v2(
    main: npt.NDArray[np.uint64],
    public_elements: Sequence[int],
    security_name: str = "100",
) -> tuple[bool, str]: ...
def verify_inclusion(
    version: int,
    round_id: str,
    user_id: str,
    salt: bytes,
    entries: Sequence[tuple[str, int, int, int, int]],
    leaf_index: int,
    num_leaves: int,
    leaf: bytes,
    root: bytes,
    path: bytes,
    anchor: _SummaryArgs,
    anchor_version: int,
    expected_user: str,
    expected_fingerprint: bytes | None,
) -> tuple[bytes, bytes] | None: ...
def statement_fingerprint(summary: _SummaryArgs, statement_version: int = 1) -> bytes: ...
def inclusion_leaf(
    user_id: str, salt: bytes, entries: Sequence[tuple[int, int]], version: int = 1, kinds: Sequence[int] | None = None
) -> bytes: ...
def id_commitment(salt: bytes, user_id: str) -> bytes: ...
def walk_path(leaf: bytes, leaf_index: int, path: bytes) -> bytes: ...

SPILL_BUCKETS: int

@final
class Spill:
    def __new__(
        cls,
        dir: str | os.PathLike[str],
        secret: bytes,
        round_id: str,
        assets: Sequence[tuple[str, int]],
        range_bits: int,
        statement_version: int = 1,
        prices: _Prices | None = None,
    ) -> Spill: ...
    def append(
        self,
        user_ids: Sequence[str],
        indptr: npt.NDArray[np.uint64],
        asset_index: npt.NDArray[np.uint32],
        amounts: npt.NDArray[np.uint64],
    ) -> None: ...
    def append_wide(
        self,
        user_ids: Sequence[str],
        indptr: npt.NDArray[np.uint64],
        asset_index: npt.NDArray[np.uint32],
        amounts_lo: npt.NDArray[np.uint64],
        amounts_hi: npt.NDArray[np.uint64],
        kinds: npt.NDArray[np.uint8] | None = None,
    ) -> None: ...
    @property
    def num_users(self) -> int: ...
    def finish(self) -> dict[str, Any]: ...

def spill_layout(dir: str | os.PathLike[str]) -> dict[str, Any] | None: ...
def prove_batch(job: bytes, threads: int = 1) -> bytes: ...
def batch_answers(job: bytes, result: bytes) -> bool: ...
def batch_nodes(
    result: bytes, num_assets: int, batch_leaves: int, count: int
) -> tuple[npt.NDArray[np.uint64], bytes]: ...
def prove_forest(job: bytes, threads: int = 1) -> bytes: ...
def forest_answers(job: bytes, result: bytes) -> bool: ...
def forest_nodes(result: bytes) -> tuple[npt.NDArray[np.uint64], bytes]: ...
@final
class Placement:
    def __new__(
        cls,
        dir: str | os.PathLike[str],
        secret: bytes,
        round_id: str,
        assets: Sequence[tuple[str, int]],
        range_bits: int,
        prices: _Prices | None = None,
    ) -> Placement: ...
    def batch_job(self, security_name: str, batch_log2: int, index: int) -> bytes: ...
    def assemble(self, batch_log2: int, results: Sequence[str | os.PathLike[str]]) -> dict[str, Any]: ...
    def forest_plan(self, security_name: str, trace_log2: int, committed: bool = False) -> list[tuple[int, int]]: ...
    def forest_job(self, security_name: str, trace_log2: int, index: int, committed: bool = False) -> bytes: ...
    def assemble_forests(
        self,
        security_name: str,
        trace_log2: int,
        results: Sequence[str | os.PathLike[str]],
        committed: bool = False,
    ) -> dict[str, Any]: ...
    # dict(user_ids, positions, salts, indptr, asset_index, amounts_lo, amounts_hi, kinds)
    def bucket_users(self, bucket: int) -> dict[str, Any]: ...

def trace_dump_v3(
    user_ids: Sequence[str],
    assets: Sequence[tuple[str, int]],
    indptr: npt.NDArray[np.uint64],
    asset_index: npt.NDArray[np.uint32],
    kinds: npt.NDArray[np.uint8],
    amounts_lo: npt.NDArray[np.uint64],
    amounts_hi: npt.NDArray[np.uint64],
    prices: Sequence[tuple[int, int]],
    range_bits: int,
    secret: bytes,
    round_id: str,
    challenges: Sequence[Sequence[int]],
    capacity: int | None = None,
    forest: int = 0,
) -> dict[str, Any]: ...
def prove_trace_v3(
    main: npt.NDArray[np.uint64],
    public_elements: Sequence[int],
    security_name: str = "100",
) -> tuple[bool, str]: ...
