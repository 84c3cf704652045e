"""Proof of reserves: what the exchange holds, checked against what it owes.

The area's modules, each one concern:

* :mod:`~stark_por.reserves.wallets` -- the reserves file (one wallet per row) and its loader;
* :mod:`~stark_por.reserves.ownership` -- chains, address formats, the signatures that prove control;
* :mod:`~stark_por.reserves.chains` -- balances read at the snapshot block (``evm``: JSON-RPC via
  web3.py; ``bitcoin``: an Esplora API), with the ``chain`` extra;
* :mod:`~stark_por.reserves.prices` -- a round's USD prices;
* :mod:`~stark_por.reserves.report` -- a verified liabilities statement + wallets -> a verdict;
* :mod:`~stark_por.reserves.render` -- the report and the track record as Markdown, HTML and charts;
* :mod:`~stark_por.reserves.history` -- a track record from several rounds' JSON reports.

``stark_por.reserves.load`` and the wallet types stay importable from here, as
before the area became a package.
"""

from .ownership import CHAINS, challenge_message
from .wallets import FIELDS, Reserves, Wallet, demo_wallets, load

__all__ = ["Wallet", "Reserves", "load", "challenge_message", "demo_wallets", "FIELDS", "CHAINS"]
