"""stark-por: transparent zk-STARK proofs of solvency.

    >>> import stark_por
    >>> ledger = stark_por.Ledger.from_csv("ledger.csv", assets="assets.csv")
    >>> proof = stark_por.prove(ledger, secret=key, round_id="2026-11")
    >>> proof.save("2026-11.stpor")
    >>> stark_por.prove_file("ledger.csv", "2026-11.stpor", secret=key, round_id="2026-11")  # any size
    >>> statement = stark_por.verify("2026-11.stpor")
    >>> statement.totals_decimal["BTC"]
    >>> stark_por.inclusion.export("2026-11.stpor.db", "alice").save("alice.json")  # exchange
    >>> stark_por.verify_inclusion(Path("alice.json"), statement, user_id="alice")  # {"BTC": Decimal(...)}
    >>> stark_por.report(statement, "reserves.csv", exchange="Example").save("report.html")
"""

from ._native import __version__
from .errors import InsufficientSecurity, InvalidProof, LedgerError, ProofFormatError, StarkPorError
from .errors import InvalidInclusionProof, InvalidSummary, ReservesError, UnverifiedStatementError, WorkFolderError
from .errors import ChainError, HistoryError, MarginError, PricesError
from .inclusion import InclusionProof, InclusionStore, PublishedSummary, verify_inclusion
from .ledger import Asset, Ledger
from .proof import Proof, Statement, prove, verify
from .reserves.report import SolvencyReport, report  # binds stark_por.report to the function, not the module
from .rounds import ResumeMismatch, prove_file

__all__ = [
    "__version__",
    "Asset",
    "Ledger",
    "Proof",
    "Statement",
    "prove",
    "prove_file",
    "verify",
    "StarkPorError",
    "LedgerError",
    "InvalidProof",
    "ProofFormatError",
    "InsufficientSecurity",
    "report",
    "SolvencyReport",
    "ReservesError",
    "UnverifiedStatementError",
    "ChainError",
    "PricesError",
    "MarginError",
    "HistoryError",
    "InclusionProof",
    "InclusionStore",
    "PublishedSummary",
    "verify_inclusion",
    "InvalidInclusionProof",
    "InvalidSummary",
    "WorkFolderError",
    "ResumeMismatch",
]
