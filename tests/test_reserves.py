"""Proof of reserves: ownership signatures, reserves files, the report, its outputs, CLI and browser.

Every key here is a real secp256k1 key and every signature a real one (no mocks).
Interoperability is pinned by vectors from Bitcoin Core's test suite and from
eth-account / viem.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
from decimal import ROUND_FLOOR, Context, Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import base58
import numpy as np
import pytest

import stark_por
from stark_por import Asset, Ledger, Proof, ReservesError, UnverifiedStatementError, prove, verify
from stark_por.cli import main
from stark_por.reserves.ownership import (
    EVM_CHAINS,
    Address,
    address_of_key,
    challenge_message,
    check_signature,
    parse_address,
    sign_message,
    signer_of,
)
from stark_por.reserves.report import SolvencyReport
from stark_por.reserves import Reserves, Wallet, demo_wallets, load

ROUND = "2026-11"
EXCHANGE = "Example Exchange"
ASSETS = (Asset("BTC", 8), Asset("ETH", 18), Asset("USDT", 6), Asset("DOGE", 8))
# Liabilities: BTC 10, ETH 4, USDT 3,000,000, DOGE 500 (three users).
BALANCES = [
    [400_000_000, 2_500_000_000_000_000_000, 1_000_000_000_000, 20_000_000_000],
    [350_000_000, 1_500_000_000_000_000_000, 1_500_000_000_000, 30_000_000_000],
    [250_000_000, 0, 500_000_000_000, 0],
]


def key(label: str) -> bytes:
    """A real private key, derived from a label so failures reproduce."""
    return hashlib.sha256(f"stark-por test key {label}".encode()).digest()


def signed(asset, chain, balance, label, *, kind=None, compressed=True, round_id=ROUND, exchange=EXCHANGE,
           address=None, signer=None, with_message=False, block=100, **extra) -> Wallet:
    """A wallet at ``label``'s address; its signature by ``signer``'s key (default: its own) over the
    challenge of (``exchange``, ``round_id``, ``address``) (default: its own address)."""
    own = address_of_key(chain, key(label), kind, compressed=compressed)
    message = challenge_message(exchange, round_id, address or own)
    sig = sign_message(chain, key(signer or label), message, kind, compressed=compressed)
    return Wallet(asset=asset, chain=chain, address=own, balance=balance, block=block, signature=sig,
                  message=message if with_message else None, **extra)


@pytest.fixture(scope="module")
def proof_path(tmp_path_factory) -> Path:
    ledger = Ledger.from_arrays(["alice", "bob", "carol"], ASSETS, np.array(BALANCES, dtype=np.uint64))
    path = tmp_path_factory.mktemp("round") / f"{ROUND}.stpor"
    prove(ledger, secret=b"s" * 32, round_id=ROUND).save(path)
    return path


@pytest.fixture(scope="module")
def statement(proof_path):
    return verify(proof_path)


@pytest.fixture(scope="module")
def covering() -> list:
    """Signed wallets covering every asset: BTC 12 (120%), ETH 4.000000000000000001, USDT 3,000,001, DOGE 600."""
    return [
        signed("BTC", "bitcoin", "7", "btc-1", kind="p2wpkh"),
        signed("BTC", "bitcoin", "3", "btc-2", kind="p2pkh"),
        signed("BTC", "bitcoin", "2", "btc-3", kind="p2sh"),
        signed("ETH", "ethereum", "4.000000000000000001", "eth-1"),
        signed("USDT", "ethereum", "1000000.5", "usdt-1"),
        signed("USDT", "bsc", "2000000.5", "usdt-2"),
        signed("DOGE", "polygon", "600", "doge-1"),
    ]


def rep_for(statement, wallets, **kw) -> SolvencyReport:
    return stark_por.report(statement, Reserves(tuple(wallets)), exchange=kw.pop("exchange", EXCHANGE), **kw)


def only(rep, asset):
    (a,) = [a for a in rep.assets if a.asset == asset]
    return a


def status_of(rep, wallet):
    (r,) = [r for r in rep.wallets if r.wallet is wallet]
    return r


# ------------------------------------------------------------------------ challenge and vectors


def test_challenge_message_is_exactly_this_text():
    assert challenge_message("Example Exchange", "2026-11", "bc1qexample") == (
        "stark-por proof of reserves\n"
        "exchange: Example Exchange\n"
        "round: 2026-11\n"
        "address: bc1qexample"
    )


@pytest.mark.parametrize("exchange", ["", " padded", "two\nlines", "tab\there", "x" * 201])
def test_challenge_refuses_names_that_would_make_it_ambiguous(exchange):
    with pytest.raises(ReservesError, match="exchange name"):
        challenge_message(exchange, ROUND, "addr")


def _wif_secret(wif: str) -> bytes:
    raw = base58.b58decode_check(wif)
    assert raw[0] == 0xEF and len(raw) == 34 and raw[-1] == 1  # testnet, compressed
    return raw[1:33]


def test_bitcoin_core_signmessagewithprivkey_vector():
    """Bitcoin Core's functional test rpc_signmessagewithprivkey.py: same key, message and
    signature (RFC 6979 nonces make it byte-for-byte reproducible)."""
    secret = _wif_secret("cUeKHd5orzT3mz8P9pxyREHfsWtVfgsfDjiZZBcjUBAaGk1BTj7N")
    expected = "INbVnW4e6PeRmsv2Qgu8NuopvrVjkcxob+sX8OcZG0SALhWybUjzMLPdAsXI46YZGb0KQTRii+wWIQzRpG/U+S0="
    message = "This is just a test message"
    assert sign_message("bitcoin", secret, message, "p2pkh") == expected
    # Core verifies it against testnet P2PKH mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB: same key hash.
    key_hash = base58.b58decode_check("mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB")[1:]
    mainnet = Address("bitcoin", "p2pkh", base58.b58encode_check(b"\0" + key_hash).decode(), key_hash)
    assert signer_of(mainnet, expected, message) == mainnet.canonical
    assert signer_of(mainnet, expected, message + ".") != mainnet.canonical


def test_eip191_personal_sign_vector():
    """eth-account's sign_message(encode_defunct(text="hello world")) and viem's signMessage docs
    give this signature for the well-known development key #0."""
    secret = bytes.fromhex("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80")
    expected = ("0xa461f509887bd19e312c0c58467ce8ff8e300d3c1a90b608a760c5b80318eaf1"
                "5fe57c96f9175d6cd4daad4663763baa7e78836e067d0163e9a2ccf2ff753f5b1b")
    assert sign_message("ethereum", secret, "hello world") == expected
    address = parse_address("ethereum", "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266")
    assert address.canonical == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"  # EIP-55
    assert signer_of(address, expected, "hello world") == address.canonical
    # v as 0/1 instead of 27/28 is the same signature
    assert signer_of(address, expected[:-2] + "00", "hello world") == address.canonical


