"""Local chain nodes for the on-chain reserves tests (127.0.0.1 only, started and stopped by the tests).

* :class:`EvmChain` -- a real EVM in-process (py-evm behind eth-tester), with a real ERC-20
  contract compiled here by vyper, served over HTTP JSON-RPC by :class:`RpcServer` so that
  stark-por talks to it as it would to any node.  eth-tester keeps every block's state, so
  ``eth_getBalance``/``eth_call`` at a past block work as on an archive node.
* :class:`EsploraChain` -- no bitcoin node is packaged here: a small chain of real Bitcoin
  transactions (bitcoin-utils: real scripts, serialised and hashed for real) and real 80-byte
  block headers (no proof of work), served by :class:`EsploraServer` with the routes of the
  Esplora HTTP API that stark-por uses.

Both servers take a ``fault`` ("slow", "wrong_block", "malformed", …) to misbehave on purpose.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Optional, Tuple

TESTER_CHAIN_ID = 131277322940537  # eth-tester's fixed chain id

# An ERC-20 token (EIP-20's balanceOf/transfer/decimals), compiled by vyper in the test.
ERC20_VY = """
# pragma version ^0.4.0
balanceOf: public(HashMap[address, uint256])
totalSupply: public(uint256)
decimals: public(uint8)

event Transfer:
    sender: indexed(address)
    receiver: indexed(address)
    value: uint256

@deploy
def __init__(supply: uint256, decimals_: uint8):
    self.balanceOf[msg.sender] = supply
    self.totalSupply = supply
    self.decimals = decimals_

@external
def transfer(to: address, amount: uint256) -> bool:
    self.balanceOf[msg.sender] -= amount
    self.balanceOf[to] += amount
    log Transfer(sender=msg.sender, receiver=to, value=amount)
    return True
"""


class _Server:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, handler) -> None:
        self.fault: Optional[str] = None
        self.requests: List[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                outer.requests.append("GET " + self.path)
                status, body = handler(outer, "GET", self.path, None)
                self._send(status, body)

            def do_POST(self):
                data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.requests.append("POST " + self.path)
                status, body = handler(outer, "POST", self.path, data)
                self._send(status, body)

            def _send(self, status, body):
                if body is None:  # drop the connection without an answer
                    self.close_connection = True
                    return
                raw = body.encode() if isinstance(body, str) else body
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                try:
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# ----------------------------------------------------------------------------------------- EVM


class EvmChain:
    """eth-tester + web3 with a deployed ERC-20; accounts[0] holds the ether and the token supply."""

    def __init__(self, token_decimals: int = 6) -> None:
        import vyper
        from web3 import EthereumTesterProvider, Web3

        self.provider = EthereumTesterProvider()
        self.w3 = Web3(self.provider)
        # What the JSON-RPC server calls: the provider with only its own eth-tester middleware, which
        # turns JSON-RPC's hex parameters into eth-tester's values and its results back into hex.
        self.rpc = self.provider.request_func(Web3(self.provider, middleware=[]),
                                              Web3(self.provider, middleware=[]).middleware_onion)
        self.funder = self.w3.eth.accounts[0]
        out = vyper.compile_code(ERC20_VY, output_formats=["bytecode", "abi"])
        self._factory = self.w3.eth.contract(abi=out["abi"], bytecode=out["bytecode"])
        self.token = self.deploy_token(token_decimals)

    def deploy_token(self, decimals: int):
        """Another instance of the ERC-20 contract, with ``decimals`` decimals; accounts[0] holds its supply."""
        tx = self._factory.constructor(10 ** 40, decimals).transact({"from": self.funder})
        return self.w3.eth.contract(address=self.w3.eth.wait_for_transaction_receipt(tx).contractAddress,
                                    abi=self._factory.abi)

    def add_key(self, secret: bytes) -> str:
        """Lets the tests send from a wallet whose key they hold."""
        return self.provider.ethereum_tester.add_account("0x" + secret.hex())

    def send_eth(self, to: str, wei: int, sender: Optional[str] = None) -> None:
        self.w3.eth.send_transaction({"from": sender or self.funder, "to": to, "value": wei})

    def send_token(self, to: str, units: int, sender: Optional[str] = None, token=None) -> None:
        (token or self.token).functions.transfer(to, units).transact({"from": sender or self.funder})

    @property
    def height(self) -> int:
        return self.w3.eth.block_number


def _jsonable(value):
    """eth-tester's values as JSON-RPC writes them: quantities and data as 0x-hex."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return hex(value)
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _evm_handler(server: "RpcServer", method: str, path: str, data: Optional[bytes]):
    req = json.loads(data)
    name, params = req["method"], req.get("params", [])
    server.methods.append(name)
    fault = server.fault
    if fault == "slow":
        time.sleep(server.delay)
    if fault == "drop":
        return 200, None
    resp = dict(server.chain.rpc(name, params))
    resp.pop("jsonrpc", None)
    result = _jsonable(resp.get("result"))
    if fault == "reorg" and name == "eth_getBlockByNumber" and isinstance(result, dict):
        server.blocks_served += 1  # the second time a block is asked for, it has another hash
        if server.blocks_served > 1:
            result["hash"] = "0x" + hashlib.sha256(result["hash"].encode()).hexdigest()
    if fault == "wrong_block" and name == "eth_getBlockByNumber" and isinstance(result, dict):
        result["number"] = hex(int(result["number"], 16) + 1)
    if fault == "malformed" and name == "eth_getBalance":
        result = "not a number"
    if fault == "rpc_error" and name == "eth_getBalance":  # what a pruned node says about an old block
        return 200, json.dumps({"jsonrpc": "2.0", "id": req.get("id"),
                                "error": {"code": -32000, "message": "missing trie node"}})
    if fault == "garbage":
        return 200, "<html>502 bad gateway</html>"
    body = {"jsonrpc": "2.0", "id": req.get("id")}
    if "error" in resp:
        body["error"] = _jsonable(resp["error"])
    else:
        body["result"] = result
    return 200, json.dumps(body)


