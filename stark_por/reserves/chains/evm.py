"""EVM balances at a block, over standard JSON-RPC through web3.py.

* the block: ``eth_getBlockByNumber(N)`` -- the answer must be block ``N``,
  with a 32-byte hash and a timestamp; after all reads the block is asked again
  and must have the same hash (no reorganisation while reading);
* the native coin: ``eth_getBalance(address, N)``;
* an ERC-20 token: ``eth_getCode(token, N)`` must show a contract, then
  ``decimals()`` and ``balanceOf(address)`` through ``eth_call`` at ``N``;
* the chain: ``eth_chainId`` must be the chain's (1 for ethereum, …).

What the node says is trusted: a JSON-RPC answer carries no proof.  An auditor
uses a node they run or trust (``eth_getProof`` against the block's state root
would remove that trust; see ``docs/RESERVES.md``).
"""

from __future__ import annotations

from typing import Callable, Dict, Optional, Tuple, TypeVar

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import BlockNotFound, Web3RPCError
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from ...errors import ChainError
from . import NATIVE_DECIMALS, Reading, public_url, request_failure

__all__ = ["EvmNode", "ERC20_ABI"]

#: The two ERC-20 functions read (EIP-20): ``decimals()`` and ``balanceOf(address)``.
ERC20_ABI = [
    {"type": "function", "name": "decimals", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint8"}]},
    {"type": "function", "name": "balanceOf", "stateMutability": "view",
     "inputs": [{"name": "owner", "type": "address"}], "outputs": [{"name": "", "type": "uint256"}]},
]

T = TypeVar("T")


class EvmNode:
    """A JSON-RPC node of one EVM chain; ``balance()`` reads one wallet at one block."""

    def __init__(self, chain: str, url: str, *, timeout: float, retries: int, chain_id: int) -> None:
        self.chain = chain
        self.url = url
        self.timeout = timeout
        self.retries = retries
        self.chain_id = chain_id
        # web3 counts every try (the first included) as a retry: ``retries`` more tries is retries + 1.
        retry = ExceptionRetryConfiguration(errors=(requests.ConnectionError, requests.Timeout),
                                            retries=retries + 1, backoff_factor=0.1)
        # web3 asks eth_chainId before each eth_call: the chain id alone is cached (never a block,
        # whose second reading is the reorganisation check).
        self.w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=retry,
                                    cache_allowed_requests=True, cacheable_requests={"eth_chainId"}))
        self._blocks: Dict[int, Tuple[str, int]] = {}
        self._chain_checked = False

    @property
    def name(self) -> str:
        return f"{self.chain} node {public_url(self.url)}"

    def _ask(self, what: str, wallet: Optional[str], call: Callable[[], T]) -> T:
        """Runs one request; every way it can fail becomes a ChainError naming node and wallet."""
        try:
            return call()
        except ChainError:
            raise
        except requests.RequestException as e:
            raise ChainError(request_failure(e, what, self.timeout, self.retries), node=self.name,
                             wallet=wallet) from None
        except Web3RPCError as e:  # the node answered with a JSON-RPC error (e.g. "missing trie node")
            raise ChainError(f"answered {what} with an error: {_short(e)}", node=self.name, wallet=wallet) from None
        except Exception as e:  # whatever web3 raised while decoding the answer: not a usable answer
            raise ChainError(f"gave a malformed answer to {what}: {type(e).__name__}: {_short(e)}",
                             node=self.name, wallet=wallet) from None

    def _check_chain(self, wallet: Optional[str]) -> None:
        if self._chain_checked:
            return
        served = self._ask("eth_chainId", wallet, lambda: self.w3.eth.chain_id)
        if not isinstance(served, int) or served != self.chain_id:
            raise ChainError(f"serves chain id {served}, not {self.chain} ({self.chain_id})",
                             node=self.name, wallet=wallet)
        self._chain_checked = True

    def _fetch_block(self, height: int, wallet: Optional[str]) -> Tuple[str, int]:
        what = f"eth_getBlockByNumber({height})"

        def get():
            try:
                return self.w3.eth.get_block(height)
            except BlockNotFound:
                return None

        block = self._ask(what, wallet, get)
        if block is None:
            raise ChainError(f"has no block {height} (not mined yet, or not on this chain)",
                             node=self.name, wallet=wallet)
        number, hash_, time = block.get("number"), block.get("hash"), block.get("timestamp")
        if number != height:
            raise ChainError(f"answered block {number} when asked for block {height}", node=self.name,
                             wallet=wallet)
        if not isinstance(hash_, bytes) or len(hash_) != 32 or not isinstance(time, int) or time < 0:
            raise ChainError(f"gave a malformed answer to {what}: no 32-byte hash and timestamp",
                             node=self.name, wallet=wallet)
        return "0x" + hash_.hex(), time

    def block(self, height: int, wallet: Optional[str] = None) -> Tuple[str, int]:
        """``(hash, timestamp)`` of block ``height``, asked once per height."""
        if height not in self._blocks:
            self._check_chain(wallet)
            self._blocks[height] = self._fetch_block(height, wallet)
        return self._blocks[height]

    def balance(self, address: str, height: int, *, token: Optional[str] = None,
                wallet: Optional[str] = None) -> Reading:
        """The native balance of ``address`` (or its balance of ERC-20 ``token``) at block ``height``."""
        block_hash, time = self.block(height, wallet)
        if token is None:
            units = self._ask(f"eth_getBalance({address}, {height})", wallet,
                              lambda: self.w3.eth.get_balance(address, block_identifier=height))
            decimals = NATIVE_DECIMALS[self.chain]
        else:
            code = self._ask(f"eth_getCode({token}, {height})", wallet,
                             lambda: self.w3.eth.get_code(token, block_identifier=height))
            if not code:
                raise ChainError(f"has no contract at token address {token} at block {height}",
                                 node=self.name, wallet=wallet)
            contract = self.w3.eth.contract(address=token, abi=ERC20_ABI)
            decimals = self._ask(f"decimals() of {token} at {height}", wallet,
                                 lambda: contract.functions.decimals().call(block_identifier=height))
            units = self._ask(f"balanceOf({address}) of {token} at {height}", wallet,
                              lambda: contract.functions.balanceOf(address).call(block_identifier=height))
        for name, value in (("balance", units), ("decimals", decimals)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ChainError(f"gave a malformed {name} {value!r} at block {height}", node=self.name,
                                 wallet=wallet)
        return Reading(self.chain, public_url(self.url), address, height, block_hash, time, units, decimals, token)

    def confirm(self) -> None:
        """Asks every block read again: a different hash means the chain reorganised while reading."""
        for height, (hash_, _) in sorted(self._blocks.items()):
            again, _ = self._fetch_block(height, None)
            if again != hash_:
                raise ChainError(f"block {height} changed from {hash_} to {again} while balances were read "
                                 "(a reorganisation: read again, or use an older block)", node=self.name)


def _short(e: BaseException, limit: int = 200) -> str:
    text = str(e) or type(e).__name__
    return text if len(text) <= limit else text[:limit] + "…"
