"""Type stub of the Rust extension. Use the wrappers in :mod:`stark_por` instead."""

from typing import Any, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

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
) -> dict[str, Any]: ...
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
