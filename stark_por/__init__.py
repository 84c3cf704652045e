"""stark-por: transparent zk-STARK proofs of solvency.

    >>> import stark_por
    >>> ledger = stark_por.Ledger.from_csv("ledger.csv", assets="assets.csv")
    >>> proof = stark_por.prove(ledger, secret=key, round_id="2026-11")
    >>> proof.save("2026-11.stpor")
    >>> statement = stark_por.verify("2026-11.stpor")
    >>> statement.totals_decimal["BTC"]
"""

from ._native import __version__
from .errors import InsufficientSecurity, InvalidProof, LedgerError, ProofFormatError, StarkPorError
from .ledger import Asset, Ledger
from .proof import Proof, Statement, prove, verify

__all__ = [
    "__version__",
    "Asset",
    "Ledger",
    "Proof",
    "Statement",
    "prove",
    "verify",
    "StarkPorError",
    "LedgerError",
    "InvalidProof",
    "ProofFormatError",
    "InsufficientSecurity",
]
