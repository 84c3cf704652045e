"""Balances read from blockchains at each wallet's snapshot block.

An auditor names one node per chain (``--chain ethereum=URL``); :func:`connect`
makes a client for each, and the report asks it for every wallet's balance at
the wallet's ``block``.  What each interface can and cannot prove about a past
block is written down in ``docs/RESERVES.md``:

* EVM chains (:mod:`.evm`): standard JSON-RPC through web3.py --
  ``eth_getBalance`` for the chain's native asset, ERC-20 ``balanceOf`` through
  ``eth_call`` for a token, both at the snapshot block (the node must keep
  that block's state: an archive node for old blocks).
* Bitcoin (:mod:`.bitcoin`): an Esplora HTTP API -- the address's confirmed
  transactions, each fetched raw and hashed here, summed up to the snapshot
  height.

Every failure is a :class:`~stark_por.errors.ChainError` naming the node and
the wallet; nothing is written until every balance has been read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Dict, Mapping, Optional, Tuple

from ...errors import ReservesError
from ..ownership import BITCOIN_CHAINS, CHAINS, EVM_CHAINS

__all__ = ["Reading", "NATIVE_ASSETS", "EVM_CHAIN_IDS", "connect", "parse_chain_option", "native_asset",
           "DEFAULT_TIMEOUT", "DEFAULT_RETRIES"]

#: Seconds to wait for one answer, and how many times a request that got none is tried again.
DEFAULT_TIMEOUT = 20.0
DEFAULT_RETRIES = 2

#: The asset each chain pays its fees in (read with ``eth_getBalance`` / from the UTXOs);
#: any other asset on an EVM chain is an ERC-20 token whose contract the reserves file names.
NATIVE_ASSETS: Dict[str, Tuple[str, ...]] = {
    "bitcoin": ("BTC",),
    "ethereum": ("ETH",), "arbitrum": ("ETH",), "optimism": ("ETH",), "base": ("ETH",),
    "bsc": ("BNB",), "polygon": ("POL", "MATIC"), "avalanche": ("AVAX",),
}
#: The chain id (EIP-155) a node for each EVM chain must serve.
EVM_CHAIN_IDS: Dict[str, int] = {
    "ethereum": 1, "bsc": 56, "polygon": 137, "arbitrum": 42161, "optimism": 10, "base": 8453,
    "avalanche": 43114,
}
#: Decimals of each chain's native unit (wei, satoshi).
NATIVE_DECIMALS = {"bitcoin": 8, **{c: 18 for c in EVM_CHAINS}}


def native_asset(chain: str, asset: str) -> bool:
    """Whether ``asset`` is ``chain``'s own coin (not a token)."""
    return asset.upper() in NATIVE_ASSETS.get(chain, ())


@dataclass(frozen=True)
class Reading:
    """One balance as a node gave it: ``units`` of ``decimals`` decimals at ``block``
    (hash and time as the node gave them; for Bitcoin the header was hashed here)."""

    chain: str
    node: str  # the node's public URL (:func:`public_url`: no credentials or key)
    address: str
    block: int
    block_hash: str
    block_time: int  # seconds since 1970 (UTC), the block's own timestamp
    units: int
    decimals: int
    token: Optional[str] = None

    @property
    def balance(self) -> Decimal:
        """The on-chain balance in display units, exactly (no trailing zeros)."""
        from ...ledger import format_amount

        return Decimal(format_amount(self.units, self.decimals) or "0")

    def to_dict(self) -> dict:
        return {"chain": self.chain, "node": self.node, "block": self.block, "block_hash": self.block_hash,
                "block_time": self.block_time, "balance": format(self.balance, "f"),
                "units": str(self.units), "decimals": self.decimals, "token": self.token}


def public_url(url: str) -> str:
    """``url`` as it may be shown and published: scheme, host and port only.

    Node URLs often carry a secret (``https://user:pass@host``, an API key in the path or
    query); the report is published, so it names a node without them (``/…`` marks a path)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    rest = "/…" if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def request_failure(e: BaseException, what: str, timeout: float, retries: int) -> str:
    """Why a request that raised ``e`` got no answer, in words: timed out, unreachable, or other."""
    import requests
    from urllib3.exceptions import ReadTimeoutError

    tries = f"{retries + 1} tr{'y' if retries == 0 else 'ies'}"
    reason = getattr(e.args[0], "reason", None) if e.args else None  # urllib3 wraps retried failures
    if isinstance(e, requests.ReadTimeout) or isinstance(reason, ReadTimeoutError):
        return f"no answer to {what} within {timeout:g} s ({tries})"
    if isinstance(e, requests.ConnectionError):
        return f"unreachable ({tries}): {type(reason or e).__name__}"
    response = getattr(e, "response", None)
    if response is not None:  # requests' own message would quote the URL, and so any key in it
        return f"answered {what} with HTTP {response.status_code}"
    return f"{what} failed: {type(e).__name__}"


def parse_chain_option(text: str) -> Tuple[str, str]:
    """``"ethereum=http://127.0.0.1:8545"`` -> ``("ethereum", "http://127.0.0.1:8545")``."""
    chain, sep, url = text.partition("=")
    chain = chain.strip().lower()
    url = url.strip()
    if not sep or not chain or not url:
        raise ReservesError("is not CHAIN=URL (e.g. ethereum=http://127.0.0.1:8545)", column="--chain",
                            value=text)
    if chain not in CHAINS:
        raise ReservesError(f"names no supported chain (supported: {', '.join(CHAINS)})", column="--chain",
                            value=chain)
    if not url.startswith(("http://", "https://")):
        raise ReservesError("needs an http:// or https:// URL", column="--chain", value=url)
    return chain, url


def connect(nodes: Mapping[str, str], *, timeout: float = DEFAULT_TIMEOUT, retries: int = DEFAULT_RETRIES,
            chain_ids: Optional[Mapping[str, int]] = None) -> dict:
    """One client per chain: ``{"ethereum": EvmNode, "bitcoin": EsploraNode, …}``.

    ``chain_ids`` overrides the chain id an EVM node must serve (for a private
    or test network); by default it is the chain's public one (:data:`EVM_CHAIN_IDS`).
    Nothing is contacted until a balance is asked for.
    """
    try:
        from .bitcoin import EsploraNode
        from .evm import EvmNode
    except ImportError as e:
        raise ReservesError(f"reading balances on-chain needs the chain extra ({e.name} is missing): "
                            "pip install 'stark-por[chain]'") from None

    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, not {timeout!r}")
    if not (isinstance(retries, int) and retries >= 0):
        raise ValueError(f"retries must be a whole number ≥ 0, not {retries!r}")
    chain_ids = dict(chain_ids or {})
    for chain in chain_ids:
        if chain not in EVM_CHAINS:
            raise ReservesError("a chain id is only given for an EVM chain", column="--chain-id", value=chain)
    clients = {}
    for chain, url in nodes.items():
        chain, url = parse_chain_option(f"{chain}={url}")
        if chain in BITCOIN_CHAINS:
            clients[chain] = EsploraNode(chain, url, timeout=timeout, retries=retries)
        else:
            clients[chain] = EvmNode(chain, url, timeout=timeout, retries=retries,
                                     chain_id=chain_ids.get(chain, EVM_CHAIN_IDS[chain]))
    return clients
