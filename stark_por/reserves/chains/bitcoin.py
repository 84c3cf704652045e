"""Bitcoin balances at a past height, through an Esplora HTTP API.

Bitcoin has no account balances: an address holds the outputs paid to its
script that are not yet spent.  bitcoind's ``scantxoutset`` sees only the
*current* UTXO set, so it cannot say what an address held at an earlier
height; Esplora (the API of blockstream's electrs and of mempool.space's
backend) lists an address's confirmed transactions with their heights, from
which the balance at height ``H`` follows:

    balance(H) = Σ outputs paying the address's script in transactions confirmed ≤ H
               − Σ those outputs spent by transactions confirmed ≤ H

What is checked here, and what is taken on the server's word:

* the snapshot block: ``GET /block-height/H`` gives its hash; its 80-byte header
  (``GET /block/HASH/header``) must hash (double SHA-256) to that hash, and the
  block's own record (``GET /block/HASH``) must say height ``H``; its time is
  the header's;
* the script: computed here from the address (bitcoin-utils), never taken from
  the server;
* each transaction: fetched raw (``GET /tx/TXID/hex``), parsed by bitcoin-utils
  and hashed here -- it must hash to the txid listed, and the amounts and
  scripts summed are the raw transaction's, not the server's JSON;
* taken on the server's word: *which* transactions touch the address and at
  which heights they confirmed.  A server can leave out a spend; only a full
  node (or Merkle proofs plus a scan of every block) can rule that out.

Requests: one per 25 transactions of the address's history and one per
transaction confirmed by ``H``; an address with more than
:data:`MAX_TRANSACTIONS` transactions is refused (use a node you run).
"""

from __future__ import annotations

import json
import re
from typing import Dict, Optional, Set, Tuple

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ...errors import ChainError
from ..ownership import Address
from . import NATIVE_DECIMALS, Reading, public_url, request_failure

__all__ = ["EsploraNode", "script_pubkey", "MAX_TRANSACTIONS"]

#: The most transactions of one address read (about 400 pages of history).
MAX_TRANSACTIONS = 10_000

_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def script_pubkey(address: Address) -> str:
    """The output script (hex) that pays ``address``, by bitcoin-utils."""
    from bitcoinutils.keys import P2pkhAddress, P2shAddress, P2trAddress, P2wpkhAddress, P2wshAddress

    _mainnet()
    kinds = {"p2pkh": P2pkhAddress, "p2sh": P2shAddress, "p2wpkh": P2wpkhAddress, "p2wsh": P2wshAddress,
             "p2tr": P2trAddress}
    if address.kind not in kinds:
        raise ValueError(f"cannot read the balance of a {address.kind} address")
    return kinds[address.kind](address.canonical).to_script_pub_key().to_hex()


def _mainnet() -> None:
    from bitcoinutils.setup import get_network, setup

    if get_network() != "mainnet":
        setup("mainnet")