@pytest.mark.parametrize("chain,kind,compressed", [
    ("bitcoin", "p2pkh", True), ("bitcoin", "p2pkh", False), ("bitcoin", "p2sh", True),
    ("bitcoin", "p2wpkh", True), *[(c, None, True) for c in EVM_CHAINS],
])
def test_each_address_kind_proves_ownership(chain, kind, compressed):
    w = signed("BTC", chain, "1", f"kind-{chain}-{kind}-{compressed}", kind=kind, compressed=compressed)
    check = check_signature(parse_address(chain, w.address), w.signature, exchange=EXCHANGE, round_id=ROUND)
    assert check.ok, check.detail
    prefix = {"p2pkh": "1", "p2sh": "3", "p2wpkh": "bc1q"}.get(kind, "0x")
    assert w.address.startswith(prefix)


def test_segwit_address_accepts_the_electrum_style_header():
    """Some wallets sign for bc1q addresses with the compressed-P2PKH header (31–34)."""
    address = address_of_key("bitcoin", key("electrum"), "p2wpkh")
    sig = sign_message("bitcoin", key("electrum"), challenge_message(EXCHANGE, ROUND, address), "p2pkh")
    assert 31 <= base64.b64decode(sig)[0] <= 34
    assert check_signature(parse_address("bitcoin", address), sig, exchange=EXCHANGE, round_id=ROUND).ok