class RpcServer(_Server):
    """HTTP JSON-RPC in front of an :class:`EvmChain` (every method eth-tester serves)."""

    def __init__(self, chain: EvmChain, delay: float = 1.0) -> None:
        self.chain = chain
        self.delay = delay
        self.blocks_served = 0
        self.methods: List[str] = []  # JSON-RPC methods asked, in order
        super().__init__(_evm_handler)


# ------------------------------------------------------------------------------------- Bitcoin


def _sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def _merkle_root(txids: List[str]) -> str:
    level = [bytes.fromhex(t)[::-1] for t in txids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [_sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0][::-1].hex()


class EsploraChain:
    """Blocks of real Bitcoin transactions (bitcoin-utils) with real headers; Esplora's data model."""

    def __init__(self) -> None:
        from bitcoinutils.setup import setup

        setup("mainnet")
        self.blocks: List[Tuple[str, str, List[str]]] = []  # (hash, header hex, txids)
        self.txs: Dict[str, Tuple[str, int, object]] = {}  # txid -> (raw hex, height, Transaction)
        self.time0 = 1_764_460_800  # 2025-11-30T00:00:00Z
        self._mine([])  # genesis-like block 0

    def _mine(self, txs) -> int:
        from bitcoinutils.block import BlockHeader

        height = len(self.blocks)
        # A coinbase-free block: only its header and transaction list matter to the API.
        txids = [tx.get_txid() for tx in txs]
        prev = self.blocks[-1][0] if self.blocks else "00" * 32
        header = BlockHeader(version=0x20000000, previous_block_hash=bytes.fromhex(prev),
                             merkle_root=bytes.fromhex(_merkle_root(txids) if txids else "00" * 32),
                             timestamp=self.time0 + 600 * height, target_bits=0x1D00FFFF, nonce=height)
        self.blocks.append((header.get_block_hash(), header.serialize_header().hex(), txids))
        for tx in txs:
            self.txs[tx.get_txid()] = (tx.serialize(), height, tx)
        return height

    def mine(self, payments: List[Tuple[List[Tuple[str, int]], List[Tuple[str, int]]]]) -> int:
        """One block of transactions; each is (inputs [(txid, vout)], outputs [(address, satoshis)])."""
        from bitcoinutils.keys import P2pkhAddress, P2shAddress, P2wpkhAddress
        from bitcoinutils.transactions import Transaction, TxInput, TxOutput

        def script(addr: str):
            cls = P2wpkhAddress if addr.startswith("bc1") else P2shAddress if addr.startswith("3") else P2pkhAddress
            return cls(addr).to_script_pub_key()

        txs = []
        for n, (ins, outs) in enumerate(payments):
            # Inputs from outside the tests' wallets get a made-up outpoint (unsigned: nothing checks scripts).
            tin = [TxInput(t, v) for t, v in ins] or [TxInput(hashlib.sha256(f"{len(self.blocks)}/{n}".encode())
                                                              .hexdigest(), 0)]
            txs.append(Transaction(tin, [TxOutput(sats, script(a)) for a, sats in outs]))
        return self._mine(txs)

    def history(self, address: str) -> List[dict]:
        """Esplora's /address/:a/txs/chain entries, newest first."""
        from bitcoinutils.keys import P2pkhAddress, P2shAddress, P2wpkhAddress

        cls = P2wpkhAddress if address.startswith("bc1") else P2shAddress if address.startswith("3") else P2pkhAddress
        script = cls(address).to_script_pub_key().to_hex()
        out = []
        for txid, (raw, height, tx) in self.txs.items():
            pays = any(o.script_pubkey.to_hex() == script for o in tx.outputs)
            spends = any(i.txid in self.txs and self.txs[i.txid][2].outputs[i.txout_index].script_pubkey.to_hex()
                         == script for i in tx.inputs)
            if pays or spends:
                h, _, _ = self.blocks[height]
                out.append({"txid": txid, "status": {"confirmed": True, "block_height": height, "block_hash": h,
                                                     "block_time": self.time0 + 600 * height}})
        return sorted(out, key=lambda e: -e["status"]["block_height"])


PAGE = 25  # Esplora's page of confirmed transactions


def _esplora_handler(server: "EsploraServer", method: str, path: str, data):
    chain, fault = server.chain, server.fault
    if fault == "slow":
        time.sleep(server.delay)
    parts = path.strip("/").split("/")
    if parts[:1] == ["block-height"]:
        h = int(parts[1])
        if h >= len(chain.blocks):
            return 404, "Block not found"
        if fault == "malformed":
            return 200, "zz" * 32
        return 200, chain.blocks[h][0]
    if parts[:1] == ["block"]:
        block = next((b for b in chain.blocks if b[0] == parts[1]), None)
        if block is None:
            return 404, "Block not found"
        height = chain.blocks.index(block)
        if len(parts) == 3 and parts[2] == "header":
            return 200, block[1]
        answered = height + 1 if fault == "wrong_block" else height
        return 200, json.dumps({"id": block[0], "height": answered, "timestamp": chain.time0 + 600 * height,
                                "tx_count": len(block[2])})
    if parts[:1] == ["address"] and parts[2:4] == ["txs", "chain"]:
        entries = chain.history(parts[1])
        if len(parts) == 5:
            after = [e["txid"] for e in entries].index(parts[4]) + 1
            entries = entries[after:]
        return 200, json.dumps(entries[:PAGE])
    if parts[:1] == ["tx"] and parts[2:] == ["hex"]:
        if parts[1] not in chain.txs:
            return 404, "Transaction not found"
        raw = chain.txs[parts[1]][0]
        if fault == "tampered_tx":  # one satoshi more in the first output: no longer hashes to the txid
            tx = chain.txs[parts[1]][2]
            from bitcoinutils.transactions import Transaction, TxOutput

            outs = [TxOutput(tx.outputs[0].amount + 1, tx.outputs[0].script_pubkey)] + list(tx.outputs[1:])
            raw = Transaction(tx.inputs, outs).serialize()
        return 200, raw
    return 404, "not found"


class EsploraServer(_Server):
    """The Esplora routes stark-por reads, over an :class:`EsploraChain`."""

    def __init__(self, chain: EsploraChain, delay: float = 1.0) -> None:
        self.chain = chain
        self.delay = delay
        super().__init__(_esplora_handler)


def closed_port_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was bound, then freed)."""
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}"