class EsploraNode:
    """An Esplora HTTP API of bitcoin mainnet; ``balance()`` reads one address at one height."""

    def __init__(self, chain: str, url: str, *, timeout: float, retries: int) -> None:
        self.chain = chain
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.session = requests.Session()
        retry = Retry(total=retries, connect=retries, read=retries, status=retries, backoff_factor=0.1,
                      status_forcelist=(429, 500, 502, 503, 504), allowed_methods=frozenset({"GET"}),
                      raise_on_status=False)
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self._blocks: Dict[int, Tuple[str, int]] = {}

    @property
    def name(self) -> str:
        return f"{self.chain} node {public_url(self.url)}"

    def _fail(self, reason: str, wallet: Optional[str]) -> ChainError:
        return ChainError(reason, node=self.name, wallet=wallet)

    def _get(self, path: str, wallet: Optional[str]) -> str:
        try:
            r = self.session.get(self.url + path, timeout=self.timeout)
        except requests.RequestException as e:
            raise self._fail(request_failure(e, f"GET {path}", self.timeout, self.retries), wallet) from None
        if r.status_code != 200:
            raise self._fail(f"answered GET {path} with HTTP {r.status_code}: {r.text[:200]!r}", wallet)
        return r.text

    def _json(self, path: str, wallet: Optional[str]):
        text = self._get(path, wallet)
        try:
            return json.loads(text)
        except ValueError:
            raise self._fail(f"gave a malformed answer to GET {path}: not JSON ({text[:80]!r})", wallet) from None

    def _fetch_block(self, height: int, wallet: Optional[str]) -> Tuple[str, int]:
        from bitcoinutils.block import BlockHeader

        hash_ = self._get(f"/block-height/{height}", wallet).strip()
        if not _HEX64.match(hash_):
            raise self._fail(f"gave a malformed answer to GET /block-height/{height}: {hash_[:80]!r} is not "
                             "a block hash", wallet)
        header_hex = self._get(f"/block/{hash_}/header", wallet).strip()
        try:
            raw = bytes.fromhex(header_hex)
            if len(raw) != 80:
                raise ValueError(f"{len(raw)} bytes, not 80")
            header = BlockHeader.from_raw(raw)
            hashed, time = header.get_block_hash(), header.get_timestamp()
        except Exception as e:  # noqa: BLE001 -- any way the bytes fail to be a header
            raise self._fail(f"gave a malformed block header for block {hash_}: {e}", wallet) from None
        if hashed != hash_:
            raise self._fail(f"gave a header of block {hashed} when asked for block {hash_}", wallet)
        info = self._json(f"/block/{hash_}", wallet)
        answered = info.get("height") if isinstance(info, dict) else None
        if answered != height or info.get("id") != hash_:
            raise self._fail(f"answered block {answered} ({info.get('id') if isinstance(info, dict) else info!r}) "
                             f"when asked for block {height}", wallet)
        return hash_, time

    def block(self, height: int, wallet: Optional[str] = None) -> Tuple[str, int]:
        """``(hash, timestamp)`` of the block at ``height``; its header is hashed here."""
        if height not in self._blocks:
            self._blocks[height] = self._fetch_block(height, wallet)
        return self._blocks[height]

    def _history(self, address: str, wallet: Optional[str]):
        """Every confirmed transaction of ``address``: ``(txid, height)``, newest first."""
        seen: Set[str] = set()
        last = None
        while True:
            path = f"/address/{address}/txs/chain" + (f"/{last}" if last else "")
            page = self._json(path, wallet)
            if not isinstance(page, list):
                raise self._fail(f"gave a malformed answer to GET {path}: not a list of transactions", wallet)
            if not page:
                return
            for tx in page:
                try:
                    txid, status = tx["txid"], tx["status"]
                    height = status["block_height"] if status["confirmed"] else None
                except (TypeError, KeyError):
                    raise self._fail(f"gave a malformed answer to GET {path}: a transaction without txid "
                                     "and status", wallet) from None
                if not isinstance(txid, str) or not _HEX64.match(txid) or txid in seen or (
                        height is not None and (not isinstance(height, int) or height < 0)):
                    raise self._fail(f"gave a malformed answer to GET {path}: transaction {str(txid)[:80]!r}",
                                     wallet)
                seen.add(txid)
                if len(seen) > MAX_TRANSACTIONS:
                    raise self._fail(f"address {address} has more than {MAX_TRANSACTIONS:,} transactions: "
                                     "too many to read through this interface", wallet)
                if height is not None:
                    yield txid, height
            last = page[-1]["txid"]

    def _transaction(self, txid: str, wallet: Optional[str]):
        from bitcoinutils.transactions import Transaction

        raw = self._get(f"/tx/{txid}/hex", wallet).strip()
        try:
            tx = Transaction.from_raw(raw)
            hashed = tx.get_txid()
        except Exception as e:  # noqa: BLE001 -- any way the bytes fail to be a transaction
            raise self._fail(f"gave a malformed raw transaction {txid}: {type(e).__name__}: {e}", wallet) from None
        if hashed != txid:
            raise self._fail(f"gave a raw transaction that hashes to {hashed}, not {txid}", wallet)
        return tx

    def balance(self, address: Address, height: int, *, token: Optional[str] = None,
                wallet: Optional[str] = None) -> Reading:
        """The satoshis ``address`` held at the end of block ``height`` (see the module docstring)."""
        if token is not None:
            raise self._fail("bitcoin has no tokens", wallet)
        try:
            script = script_pubkey(address)
        except ValueError as e:
            raise self._fail(str(e), wallet) from None
        block_hash, time = self.block(height, wallet)
        funded: Dict[Tuple[str, int], int] = {}
        spent: Set[Tuple[str, int]] = set()
        for txid, confirmed in self._history(address.canonical, wallet):
            if confirmed > height:
                continue
            tx = self._transaction(txid, wallet)
            for n, out in enumerate(tx.outputs):
                if out.script_pubkey.to_hex() == script:
                    funded[(txid, n)] = out.amount
            for txin in tx.inputs:
                spent.add((txin.txid, txin.txout_index))
        units = sum(v for outpoint, v in funded.items() if outpoint not in spent)
        return Reading(self.chain, public_url(self.url), address.canonical, height, block_hash, time, units,
                       NATIVE_DECIMALS[self.chain])

    def confirm(self) -> None:
        """Asks every block read again: a different hash means the chain reorganised while reading."""
        for height, (hash_, _) in sorted(self._blocks.items()):
            again, _ = self._fetch_block(height, None)
            if again != hash_:
                raise self._fail(f"block {height} changed from {hash_} to {again} while balances were read", None)