@pytest.mark.parametrize("chain,address,reason", [
    ("bitcoin", "mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB", "testnet"),
    ("bitcoin", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "testnet"),
    ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "base58check"),  # last character changed
    ("bitcoin", "bc1qW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bech32"),  # mixed case
    ("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "bech32"),  # checksum
    ("ethereum", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267", "EIP-55"),  # mixed case, wrong checksum
    ("ethereum", "0x1234", "not an EVM address"),
])
def test_invalid_addresses_say_why(chain, address, reason):
    with pytest.raises(ValueError, match=reason):
        parse_address(chain, address)


def test_p2wsh_and_taproot_cannot_prove_with_a_message_signature():
    p2wsh = parse_address("bitcoin", "bc1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3qccfmv3")
    taproot = parse_address("bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0")
    assert (p2wsh.kind, taproot.kind) == ("p2wsh", "p2tr")
    for a in (p2wsh, taproot):
        assert check_signature(a, "x", exchange=EXCHANGE, round_id=ROUND).status == "unsupported_address"


# -------------------------------------------------------------------------------- reserves files


def test_csv_and_json_round_trip(tmp_path, covering):
    reserves = Reserves(tuple(covering), exchange=EXCHANGE, round_id=ROUND)
    for name in ("r.csv", "r.json"):
        back = load(reserves.save(tmp_path / name))
        assert back.wallets == reserves.wallets
    assert load(tmp_path / "r.json").exchange == EXCHANGE
    assert load(tmp_path / "r.csv").exchange is None  # CSV has no place for it: --exchange


def test_csv_reads_quoted_multiline_messages_and_any_column_order(tmp_path):
    w = signed("BTC", "bitcoin", "1.5", "csv-msg", with_message=True)
    text = ("Signature,MESSAGE,balance,address,chain,asset,time\n"
            f'{w.signature},"{w.message}",1.50,{w.address},Bitcoin,BTC,2026-11-30T00:00:00Z\n\n')
    (tmp_path / "r.csv").write_text(text)
    (back,) = load(tmp_path / "r.csv").wallets
    assert back.message == w.message and back.chain == "bitcoin" and back.balance == Decimal("1.50")
    assert back.units(8) == 150_000_000


def test_json_numbers_are_read_from_their_literal_text(tmp_path):
    doc = '{"wallets": [{"asset": "ETH", "chain": "ethereum", "address": "0x00", ' \
          '"balance": 0.100000000000000000000000001, "block": 7}]}'
    (tmp_path / "r.json").write_text(doc)
    (w,) = load(tmp_path / "r.json").wallets
    assert w.balance == Decimal("0.100000000000000000000000001") and w.block == 7


@pytest.mark.parametrize("text,where", [
    ("asset,chain,address,balance,block\nBTC,bitcoin,1x,-1,5\n", "line 2, column balance: '-1' is negative"),
    ("asset,chain,address,balance,block\nBTC,bitcoin,1x,1e3,5\n", "line 2, column balance: '1e3' uses exponent"),
    ("asset,chain,address,balance,block\nBTC,bitcoin,1x,\"1,000\",5\n", "column balance: '1,000' contains digit"),
    ("asset,chain,address,balance,block\nBTC,bitcoin,1x,,5\n", "line 2, column balance: is missing"),
    ("asset,chain,address,balance,block\n\nBTC,bitcoin,1x,1,\n", "line 3, column block: has no snapshot"),
    ("asset,chain,address,balance,block\nBTC,bitcoin,1x,1,-5\n", "column block: '-5' is not a block height"),
    ("asset,chain,address,balance,time\nBTC,bitcoin,1x,1,yesterday\n", "column time: 'yesterday' is not an ISO"),
    ("asset,chain,address,balance,block,signatrue\n", "line 1: 'signatrue' is not a reserves column"),
    ("asset,chain,balance,block\n", "line 1: header lacks column(s) address"),
    ("asset,chain,address,balance\n", "needs a block or a time column"),
    ("asset,chain,address,balance,block\nBTC,bitcoin,1x,1\n", "line 2: has 4 fields, the header has 5"),
    ("asset,chain,address,balance,block\n", "lists no wallets"),
    ("", "is empty"),
])
def test_bad_csv_is_refused_naming_line_and_field(tmp_path, text, where):
    path = tmp_path / "reserves.csv"
    path.write_text(text)
    with pytest.raises(ReservesError) as e:
        load(path)
    assert where in str(e.value) and str(path) in str(e.value)


@pytest.mark.parametrize("doc,where", [
    ('{"wallets": [{"asset": "BTC", "chain": "bitcoin", "address": "1x", "balance": -1, "block": 1}]}',
     "wallet 0, column balance: '-1' is negative"),
    ('{"wallets": [{"asset": "BTC", "chain": "bitcoin", "address": "1x", "balance": "1", "blok": 1}]}',
     "wallet 0: 'blok' has unknown keys"),
    ('{"wallets": [{"asset": "BTC", "chain": "bitcoin", "address": 5, "balance": "1", "block": 1}]}',
     "column address: '5' must be text"),
    ('{"exchange": "X", "wallet": []}', "unknown top-level keys"),
    ('[1, 2', "is not valid JSON"),
])
def test_bad_json_is_refused_naming_wallet_and_field(tmp_path, doc, where):
    path = tmp_path / "reserves.json"
    path.write_text(doc)
    with pytest.raises(ReservesError, match=re.escape(where)):
        load(path)


# ----------------------------------------------------------------------------------- the report


def test_fully_covered_ratios_are_exact(statement, covering):
    rep = rep_for(statement, covering)
    assert rep.passed and rep.verdict.startswith("PASS") and rep.flags == ()
    btc, eth, usdt, doge = (only(rep, a) for a in ("BTC", "ETH", "USDT", "DOGE"))
    assert btc.liabilities == Decimal("10") and btc.verified == Decimal("12") and btc.ratio == Decimal("1.2")
    assert eth.liabilities == Decimal(4) and eth.verified == Decimal("4.000000000000000001")
    assert eth.ratio == Decimal("1.00000000000000000025") and eth.percent == "100.00%"
    assert usdt.ratio_fraction == Fraction(3_000_001, 3_000_000)
    with localcontext(Context(prec=40, rounding=ROUND_FLOOR)):
        assert usdt.ratio == Decimal(3_000_001_000_000) / Decimal(3_000_000_000_000)
    assert Fraction(usdt.ratio) <= usdt.ratio_fraction < Fraction(usdt.ratio) + Fraction(1, 10**39)
    assert doge.ratio == Decimal("1.2") and doge.wallets_verified == doge.wallets_listed == 1
    assert [a.unverified for a in rep.assets] == [0, 0, 0, 0]


def test_liabilities_come_from_the_verified_statement(statement, covering):
    rep = rep_for(statement, covering)
    for a in rep.assets:
        assert a.liabilities_units == statement.totals[a.asset] == sum(
            row[[x.name for x in ASSETS].index(a.asset)] for row in BALANCES)


def test_unverified_reserves_are_listed_apart_and_not_counted(statement, covering):
    unsigned = Wallet("ETH", "ethereum", address_of_key("ethereum", key("cold")), "100", block=1)
    short = [w for w in covering if w.asset != "ETH"] + [
        signed("ETH", "arbitrum", "3.999999999999999999", "eth-short"), unsigned]
    rep = rep_for(statement, short)
    eth = only(rep, "ETH")
    assert eth.verified_units == 4 * 10**18 - 1 and eth.unverified == Decimal(100)
    assert not eth.passed and eth.percent == "99.99%"  # rounded down, never up to 100%
    assert not rep.passed and "ETH (99.99%)" in rep.verdict
    assert status_of(rep, unsigned).status == "unsigned" and not status_of(rep, unsigned).counted
    kinds = {f.kind: f for f in rep.flags}
    assert "short by 0.000000000000000001" in kinds["not_covered"].message
    assert unsigned.address in kinds["unsigned"].message


def test_asset_with_liabilities_but_no_reserves_is_flagged(statement, covering):
    rep = rep_for(statement, [w for w in covering if w.asset != "DOGE"])
    doge = only(rep, "DOGE")
    assert doge.verified_units == 0 and doge.percent == "0.00%" and not doge.passed and not rep.passed
    (flag,) = [f for f in rep.flags if f.kind == "no_reserves"]
    assert flag.subject == "DOGE" and "no wallet listed" in flag.message


def _judged(statement, covering, extra, **kw):
    rep = rep_for(statement, list(covering) + [extra], **kw)
    result = status_of(rep, extra)
    assert not result.counted
    assert rep.passed  # the bad wallet is extra: coverage is unchanged
    assert any(f.kind == result.status and extra.address in f.message for f in rep.flags)
    return result


def test_reserves_for_an_unknown_asset_are_flagged(statement, covering):
    r = _judged(statement, covering, signed("SOL", "ethereum", "5", "sol"))
    assert r.status == "unknown_asset" and "SOL is not an asset" in r.detail


def test_unknown_chain_is_flagged(statement, covering):
    w = Wallet("BTC", "litecoin", "LTC1qsomething", "5", block=1, signature="abc")
    assert _judged(statement, covering, w).status == "unknown_chain"


def test_invalid_address_is_flagged(statement, covering):
    w = Wallet("ETH", "ethereum", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92267", "5", block=1)
    r = _judged(statement, covering, w)
    assert r.status == "invalid_address" and "EIP-55" in r.detail


def test_balance_with_more_decimals_than_the_asset_is_flagged(statement, covering):
    w = signed("BTC", "bitcoin", "0.000000001", "tiny")
    r = _judged(statement, covering, w)
    assert r.status == "too_many_decimals" and "8 decimals of BTC" in r.detail
    assert only(rep_for(statement, covering + [w]), "BTC").unverified == Decimal("0.000000001")


def test_trailing_zero_decimals_are_exact(statement):
    w = signed("BTC", "bitcoin", "1.0000000000000", "zeros")
    rep = rep_for(statement, [w])
    assert status_of(rep, w).counted and only(rep, "BTC").verified_units == 10**8


@pytest.mark.parametrize("variant", ["upper-evm", "upper-bech32", "same"])
def test_duplicate_wallets_are_counted_once(statement, covering, variant):
    first = covering[0] if variant == "upper-bech32" else covering[3]
    address = {"upper-evm": "0x" + first.address[2:].lower(), "upper-bech32": first.address.upper(),
               "same": first.address}[variant]
    dup = Wallet(first.asset, first.chain, address, first.balance, block=first.block, signature=first.signature)
    r = _judged(statement, covering, dup)
    assert r.status == "duplicate"
    assert only(rep_for(statement, covering + [dup]), first.asset).wallets_listed == \
        only(rep_for(statement, covering), first.asset).wallets_listed


def test_same_address_for_another_asset_or_chain_is_not_a_duplicate(statement, covering):
    same_key = signed("USDT", "polygon", "1", "usdt-1")  # same key and address, another chain
    rep = rep_for(statement, covering + [same_key])
    assert status_of(rep, same_key).counted


@pytest.mark.parametrize("garble", ["not base64!", "AAAA", "flip"])
def test_bad_signature_is_flagged(statement, covering, garble):
    w = signed("BTC", "bitcoin", "1", "garbled")
    sig = w.signature
    if garble == "flip":
        raw = bytearray(base64.b64decode(sig))
        raw[10] ^= 1
        sig = base64.b64encode(bytes(raw)).decode()
    else:
        sig = garble
    bad = Wallet(w.asset, w.chain, w.address, w.balance, block=1, signature=sig)
    assert _judged(statement, covering, bad).status == "bad_signature"


def test_signature_for_another_round_is_flagged(statement, covering):
    stale = signed("BTC", "bitcoin", "1", "stale", round_id="2026-10", with_message=True)
    r = _judged(statement, covering, stale)
    assert r.status == "other_round"
    assert r.detail == "signed by this address, but made for round '2026-10', not '2026-11'"
    # without the signed message in the file, it cannot be told apart from any bad signature
    bare = signed("BTC", "bitcoin", "1", "stale-bare", round_id="2026-10")
    assert _judged(statement, covering, bare).status == "bad_signature"


def test_signature_for_another_message_is_flagged(statement, covering):
    other = signed("ETH", "ethereum", "1", "other-ex", exchange="Another Exchange", with_message=True)
    r = _judged(statement, covering, other)
    assert r.status == "other_message" and "'Another Exchange'" in r.detail
    text = signed("ETH", "ethereum", "1", "free-text")
    free = Wallet("ETH", "ethereum", text.address, "1", block=1,
                  signature=sign_message("ethereum", key("free-text"), "I own this"), message="I own this")
    assert "not the challenge" in _judged(statement, covering, free).detail


def test_signature_from_another_address_is_flagged(statement, covering):
    # the right challenge, signed by another key
    by_other = signed("ETH", "ethereum", "1", "victim", signer="thief", with_message=True)
    r = _judged(statement, covering, by_other)
    assert r.status == "other_address" and r.signer == address_of_key("ethereum", key("thief"))
    # another wallet's own signature pasted onto this row
    donor = covering[3]
    pasted = Wallet("ETH", "ethereum", address_of_key("ethereum", key("pasted")), "1", block=1,
                    signature=donor.signature, message=challenge_message(EXCHANGE, ROUND, donor.address))
    r = _judged(statement, covering, pasted)
    assert r.status == "other_address" and donor.address in r.detail
    # no message given, but the signature is by the key of another listed wallet
    bare = signed("BTC", "bitcoin", "1", "bare-victim", signer="btc-1", kind="p2wpkh")
    r = _judged(statement, covering, bare)
    assert r.status == "other_address" and covering[0].address in r.detail


def test_unsigned_and_unsupported_wallets_are_flagged(statement, covering):
    unsigned = Wallet("BTC", "bitcoin", address_of_key("bitcoin", key("u")), "1", block=1)
    assert _judged(statement, covering, unsigned).status == "unsigned"
    taproot = Wallet("BTC", "bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", "1",
                     block=1, signature="AAAA")
    assert _judged(statement, covering, taproot).status == "unsupported_address"


def test_mixed_snapshots_and_another_rounds_file_are_flagged(statement, covering):
    late = signed("BTC", "bitcoin", "1", "late", block=101)
    rep = stark_por.report(statement, Reserves(tuple(covering) + (late,), exchange=EXCHANGE, round_id="2026-10"))
    kinds = {f.kind: f.message for f in rep.flags}
    assert "2 different blocks (100–101)" in kinds["mixed_snapshots"]
    assert "reserves file is for round '2026-10'" in kinds["other_round"]


def test_an_unverified_statement_is_refused(proof_path, covering):
    unverified = Proof.load(proof_path).statement
    assert unverified.security_bits is None
    # a hand-made copy claiming a security figure, or a verified one with a total changed
    verified = verify(proof_path)
    by_hand = dataclasses.replace(unverified, security_bits=128)
    lowered = dataclasses.replace(verified, totals={k: 0 for k in verified.totals})
    for bad in (unverified, by_hand, lowered, verified.summary(), None):
        with pytest.raises(UnverifiedStatementError, match="verify"):
            stark_por.report(bad, covering, exchange=EXCHANGE)


def test_signatures_need_the_exchange_name(statement, covering):
    with pytest.raises(ReservesError, match="exchange name is needed"):
        stark_por.report(statement, covering)


# -------------------------------------------------------------------------------------- outputs


@pytest.fixture(scope="module")
def mixed_report(statement, covering):
    """A failing report with flags of several kinds and hostile text in it."""
    hostile = Wallet("USDT", "<script>alert(1)</script>", "<img src=x onerror=alert(2)>", "5", block=1,
                     label="a | pipe & <b>tag</b>")
    ex = "Example <Exchange>"
    wallets = [
        signed("BTC", "bitcoin", "12", "m-btc", kind="p2pkh", exchange=ex),
        signed("BTC", "bitcoin", "1", "m-stale", round_id="2026-10", with_message=True, exchange=ex),
        signed("ETH", "ethereum", "4.000000000000000001", "m-eth", exchange=ex),
        signed("USDT", "bsc", "3000000", "m-usdt", exchange=ex),
        signed("DOGE", "bsc", "100", "m-doge", exchange=ex), hostile,
    ]
    return rep_for(statement, wallets, exchange=ex)


def test_json_output_is_exact_strings(mixed_report):
    doc = json.loads(mixed_report.to_json())
    assert doc["passed"] is False and doc["round_id"] == ROUND
    eth = next(a for a in doc["assets"] if a["asset"] == "ETH")
    assert eth["verified_reserves"] == "4.000000000000000001" and eth["ratio"] == "1.00000000000000000025"
    doge = next(a for a in doc["assets"] if a["asset"] == "DOGE")
    assert doge["passed"] is False and doge["percent"] == "20.00%"
    assert {f["kind"] for f in doc["flags"]} >= {"not_covered", "other_round", "unknown_chain"}
    assert doc["challenge"] == challenge_message("Example <Exchange>", ROUND, "ADDRESS")
    # the report names the statement it judged by the fingerprint the exchange publishes
    assert doc["liabilities_proof"]["fingerprint"] == mixed_report.statement.fingerprint
    assert f"statement fingerprint `{mixed_report.statement.fingerprint}`" in mixed_report.to_markdown()


def test_markdown_output(mixed_report):
    md = mixed_report.to_markdown()
    assert md.startswith("# Example <Exchange> — Proof of reserves, round 2026-11")
    assert ("**FAIL: 1 of 4 assets are not covered by verified reserves: DOGE (20.00%); "
            "balances as declared by the exchange (not checked on-chain)**") in md
    assert "| ETH | 4 | 4.000000000000000001 | 100.00% | 0 | 1 / 1 | PASS |" in md
    assert all(line.count(" | ") >= 6 for line in md.splitlines() if line.startswith("| ✗"))


def test_html_escapes_everything_from_files(mixed_report):
    page = mixed_report.to_html()
    assert "<script" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "Example &lt;Exchange&gt;" in page
    assert "<b>tag</b>" not in page
    assert not re.search(r"(src|href)=\"(?!data:image/png;base64,)", page)  # nothing loaded from elsewhere


# ------------------------------------------------------------------------------------------ CLI


def test_cli_report_exit_codes_and_files(tmp_path, proof_path, covering):
    good = Reserves(tuple(covering), exchange=EXCHANGE).save(tmp_path / "good.json")
    out = tmp_path / "report.html"
    args = ["-q", "report", str(proof_path), "--reserves", str(good), "-o", str(out),
            "--json", str(tmp_path / "r.json"), "--markdown", str(tmp_path / "r.md")]
    assert main(args) == 0
    assert out.read_text().startswith("<!DOCTYPE html>") and json.loads((tmp_path / "r.json").read_text())["passed"]
    assert (tmp_path / "r.md").read_text().startswith("# Example Exchange")

    short = Reserves(tuple(w for w in covering if w.asset != "DOGE")).save(tmp_path / "short.csv")
    assert main(["-q", "report", str(proof_path), "--reserves", str(short), "-o", str(out),
                 "--exchange", EXCHANGE]) == 1
    assert main(["-q", "report", str(proof_path), "--reserves", str(short), "-o", str(out)]) == 2  # no exchange
    broken = tmp_path / "broken.stpor"
    broken.write_bytes(proof_path.read_bytes()[:-1])
    assert main(["-q", "report", str(broken), "--reserves", str(good), "-o", str(out)]) == 1
    (tmp_path / "bad.csv").write_text("asset,chain,address,balance,block\nBTC,bitcoin,1x,-1,1\n")
    assert main(["-q", "report", str(proof_path), "--reserves", str(tmp_path / "bad.csv"), "-o", str(out)]) == 2


def test_demo_wallets_cover_every_asset_105_to_130_percent(statement):
    wallets = demo_wallets(statement, "Demo Exchange", seed=1)
    rep = stark_por.report(statement, wallets, exchange="Demo Exchange")
    assert rep.passed and not rep.flags and all(w.counted for w in rep.wallets)
    for a in rep.assets:
        assert Fraction(105, 100) <= a.ratio_fraction < Fraction(131, 100)
    assert {w.chain for w in wallets} >= {"bitcoin", "ethereum"}


def test_cli_demo_writes_a_passing_report(tmp_path, capsys):
    assert main(["-q", "demo", "--users", "30", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "proof of reserves (demo wallets, real signatures): PASS" in out
    assert "totals match the ledger exactly, to the smallest unit: yes" in out
    assert (tmp_path / "report.html").exists() and (tmp_path / "reserves.json").exists()
    # W3 has prices: the statement and the report value the liabilities in USD
    assert "≈ $" in out and "(at the prices of synthetic)" in out
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["prices"] and all(a["usd"] is not None for a in doc["assets"])
    assert main(["-q", "report", str(tmp_path / "demo-round.stpor"), "--reserves", str(tmp_path / "reserves.json"),
                 "-o", str(tmp_path / "again.html")]) == 0


def test_cli_demo_keeps_the_earlier_workload_for_comparison(tmp_path, capsys):
    assert main(["-q", "demo", "--workload", "W1", "--users", "20", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "totals match the ledger exactly, to the smallest unit: yes" in out and "≈ $" not in out


# -------------------------------------------------------------------------------------- browser

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH, HEIGHT = 1200, 1600


def _chromium(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--hide-scrollbars", "--mute-audio", *args],
        capture_output=True, text=True, timeout=120,
    )


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        msg = ("!!! chromium is not installed: the browser test of the HTML report is SKIPPED "
               "(scripts/test.sh installs Debian's chromium package) !!!")
        print(msg, file=sys.stderr)
        pytest.skip(msg)
    return CHROMIUM


def test_html_report_renders_in_headless_chromium(browser, mixed_report, tmp_path):
    from PIL import Image

    page = mixed_report.to_html()
    (tmp_path / "report.html").write_text(page)
    # The DOM check adds a tiny script to a copy: the report itself runs none.
    probe = ("<script>addEventListener('load', () => { const i = document.getElementById('ratio-chart');"
             " document.body.setAttribute('data-chart', i.complete + ':' + i.naturalWidth + 'x' + i.naturalHeight);"
             " });</script>")
    (tmp_path / "probe.html").write_text(page.replace("</body>", probe + "</body>"))

    shot = tmp_path / "shot.png"
    r = _chromium(f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={shot}", (tmp_path / "report.html").as_uri())
    assert shot.exists(), r.stderr[-2000:]
    img = Image.open(shot).convert("RGB")
    assert img.size == (WIDTH, HEIGHT)
    pixels = np.asarray(img).reshape(-1, 3)
    assert len(np.unique(pixels, axis=0)) > 200  # not blank: text, chart, colours
    fail_red = np.all(np.abs(pixels.astype(int) - (0xB4, 0x23, 0x18)) <= 6, axis=1)
    assert fail_red[: WIDTH * 400].mean() > 0.02  # the red FAIL banner is near the top

    r = _chromium("--virtual-time-budget=10000", "--dump-dom", (tmp_path / "probe.html").as_uri())
    dom = r.stdout
    assert 'id="verdict" class="verdict fail"' in dom and "✗ FAIL" in dom
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', dom).group(1))
    chart = Image.open(io.BytesIO(png))
    chart.verify()
    assert re.search(r'data-chart="true:(\d+)x(\d+)"', dom).groups() == tuple(map(str, chart.size))
    assert chart.size[0] >= 800
    assert dom.count('class="mark ok"') == sum(w.counted for w in mixed_report.wallets)
    assert dom.count('class="mark bad"') == sum(not w.counted for w in mixed_report.wallets)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
